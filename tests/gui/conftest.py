"""GUI test fixtures: offscreen Qt, and settings, presets and run files sent to tmp_path."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QThreadPool  # noqa: E402

from engine.presets import load_preset  # noqa: E402
from engine.runfile import PointRecord, RunData  # noqa: E402
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


def open_runs(window, qtbot, *paths) -> None:
    """Open run files as File ▸ Open does and wait until the worker has read them and the plots show them."""
    with qtbot.waitSignal(window.loader.loaded, timeout=30_000):
        for path in paths:
            window.open_run(path)


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


VAL_ERROR = [0.5, 0.3, 0.4, 0.35]
TEST_ERROR = [0.5, 0.32, 0.41, 0.36]


def synthetic_curves(offset: float, interpolates: bool, validation: bool = True) -> dict:
    """Four epochs of a model role, whose validation error is lowest at epoch 2."""
    return {
        "epoch": np.arange(1.0, 5.0),
        "train_error": np.array([0.3, 0.2, 0.1, 0.0 if interpolates else 0.05]),
        "test_error": np.array(TEST_ERROR) + offset,
        "val_error": np.array(VAL_ERROR) + offset if validation else np.full(4, np.nan),
        "steps": np.array([10.0, 20.0, 30.0, 40.0]),
    }


def synthetic_run(axis: str, values, dataset: str = "moons", axis2: str = "", values2=(), seeds=(0,)):
    """A run file's contents made in memory, as the engine will write them: val_error and steps per epoch.

    Teacher and student; the teacher interpolates (train error 0) from the second value of the first
    axis on; each value of the second axis adds itself to the errors, each seed adds 0.001.
    """
    sweep = {"axis": axis, "values": list(values), "axis2": axis2, "values2": list(values2), "seeds": list(seeds)}
    config = {"run": {"name": "synthetic"}, "data": {"dataset": dataset}, "sweep": sweep}
    points = []
    for i, value in enumerate(values):
        for second in values2 or [None]:
            for seed in seeds:
                offset = (second or 0.0) + 0.001 * seed
                point_values = {axis: value} | ({axis2: second} if axis2 else {})
                curves = {
                    "teacher": synthetic_curves(offset, interpolates=i >= 1),
                    "student": synthetic_curves(offset + 0.05, interpolates=False),
                }
                points.append(PointRecord(len(points), seed, point_values, curves))
    total = {"total_points": len(points)}
    return RunData("synthetic.h5", total, config, "complete", points)
