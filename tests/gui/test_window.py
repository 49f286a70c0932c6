"""Window comforts and failures: browser, overlay, presets, settings, shortcuts, errors, no display."""

import os
import shutil
import sys
import threading
from pathlib import Path

import h5py
import pytest
import torch
from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

import engine
from engine.presets import load_preset
from engine.runfile import load_run
from gui import app
from gui.views import SweepView
from gui.window import MainWindow
from tests.gui.conftest import open_runs, tiny_config


def test_browser_selects_one_run_and_overlays_two(window, qtbot, run_file, other_run_file):
    open_runs(window, qtbot, run_file, other_run_file)
    assert window.browser.tree.topLevelItemCount() == 2
    with qtbot.waitSignal(window.loader.loaded, timeout=30_000):
        window.browser.select([run_file, other_run_file])
    sweep = next(v for v in window.views if isinstance(v, SweepView))
    sweep.refresh()
    names = set(sweep.curves())
    assert "tiny.teacher.test_error_mean" in names and "tiny-noisier.teacher.test_error_mean" in names
    assert [Path(p).name for p in window.browser.selected_paths()] == ["tiny.h5", "tiny-noisier.h5"]


def test_browser_lists_the_data_folder_with_status(qtbot, errors, isolated, run_file):
    (isolated / "data").mkdir()
    (isolated / "data" / "copy.h5").write_bytes(run_file.read_bytes())
    win = MainWindow()
    qtbot.addWidget(win)
    item = win.browser.tree.topLevelItem(0)
    assert (item.text(0), item.text(1), item.text(2)) == ("copy", "complete", "2/2")
    assert "moons" in item.text(3)
    win.close()


def test_the_browser_reads_a_run_file_header_again_only_once_the_file_changed(qtbot, isolated, run_file, monkeypatch):
    from engine import runfile
    from gui.browser import RunBrowser

    folder = isolated / "data"
    folder.mkdir()
    for name in ("a.h5", "b.h5"):
        shutil.copy(run_file, folder / name)
    peeked = []
    monkeypatch.setattr(runfile, "peek", lambda path, real=runfile.peek: peeked.append(Path(path).name) or real(path))
    browser = RunBrowser(folder)
    qtbot.addWidget(browser)
    browser.refresh()
    assert sorted(peeked) == ["a.h5", "b.h5"]
    with h5py.File(folder / "a.h5", "r+") as f:
        f.attrs["status"] = "stopped"
    browser.refresh()
    assert sorted(peeked) == ["a.h5", "a.h5", "b.h5"]
    assert {browser.tree.topLevelItem(i).text(1) for i in range(2)} == {"stopped", "complete"}


def test_damaged_run_file_shows_an_error(window, qtbot, errors, isolated):
    bad = isolated / "bad.h5"
    bad.write_bytes(b"not hdf5")
    open_runs(window, qtbot, bad)
    assert errors and errors[0][0] == "Cannot open run"


@pytest.fixture
def held_loads(monkeypatch):
    """Make the run loader wait for `release.set()` before reading each file; record the reading threads."""
    release, threads = threading.Event(), []

    def held(path):
        threads.append(threading.current_thread())
        assert release.wait(30), "the test never released the load"
        return load_run(path)

    monkeypatch.setattr("gui.loading.load_run", held)
    yield release, threads
    release.set()


def test_run_files_are_read_in_a_worker_while_the_window_keeps_handling_events(window, qtbot, held_loads, run_file):
    release, threads = held_loads
    ticks = []
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: ticks.append(window.loader.busy))
    timer.start()
    window.open_run(run_file)
    qtbot.waitUntil(lambda: bool(threads) and ticks.count(True) >= 3, timeout=10_000)
    assert threads[0] is not threading.main_thread()
    assert window.views[0].states == [], "nothing is shown before the file has been read"
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        release.set()
    timer.stop()
    assert [name for name, _ in window.views[0].states] == ["tiny"]
    assert window.shown_run_path() == str(run_file)


def test_only_the_latest_selection_is_shown(window, qtbot, held_loads, run_file, other_run_file):
    release, threads = held_loads
    window.open_run(run_file)
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=10_000)
    with qtbot.waitSignal(window.loader.loaded, timeout=10_000):
        window.open_run(other_run_file)
        release.set()
    assert QThreadPool.globalInstance().waitForDone(10_000)
    QApplication.processEvents()  # delivers the superseded load's result, which must be dropped
    assert [name for name, _ in window.views[0].states] == ["tiny-noisier"]


def test_a_run_started_while_a_file_loads_stays_shown(window, qtbot, held_loads, run_file):
    release, threads = held_loads
    window.panel.set_config(tiny_config("train.epochs=200"))
    window.open_run(run_file)
    qtbot.waitUntil(lambda: len(threads) == 1, timeout=10_000)
    with qtbot.waitSignal(window.controller.started, timeout=10_000):
        window.start_run()
    release.set()
    qtbot.waitUntil(lambda: window.controller.progress.epoch >= 1, timeout=30_000)
    assert window.views[0].states[0][1] is window.controller.state
    with qtbot.waitSignal(window.controller.finished, timeout=10_000):
        window.stop_run()


