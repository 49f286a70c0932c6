"""The main window: parameter panel, plot tabs, run browser, run controls, menus and status bar."""

from pathlib import Path

import pyqtgraph as pg
import PySide6
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import engine
from engine import runfile
from engine.errors import DDXError, RunFileError
from engine.progress import Progress
from gui import dialogs, file_menu
from gui.browser import RunBrowser, can_resume
from gui.controller import RunController
from gui.loading import RunLoader
from gui.params import ParameterPanel
from gui.presetbar import PresetBar
from gui.settings import data_dir, new_run_path, settings
from gui.state import RunState
from gui.views import VIEWS
from gui.workers import WorkersDialog, save_cluster, saved_cluster

REFRESH_MS = 50
DEFAULT_PRESET = "quickstart"
# The File menu: (text, function of the window that asks for a file and writes it, shortcut, tool tip).
FILE_ACTIONS = (
    ("Open run…", file_menu.ask_open, QKeySequence.StandardKey.Open, ""),
    ("Export plot…", file_menu.ask_export_plot, "Ctrl+E", "PNG, SVG or CSV of this tab"),
    ("Publication figure…", file_menu.ask_figure, "", ""),
    ("Save run as…", file_menu.ask_save_run, "", ""),
    (
        "Export selected runs…",
        file_menu.ask_export_runs,
        "",
        "the selected runs' summary rows as one CSV or Parquet table",
    ),
    ("Export config as TOML…", file_menu.ask_export_config, "", ""),
)


def device_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"


