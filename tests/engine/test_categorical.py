"""Sweeps over choices: a choice key's names run, are stored as text, load back and line up on the axis."""

import csv

import numpy as np

from engine.events import PointFinished
from engine.export import export_summaries
from engine.results import Results
from engine.runfile import load_run
from engine.runner import resume, run
from tests.engine.helpers import run_all, tiny_config

MODES = ["hard", "soft", "self"]
SWEEP = {"axis": "distill.mode", "values": MODES, "axis2": "student.width", "values2": [4, 8], "seeds": [0, 1]}


def test_a_choice_sweep_stores_its_names_and_loads_them_back(tmp_path):
    path = tmp_path / "modes.h5"
    cfg = tiny_config(distill={"chi": 1.0}, train={"epochs": 2}, sweep=SWEEP)
    run_all(cfg, path)
    data = load_run(path)
    assert data.status == "complete" and len(data.points) == 12
    assert [p.values["distill.mode"] for p in data.points[::4]] == MODES
    assert all(isinstance(p.values["student.width"], float) for p in data.points)
    self_points = [p for p in data.points if p.values["distill.mode"] == "self"]
    assert self_points and all("teacher" not in p.curves for p in self_points), "each point ran its own mode"
    assert list(data.summary["distill.mode"][::4]) == MODES
    results = Results.from_run(data)
    xs, mean, std = results.sweep_stats("student")
    assert list(xs) == [0.0, 1.0, 2.0] and np.isfinite(mean).all() and (std > 0).any()
    assert results.grid_values("student").shape == (3, 2)
    export_summaries([path], tmp_path / "modes.csv")
    with open(tmp_path / "modes.csv", newline="") as f:
        assert [row["distill.mode"] for row in csv.DictReader(f)][::4] == MODES


def test_a_stopped_choice_sweep_resumes_to_the_same_points(tmp_path):
    sweep = {"axis": "distill.pool_labels", "values": ["random", "per_batch", "ensemble"], "seeds": [0]}
    cfg = tiny_config(distill={"teachers": 2}, train={"epochs": 2}, sweep=sweep)
    path, finished = tmp_path / "stopped.h5", []
    for event in run(cfg, path, stop=lambda: len(finished) >= 1):
        if isinstance(event, PointFinished):
            finished.append(event)
    list(resume(path))
    run_all(cfg, tmp_path / "whole.h5")
    resumed, whole = load_run(path), load_run(tmp_path / "whole.h5")
    assert [p.values for p in resumed.points] == [p.values for p in whole.points]
    assert [p.values["distill.pool_labels"] for p in whole.points] == sweep["values"]
    for a, b in zip(resumed.points, whole.points, strict=True):
        np.testing.assert_allclose(a.curves["student"]["test_error"], b.curves["student"]["test_error"])