def test_bad_preset_shows_an_error_not_a_crash(window, errors, isolated):
    folder = isolated / "presets"
    folder.mkdir()
    (folder / "broken.toml").write_text("[data]\nnoise = 2.5\n")
    before = window.panel.config()
    assert not window.presets.choose("broken")
    assert errors and "data.noise" in errors[0][1]
    assert window.panel.config() == before


def test_save_preset_as_then_reset_to_preset(window, isolated):
    cfg = load_preset("knn-moons")
    window.panel.set_config(cfg)
    path = window.presets.save(cfg, "mine")
    assert path == isolated / "presets" / "mine.toml"
    assert window.presets.combo.currentText() == "mine (user)"
    window.panel.editors["data.noise"].setValue(0.4)
    window.presets.reset_button.click()
    assert window.panel.config() == cfg


@pytest.mark.parametrize("name", ["bad\x00name", "../escape", ".hidden", "a/b"])
def test_a_preset_name_that_is_no_plain_file_name_gets_a_dialog_and_writes_nothing(window, errors, isolated, name):
    assert window.presets.save(load_preset("knn-moons"), name) is None
    assert errors and errors[0][0] == "Cannot save preset" and "is not allowed" in errors[0][1]
    assert not (isolated / "presets").exists() or not any((isolated / "presets").iterdir())


def menu_action(window, text: str):
    return next(a for m in window.menuBar().actions() for a in m.menu().actions() if a.text() == text)


def test_publication_figure_before_the_run_file_exists_says_so(window, errors, monkeypatch, tmp_path):
    monkeypatch.setattr(window, "shown_run_path", lambda: str(tmp_path / "starting.h5"))
    menu_action(window, "Publication figure…").trigger()
    assert errors and errors[0][0] == "Run file not written yet" and "starting.h5" in errors[0][1]


def test_last_preset_and_geometry_are_remembered(qtbot, errors):
    first = MainWindow()
    qtbot.addWidget(first)
    first.presets.choose("knn-moons")
    first.resize(640, 480)  # fits the offscreen screen, so restoring does not clamp it
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.presets.name() == "knn-moons"
    assert second.panel.config() == load_preset("knn-moons")
    assert (second.width(), second.height()) == (640, 480)
    second.close()


def test_shortcuts(window):
    assert window.run_action.shortcut() == QKeySequence("Ctrl+R")
    assert window.stop_action.shortcut() == QKeySequence("Esc")
    shortcuts = {a.shortcut().toString() for m in window.menuBar().actions() for a in m.menu().actions()}
    assert {"Ctrl+E", "Ctrl+O"} <= shortcuts


def test_unwritable_data_folder_shows_an_error(window, errors, isolated, monkeypatch):
    (isolated / "file").write_text("")
    monkeypatch.setenv("DDX_DATA_DIR", str(isolated / "file" / "data"))
    window.start_run()
    assert errors and errors[0][0] == "Cannot start the run"
    assert not window.controller.running


def test_about_names_versions_and_device(window, errors):
    window.about()
    title, text = errors[0]
    assert f"DDX {engine.__version__}" in text and "torch" in text and "pyqtgraph" in text and "device: CPU" in text


def test_the_app_leaves_the_gui_thread_a_core_and_the_gil_often(monkeypatch):
    switched, threads = [], []
    monkeypatch.setattr(sys, "setswitchinterval", switched.append)
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    app.create_app()
    assert switched == [app.GIL_SWITCH_S] and threads == [max(1, (os.cpu_count() or 2) - 1)]


def test_a_first_launch_without_runs_says_to_press_run(window):
    curves = window.views[0]
    assert window.tabs.currentIndex() == 0 and curves.hint.isVisible()
    assert "Press Run (Ctrl+R)" in curves.hint.toPlainText() and curves.plot.titleLabel.text == "no run yet"
    window.start_run()
    assert not curves.hint.isVisible() and all(curves.plot.vb.autoRangeEnabled()), "curves fit the view again"
    window.stop_run()
    assert window.controller.wait(10)


def test_a_launch_shows_the_newest_run_of_the_data_folder(qtbot, errors, isolated, run_file, other_run_file):
    data = isolated / "data"
    data.mkdir()
    (data / "older.h5").write_bytes(other_run_file.read_bytes())
    (data / "newer.h5").write_bytes(run_file.read_bytes())
    (data / "broken.h5").write_text("not a run")
    os.utime(data / "older.h5", (1, 1))
    os.utime(data / "newer.h5", (2, 2))
    win = MainWindow()
    qtbot.addWidget(win)
    assert [Path(p).name for p in win.browser.selected_paths()] == ["newer.h5"]
    qtbot.waitUntil(lambda: bool(win.views[0].states), timeout=30_000)  # read in the loader's worker
    assert win.views[0].states[0][0] == "newer" and not win.views[0].hint.isVisible()
    assert errors == []
    win.close()
