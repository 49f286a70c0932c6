"""GUI test fixtures: offscreen Qt, and settings, presets and run files sent to tmp_path."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402
from PySide6.QtCore import QThreadPool  # noqa: E402

from engine.presets import load_preset  # noqa: E402
from engine.runner import run  # noqa: E402

TINY = [
    "data.n_train=100",
    "data.n_unlabeled=300",
    "data.n_test=200",
    "teacher.width=8",
    "student.width=8",
    "train.epochs=3",
    'sweep.axis="teacher.width"',
    "sweep.values=[4, 8]",
    'sweep.axis2="student.width"',
    "sweep.values2=[8]",
    'run.name="tiny"',
    'run.device="cpu"',
]


def tiny_config(*more: str):
    """mlp-moons shrunk to two sweep points of 3 epochs: a run takes a few seconds on 2 cores."""
    return load_preset("mlp-moons", TINY + list(more))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Send settings, user presets and run files to tmp_path; fail a test that leaves a thread running."""
    monkeypatch.setenv("DDX_SETTINGS_FILE", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("DDX_PRESET_DIR", str(tmp_path / "presets"))
    monkeypatch.setenv("DDX_DATA_DIR", str(tmp_path / "data"))
    yield tmp_path
    assert QThreadPool.globalInstance().waitForDone(3000), "a worker thread outlived its test"
    assert QThreadPool.globalInstance().activeThreadCount() == 0


@pytest.fixture
def errors(monkeypatch):
    """Record error messages instead of showing modal dialogs."""
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr("gui.dialogs.show_error", lambda parent, title, text: shown.append((title, text)))
    monkeypatch.setattr("gui.dialogs.show_info", lambda parent, title, text: shown.append((title, text)))
    return shown


@pytest.fixture
def window(qtbot, errors):
    """The main window, closed (stopping any run) at the end of the test."""
    from gui.app import create_app
    from gui.window import MainWindow

    create_app()
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="session")
def run_file(tmp_path_factory):
    """A finished tiny run file, made by the engine directly (no GUI)."""
    path = tmp_path_factory.mktemp("runs") / "tiny.h5"
    for _ in run(tiny_config(), path):
        pass
    return path


@pytest.fixture(scope="session")
def other_run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "tiny-noisier.h5"
    for _ in run(tiny_config("data.noise=0.3"), path):
        pass
    return path
