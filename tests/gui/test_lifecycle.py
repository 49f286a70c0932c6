"""Resume, one run at a time, and closing cleanly during a run, after an export or with a dialog open."""

import os
import time

import h5py
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

from engine.runfile import load_run
from gui import file_menu, writers
from gui.browser import can_resume
from tests.gui.conftest import open_runs, tiny_config
from tests.gui.test_run import RUN_TIMEOUT_MS, start, stop_after_first_epoch


@pytest.fixture
def stopped_run(window, qtbot):
    """A run of the tiny sweep stopped in its first point, selected in the browser."""
    start(window, qtbot, tiny_config("train.epochs=200"))
    path, status = stop_after_first_epoch(window, qtbot)
    assert status == "stopped"
    window.browser.select([path])
    return path


def test_resume_a_stopped_run_from_the_run_menu(window, qtbot, stopped_run):
    assert window.resume_run_action.isEnabled()
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as done:
        window.resume_run_action.trigger()
    assert done.args == [stopped_run, "complete"]
    data = load_run(stopped_run)
    assert data.status == "complete" and [p.index for p in data.points] == [0, 1]
    assert len(window.controller.state.results.points) == 2
    assert not can_resume(stopped_run)


def test_resume_from_the_browser_context_menu(window, qtbot, stopped_run):
    menu = window.browser.context_menu(stopped_run)
    (resume,) = [a for a in menu.actions() if a.text() == "Resume run"]
    assert resume.isEnabled()
    with qtbot.waitSignal(window.controller.started, timeout=5000):
        resume.trigger()
    assert not window.run_action.isEnabled() and not window.resume_run_action.isEnabled()
    with pytest.raises(RuntimeError):
        window.controller.resume(stopped_run)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as done:
        pass
    assert done.args[1] == "complete"


def test_complete_and_locked_runs_cannot_be_resumed(run_file, tmp_path):
    assert not can_resume(run_file)
    abandoned = tmp_path / "abandoned.h5"
    abandoned.write_bytes(run_file.read_bytes())
    with h5py.File(abandoned, "r+") as f:
        f.attrs["status"] = "running"
    assert can_resume(abandoned), "a 'running' file without a live writer was interrupted"
    (tmp_path / "abandoned.h5.lock").write_text(str(os.getpid()))
    assert not can_resume(abandoned), "a live writer holds the lock"


def test_a_second_run_cannot_start_while_one_runs(window, qtbot):
    start(window, qtbot, tiny_config("train.epochs=200"))
    first = window.controller.path
    window.start_run()
    assert window.controller.path == first
    with pytest.raises(RuntimeError):
        window.controller.start(tiny_config(), first + ".other.h5")


def closed_within(window, seconds: float) -> bool:
    began = time.perf_counter()
    window.close()
    return time.perf_counter() - began < seconds and not window.isVisible()


def test_close_during_a_run_leaves_it_stopped(window, qtbot):
    start(window, qtbot, tiny_config("train.epochs=200"))
    qtbot.waitUntil(lambda: window.controller.progress.epoch >= 1, timeout=RUN_TIMEOUT_MS)
    path = window.controller.path
    assert closed_within(window, 2.5)
    assert not window.controller.running
    assert load_run(path).status == "stopped"


def test_close_right_after_an_export(window, qtbot, run_file, tmp_path):
    open_runs(window, qtbot, run_file)
    window.current_view().refresh()
    writers.export_plot(window.current_view(), tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert closed_within(window, 2.0)


def test_close_with_a_file_dialog_open(window, qtbot):
    opened = []

    def close_once_open():
        dialog = next(w for w in window.findChildren(QFileDialog) if w.isVisible())
        opened.append(dialog)
        window.close()

    QTimer.singleShot(300, close_once_open)
    began = time.perf_counter()
    assert file_menu.ask_path(window, "Export plot", "plot.png", file_menu.PLOT_FILTER) is None
    assert opened and time.perf_counter() - began < 2.0
    assert not window.isVisible()


def test_save_dialog_confirms_overwrite_of_the_name_it_writes(window):
    dialog = file_menu.save_dialog(window, "Save run as", "run.h5", "DDX run files (*.h5)")
    assert not dialog.testOption(QFileDialog.Option.DontConfirmOverwrite)
    assert dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
    assert dialog.defaultSuffix() == "h5", "a typed name without suffix must be confirmed as the .h5 it becomes"
    dialog.filterSelected.emit("SVG drawing (*.svg)")
    assert dialog.defaultSuffix() == "svg"