class MainWindow(QMainWindow):
    """DDX's desktop window; one run at a time, shown live while it trains."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("DDX — Distillation & Double-descent eXplorer")
        self.setAcceptDrops(True)
        self.controller = RunController(self)
        self.loader = RunLoader(self)
        self.shown_paths: list[str] = []
        self.panel = ParameterPanel()
        self.presets = PresetBar(self.panel.config)
        self.views = [view() for view in VIEWS]
        self.tabs = QTabWidget()
        for view in self.views:
            self.tabs.addTab(view, view.title)
        self.tabs.currentChanged.connect(lambda _: self.current_view().refresh())
        self.setCentralWidget(self.tabs)
        self.browser = RunBrowser(data_dir())
        self.build_docks()
        self.build_actions()
        self.build_status()
        self.connect_signals()
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh_views)
        self.timer.start()
        self.restore()

    def build_docks(self) -> None:
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.presets)
        column.addWidget(self.panel, 1)
        for title, widget, area in (
            ("Parameters", left, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("Runs", self.browser, Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{title.lower()}-dock")
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
            self.addDockWidget(area, dock)

    def action(self, text: str, slot, shortcut: str | QKeySequence = "", tip: str = "") -> QAction:
        act = QAction(text, self)
        act.triggered.connect(slot)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(tip or text)
        return act

    def build_actions(self) -> None:
        self.run_action = self.action("Run", self.start_run, "Ctrl+R", "run the experiment (Ctrl+R)")
        self.pause_action = self.action("Pause", self.controller.toggle_pause, "", "pause or resume the run")
        self.stop_action = self.action("Stop", self.stop_run, "Esc", "stop after the current epoch (Esc)")
        self.resume_run_action = self.action(
            "Resume run file", self.resume_selected, "", "continue the selected stopped, failed or interrupted run"
        )
        self.workers_action = self.action(
            "Workers…", self.choose_workers, "", "train in this process or on Dask workers"
        )
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("run-toolbar")
        for act in (self.run_action, self.pause_action, self.stop_action):
            toolbar.addAction(act)
        files = self.menuBar().addMenu("&File")
        for text, ask, shortcut, tip in FILE_ACTIONS:
            # `_` takes the `checked` flag that QAction.triggered sends
            files.addAction(self.action(text, lambda _=False, ask=ask: ask(self), shortcut, tip))
        files.addSeparator()
        files.addAction(self.action("Quit", self.close, QKeySequence.StandardKey.Quit))
        runs = self.menuBar().addMenu("&Run")
        for act in (self.run_action, self.pause_action, self.stop_action, self.resume_run_action):
            runs.addAction(act)
        runs.addSeparator()
        runs.addAction(self.workers_action)
        self.menuBar().addMenu("&Help").addAction(self.action("About DDX", self.about))

    def build_status(self) -> None:
        self.state_label = QLabel("idle")
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(380)
        self.progress.setFormat("no run")
        self.progress.setValue(0)
        bar = self.statusBar()
        bar.addWidget(self.state_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(QLabel(f"device: {device_name()}"))
        self.workers_label = QLabel()
        bar.addPermanentWidget(self.workers_label)
        self.show_workers()

    def connect_signals(self) -> None:
        self.panel.edited.connect(lambda _: self.update_actions())
        self.presets.loaded.connect(self.on_preset)
        self.browser.selected.connect(self.show_runs)
        self.browser.selected.connect(lambda _: self.update_actions())
        self.browser.resume_requested.connect(self.resume_run)
        self.loader.loaded.connect(self.on_runs_loaded)
        self.browser.export_requested.connect(lambda paths: file_menu.ask_export_runs(self, paths))
        c = self.controller
        c.started.connect(self.on_started)
        c.progressed.connect(self.on_progress)
        c.paused_changed.connect(self.on_paused)
        c.failed.connect(self.on_failed)
        c.finished.connect(self.on_finished)

    def restore(self) -> None:
        store = settings()
        if store.value("geometry") is not None:
            self.restoreGeometry(store.value("geometry"))
            self.restoreState(store.value("windowState"))
        else:
            self.resize(1500, 920)
        self.presets.choose(str(store.value("preset", DEFAULT_PRESET))) or self.presets.load_current()
        self.update_actions()
        self.show_latest_run()

    def show_latest_run(self) -> None:
        """Show the newest run of the data folder that has a finished point; without one, the views
        stay empty and the learning curves say to press Run."""
        for path in self.browser.paths():
            try:
                if runfile.peek(path)["points_done"]:
                    self.browser.select([path])
                    return
            except RunFileError:
                continue
        self.show_states([])

    def save_settings(self) -> None:
        store = settings()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("windowState", self.saveState())
        store.setValue("preset", self.presets.name())
        store.sync()

    def current_view(self):
        return self.views[self.tabs.currentIndex()]

    def refresh_views(self) -> None:
        self.update_tabs()
        self.current_view().refresh()

    def update_tabs(self) -> None:
        """Show the tabs of the views whose data the main shown run holds (science views appear with it)."""
        states = self.views[0].states
        main = states[0][1] if states else RunState()
        for index, view in enumerate(self.views):
            visible = view.available(main)
            if self.tabs.isTabVisible(index) != visible:
                self.tabs.setTabVisible(index, visible)

    def update_actions(self) -> None:
        running = self.controller.running
        self.run_action.setEnabled(not running and self.panel.config() is not None)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.pause_action.setText("Resume" if self.controller.paused else "Pause")
        self.presets.setEnabled(not running)
        chosen = self.browser.selected_paths()
        self.resume_run_action.setEnabled(not running and len(chosen) == 1 and can_resume(chosen[0]))

    def on_preset(self, cfg, _name: str) -> None:
        self.panel.set_config(cfg)

    def start_run(self) -> None:
        cfg = self.panel.config()
        if cfg is None or self.controller.running:
            return
        try:
            path = new_run_path(cfg.run.name)
        except OSError as exc:
            dialogs.show_error(self, "Cannot start the run", f"cannot create the run folder: {exc}")
            return
        self.controller.start(cfg, path, saved_cluster())

    def resume_selected(self) -> None:
        chosen = self.browser.selected_paths()
        if len(chosen) == 1:
            self.resume_run(chosen[0])

    def resume_run(self, path: str) -> None:
        """Continue the run file `path` in the worker, shown live like a new run."""
        if self.controller.running:
            return
        try:
            self.controller.resume(path, saved_cluster())
        except DDXError as exc:
            dialogs.show_error(self, "Cannot resume the run", str(exc))

    def choose_workers(self) -> None:
        """Ask where runs train (remembered between launches); shown in the status bar."""
        dialog = WorkersDialog(saved_cluster(), self)
        if dialog.exec():
            save_cluster(dialog.chosen())
            self.show_workers()

    def show_workers(self) -> None:
        self.workers_label.setText(f"workers: {saved_cluster().describe()}")

    def stop_run(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.state_label.setText("stopping after this epoch…")

    def on_started(self, state: RunState) -> None:
        self.browser.tree.clearSelection()
        self.show_states([(state.name, state)])
        self.state_label.setText(f"running → {self.controller.path}")
        self.progress.setRange(0, 1000)
        self.update_actions()

    def on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(1000 * progress.fraction()))
        self.progress.setFormat(progress.text())

    def on_paused(self, paused: bool) -> None:
        self.state_label.setText("paused" if paused else f"running → {self.controller.path}")
        self.update_actions()

    def on_failed(self, exc: Exception) -> None:
        dialogs.show_error(self, "Run failed", dialogs.explain_exception(exc))

    def on_finished(self, path: str, status: str) -> None:
        self.state_label.setText(f"{status}: {path}")
        if status == "complete":
            self.progress.setValue(1000)
        if self.controller.progress is not None:
            self.progress.setFormat(self.controller.progress.text(status))
        self.browser.refresh()
        self.update_actions()
        self.current_view().invalidate()

    def show_states(self, states: list[tuple[str, RunState]]) -> None:
        for view in self.views:
            view.show_states(states)
        self.refresh_views()

    def show_runs(self, paths: list[str]) -> None:
        """Show the selected run files (two or more overlay on the sweep); none selected shows the live run.

        The files are read in a worker thread (a big sweep takes seconds) and shown when they arrive.
        """
        if paths:
            self.statusBar().showMessage(f"reading {len(paths)} run file{'s' if len(paths) > 1 else ''}…")
            self.loader.load(paths)
            return
        self.loader.cancel()
        self.statusBar().clearMessage()
        self.on_runs_loaded([], [])

    def on_runs_loaded(self, shown: list, failed: list) -> None:
        """Show the runs read for the latest selection, then say which files could not be read."""
        self.statusBar().clearMessage()
        self.shown_paths = [path for _, path, _ in shown]
        states = [(label, state) for label, _, state in shown]
        if not states and self.controller.state is not None:
            states = [(self.controller.state.name, self.controller.state)]
        self.show_states(states)
        self.note_in_progress(states)
        for _, message in failed:
            dialogs.show_error(self, "Cannot open run", message)

    def note_in_progress(self, states: list[tuple[str, RunState]]) -> None:
        """Say in the status bar which shown run files hold points still training when they were saved."""
        notes = [
            f"{label}: {len(state.in_progress)} point{'s' if len(state.in_progress) > 1 else ''} in progress "
            f"(learning curves so far), {len(state.results.points)} finished (in the sweep)"
            for label, state in states
            if state.in_progress
        ]
        if notes:
            self.statusBar().showMessage("; ".join(notes))

    def open_run(self, path: str | Path) -> None:
        self.browser.add(Path(path))

    def shown_run_path(self) -> str:
        """The run file behind the plots: the first selected one, else the live (or last) run's."""
        return self.shown_paths[0] if self.shown_paths else self.controller.path

    def about(self) -> None:
        dialogs.show_info(self, "About DDX", about_text())

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if any(u.toLocalFile().endswith(".h5") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        for url in event.mimeData().urls():
            if url.toLocalFile().endswith(".h5"):
                self.open_run(url.toLocalFile())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Close this window's open dialogs; stop a running experiment and wait (≤ 2 s) so its file ends 'stopped'.

        Only the window's own dialogs are touched (every DDX dialog has it as parent): walking all
        top-level widgets could reach another window's widgets in the middle of their destruction.
        """
        for dialog in self.findChildren(QDialog):
            if dialog.isVisible():
                dialog.reject()
        self.loader.cancel()
        if self.controller.running:
            self.controller.stop()
            self.controller.wait(2.0)
        self.timer.stop()
        self.save_settings()
        event.accept()


def about_text() -> str:
    return (
        f"<b>DDX {engine.__version__}</b> — Distillation &amp; Double-descent eXplorer<br><br>"
        f"torch {torch.__version__}<br>Qt {PySide6.QtCore.qVersion()} (PySide6 {PySide6.__version__})<br>"
        f"pyqtgraph {pg.__version__}<br><br>device: {device_name()}"
    )
