"""The run generator: distill modes and roles, sweeps, stop/failure status, and the run file."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from engine.config import validate
from engine.events import EpochMetrics, PointFinished, PointStarted, RunFinished, RunStarted
from engine.metrics import METRICS
from engine.runfile import load_run
from engine.runner import expand_points, run
from tests.engine.helpers import fail_training, run_all, tiny_config


@pytest.mark.parametrize(
    ("distill", "roles"),
    [
        ({"mode": "hard"}, {"teacher", "student", "baseline"}),
        ({"mode": "soft", "temperature": 2.0}, {"teacher", "student", "baseline"}),
        ({"mode": "soft", "chi": 0.5, "student_data": "both"}, {"teacher", "student", "baseline"}),
        ({"mode": "self", "alpha": 0.6}, {"student", "baseline"}),  # self-distillation trains no teacher
        ({"mode": "none"}, {"teacher", "baseline"}),
        (
            {"mode": "hard", "teachers": 3, "pool_labels": "random"},
            {"teacher", "teacher_2", "teacher_3", "student", "baseline"},
        ),
        ({"mode": "soft", "teachers": 2, "pool_labels": "ensemble"}, {"teacher", "teacher_2", "student", "baseline"}),
    ],
)
def test_each_distill_mode_runs_and_records_its_roles(tmp_path, distill, roles):
    events = run_all(tiny_config(distill=distill), tmp_path / "run.h5")
    assert {e.role for e in events if isinstance(e, EpochMetrics)} == roles
    stored = load_run(tmp_path / "run.h5")
    assert stored.status == "complete" and set(stored.points[0].curves) == roles
    for role in roles:
        curves = stored.points[0].curves[role]
        assert set(METRICS) | {"epoch"} == set(curves)
        assert list(curves["epoch"]) == [1, 2, 3]
    student = stored.points[0].curves.get("student")
    if student is not None and "teacher" in roles:
        assert 0 <= student["agreement"][-1] <= 1


@pytest.mark.parametrize("batch_models", [True, False])
def test_budgets_are_per_role_and_every_role_records_steps_and_its_validation_chosen_epoch(tmp_path, batch_models):
    """The pool is 300 inputs (10 batches of 32), S is 120 (4 batches): equal steps give the baseline 2.5× the epochs."""
    cfg = tiny_config(
        data={"n_val": 80},
        train={"epochs": 3, "student_epochs": 2, "equal_steps": True},
        sweep={"axis": "teacher.width", "values": [4, 16]},
        run={"batch_models": batch_models},
    )
    run_all(cfg, tmp_path / "run.h5")
    stored = load_run(tmp_path / "run.h5")
    for point in stored.points:
        curves = point.curves
        assert [len(curves[r]["epoch"]) for r in ("teacher", "student", "baseline")] == [3, 2, 5]
        assert list(curves["teacher"]["steps"]) == [4, 8, 12]
        assert curves["student"]["steps"][-1] == curves["baseline"]["steps"][-1] == 20, "equal optimizer steps"
        for role in ("teacher", "student", "baseline"):
            val, test = curves[role]["val_error"], curves[role]["test_error"]
            best = int(np.argmin(val))
            assert point.final(role, "best_epoch") == curves[role]["epoch"][best]
            assert point.final(role, "best_test_error") == test[best]
    assert np.array_equal(stored.summary["baseline.steps"], [20, 20])
    assert {"student.best_epoch", "student.best_test_error", "teacher.steps"} <= set(stored.summary)


def test_without_a_validation_split_no_best_epoch_is_claimed(tmp_path):
    run_all(tiny_config(data={"n_val": 0}), tmp_path / "run.h5")
    point = load_run(tmp_path / "run.h5").points[0]
    assert np.isnan(point.curves["baseline"]["val_error"]).all()
    assert math.isnan(point.final("baseline", "best_epoch")) and math.isnan(point.final("baseline", "best_test_error"))


def test_event_stream_order_and_run_file_round_trip(tmp_path):
    cfg = tiny_config(sweep={"axis": "teacher.width", "values": [4, 16], "seeds": [0, 1]})
    events = run_all(cfg, tmp_path / "sweep.h5")
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[-1] is RunFinished
    assert kinds.count(PointStarted) == kinds.count(PointFinished) == 4
    finished = [e for e in events if isinstance(e, PointFinished)]

    stored = load_run(tmp_path / "sweep.h5")
    assert stored.attrs["format"] == "ddx-run" and stored.attrs["total_points"] == 4
    assert validate(stored.config, "stored") == cfg
    assert [(p.values["teacher.width"], p.seed) for p in stored.points] == [(4, 0), (4, 1), (16, 0), (16, 1)]
    for event, point in zip(finished, stored.points, strict=True):
        assert event.final["student"]["test_error"] == point.final("student", "test_error")
    assert np.array_equal(stored.summary["teacher.width"], [4, 4, 16, 16])
    assert np.allclose(stored.summary["student.test_error"], [p.final("student", "test_error") for p in stored.points])
    assert stored.axes == ["teacher.width"] and stored.roles == ["teacher", "student", "baseline"]


def test_two_axis_sweep_covers_the_grid(tmp_path):
    cfg = tiny_config(
        distill={"mode": "none"},
        sweep={"axis": "teacher.width", "values": [4, 8], "axis2": "data.noise", "values2": [0.0, 0.3], "seeds": [0]},
    )
    assert [p.values for p in expand_points(cfg)] == [
        {"teacher.width": 4, "data.noise": 0.0},
        {"teacher.width": 4, "data.noise": 0.3},
        {"teacher.width": 8, "data.noise": 0.0},
        {"teacher.width": 8, "data.noise": 0.3},
    ]
    run_all(cfg, tmp_path / "grid.h5")
    stored = load_run(tmp_path / "grid.h5")
    noisy = [p for p in stored.points if p.values["data.noise"] == 0.3]
    clean = [p for p in stored.points if p.values["data.noise"] == 0.0]
    assert all(math.isnan(p.final("teacher", "memorized")) for p in clean), "no noisy labels, nothing to memorize"
    assert all(0 <= p.final("teacher", "memorized") <= 1 for p in noisy)


def test_stop_between_epochs_keeps_finished_points_and_marks_stopped(tmp_path):
    cfg = tiny_config(sweep={"axis": "teacher.width", "values": [4, 8, 16]}, run={"batch_models": False})
    seen = []

    def stop():
        return len([e for e in seen if isinstance(e, PointFinished)]) == 1 and len(seen) > 0

    for event in run(cfg, tmp_path / "stop.h5", stop=stop):
        seen.append(event)
    assert isinstance(seen[-1], RunFinished) and seen[-1].status == "stopped"
    stored = load_run(tmp_path / "stop.h5")
    assert stored.status == "stopped" and len(stored.points) == 1


def test_closing_the_generator_marks_the_file_stopped(tmp_path):
    stream = run(tiny_config(), tmp_path / "closed.h5")
    for event in stream:
        if isinstance(event, EpochMetrics):
            break
    stream.close()
    assert load_run(tmp_path / "closed.h5").status == "stopped"


def test_an_engine_exception_marks_the_file_failed(tmp_path, monkeypatch):
    fail_training(monkeypatch, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        run_all(tiny_config(), tmp_path / "failed.h5")
    stored = load_run(tmp_path / "failed.h5")
    assert stored.status == "failed" and "boom" in stored.attrs["error"]


def test_two_d_runs_store_decision_regions_and_points(tmp_path):
    run_all(tiny_config(), tmp_path / "regions.h5")
    arrays = load_run(tmp_path / "regions.h5").points[0].arrays
    assert arrays["regions_teacher"].shape == arrays["regions_student"].shape == (120, 120)
    assert arrays["train_x"].shape == (120, 2) and len(arrays["train_y_noisy"]) == 120
    assert np.allclose(arrays["noise_transition"].sum(1), 1)


def test_gaussian_mixture_points_record_their_bayes_error(tmp_path):
    cfg = tiny_config(
        data={"dataset": "gaussian_mixture", "dim": 10, "noise": 0.0},
        distill={"mode": "none"},
        teacher={"model": "linear"},
        student={"model": "linear"},
    )
    run_all(cfg, tmp_path / "gm.h5")
    point = load_run(tmp_path / "gm.h5").points[0]
    assert 0 < point.attrs["bayes_error"] < 0.2


def test_engine_never_imports_qt():
    code = (
        "import sys, engine.cli, engine.runner, engine.runfile, engine.presets;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'PyQt5', 'PyQt6')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_run_file_stores_units_and_descriptions(tmp_path):
    import h5py

    run_all(tiny_config(), tmp_path / "doc.h5")
    with h5py.File(tmp_path / "doc.h5") as f:
        assert "noisy labels" in f["points/roles/teacher/train_error"].attrs["description"]
        assert json.loads(f.attrs["config"])["run"]["name"] == "tiny"
