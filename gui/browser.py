"""The run browser: run files in the data folder and any opened or dropped, with status and description."""

import functools
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import runfile
from engine.errors import RunFileError
from engine.runlock import RunLock, process_alive

COLUMNS = ("run", "status", "points", "description")
PATH_ROLE = Qt.ItemDataRole.UserRole


def can_resume(path: str | Path) -> bool:
    """Whether `path` can be resumed: stopped, failed, or 'running' with no live writer holding its lock."""
    status = read_header(Path(path))["status"]
    if status in ("stopped", "failed"):
        return True
    holder = RunLock(Path(path)).holder()
    return status == "running" and (holder is None or not process_alive(holder))


def read_header(path: Path) -> dict:
    """Status, points and description of a run file from its root attributes, read again only once it changed."""
    try:
        stat = path.stat()
    except OSError:
        return header(path, 0, 0)
    return header(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def header(path: Path, mtime_ns: int, size: int) -> dict:
    """The header of `path` as it was at this modification time and size (a folder of runs is listed often)."""
    try:
        head = runfile.peek(path)
    except RunFileError as exc:
        status = "not a DDX run" if "not a DDX run file" in str(exc) else "unreadable"
        return {"status": status, "points": "", "description": ""}
    return {
        "status": head["status"],
        "points": f"{head['points_done']}/{head['total_points']}",
        "description": head["description"],
    }


class RunBrowser(QWidget):
    """Lists run files; selecting one or two emits `selected` with their paths (two overlay).

    The context menu of a stopped, failed or abandoned run emits `resume_requested` with its path;
    its "Export selected runs…" emits `export_requested` with the selected paths.

    Parameters
    ----------
    folder : Path
        Scanned for *.h5 at each `refresh`.
    """

    selected = Signal(list)
    resume_requested = Signal(str)
    export_requested = Signal(list)

    def __init__(self, folder: Path, parent=None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.extra: list[Path] = []
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemSelectionChanged.connect(self.on_selection)
        self.tree.setToolTip("select one run to show it, two (Ctrl+click) to overlay their sweeps")
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self.on_context_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.refresh()

    def paths(self) -> list[Path]:
        found = sorted(self.folder.glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True)
        return found + [p for p in self.extra if p not in found]

    def refresh(self) -> None:
        """Re-read the folder and the headers, keeping the selection."""
        chosen = set(self.selected_paths())
        self.tree.blockSignals(True)
        self.tree.clear()
        for path in self.paths():
            info = read_header(path)
            item = QTreeWidgetItem([path.stem, info["status"], info["points"], info["description"]])
            item.setData(0, PATH_ROLE, str(path))
            item.setToolTip(0, str(path))
            item.setToolTip(3, info["description"])
            self.tree.addTopLevelItem(item)
            item.setSelected(str(path) in chosen)
        self.tree.blockSignals(False)

    def add(self, path: Path) -> None:
        """List `path` (an opened or dropped file) and select it alone."""
        path = Path(path).resolve()
        if path not in self.extra and path.parent != self.folder.resolve():
            self.extra.append(path)
        self.refresh()
        self.select([path])

    def select(self, paths: list[Path]) -> None:
        """Select exactly `paths`, emitting `selected` once (each emission starts reading run files)."""
        wanted = {str(Path(p).resolve()) for p in paths}
        self.tree.blockSignals(True)
        self.tree.clearSelection()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if str(Path(item.data(0, PATH_ROLE)).resolve()) in wanted:
                item.setSelected(True)
        self.tree.blockSignals(False)
        self.on_selection()

    def selected_paths(self) -> list[str]:
        return [item.data(0, PATH_ROLE) for item in self.tree.selectedItems()]

    def on_selection(self) -> None:
        self.selected.emit(self.selected_paths())

    def context_menu(self, path: str) -> QMenu:
        """The actions on the run file `path`."""
        menu = QMenu(self)
        resume = menu.addAction("Resume run", lambda: self.resume_requested.emit(path))
        resume.setEnabled(can_resume(path))
        resume.setToolTip("continue a stopped, failed or interrupted run, skipping its finished points")
        chosen = self.selected_paths() if path in self.selected_paths() else [path]
        export = menu.addAction("Export selected runs…", lambda: self.export_requested.emit(chosen))
        export.setToolTip("every point's summary row of these runs in one CSV or Parquet table")
        return menu

    def on_context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is not None:
            self.context_menu(item.data(0, PATH_ROLE)).exec(self.tree.viewport().mapToGlobal(pos))
