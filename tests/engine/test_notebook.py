"""Runs in a notebook: `open_run` gives a pandas summary, xarray curves and the config; docs/notebook.md runs."""

import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from engine import open_run
from engine.notebook import Run
from engine.presets import load_preset
from engine.runfile import PointRecord, RunData
from tests.engine.helpers import run_all, tiny_config

ROOT = Path(__file__).resolve().parents[2]
SWEEP = {"axis": "teacher.width", "values": [4, 8], "seeds": [0, 1]}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "swept.h5"
    run_all(tiny_config(sweep=SWEEP), path)
    return path


def test_summary_has_a_row_per_point_with_values_seed_finals_and_best_epochs(swept):
    run = open_run(swept)
    summary = run.summary
    assert len(summary) == 4 and sorted(summary["teacher.width"]) == [4, 4, 8, 8]
    assert sorted(summary["seed"]) == [0, 0, 1, 1] and summary["seed"].dtype.kind == "i"
    for role in ("teacher", "student", "baseline"):
        for metric in ("test_error", "train_error", "best_epoch", "best_test_error", "steps"):
            assert summary[f"{role}.{metric}"].notna().all(), f"{role}.{metric}"
    assert run.config["sweep"]["values"] == [4, 8] and run.axes == ["teacher.width"]


def test_curves_have_a_dim_per_axis_then_seed_and_epoch(swept):
    run = open_run(swept)
    curves = run.curves("teacher", "test_error")
    assert curves.dims == ("teacher.width", "seed", "epoch") and curves.shape == (2, 2, 3)
    assert list(curves["epoch"].values) == [1, 2, 3]
    summary = run.summary.set_index(["teacher.width", "seed"])
    last = curves.isel(epoch=-1)
    assert last.sel({"teacher.width": 8, "seed": 1}).item() == summary.loc[(8, 1), "teacher.test_error"]
    with pytest.raises(KeyError, match="no role 'teacher_2'"):
        run.curves("teacher_2", "test_error")
    with pytest.raises(KeyError, match="no metric 'accuracy'"):
        run.curves("teacher", "accuracy")


def test_curves_are_nan_padded_for_missing_points_and_shorter_curves():
    config = {"run": {"name": "padded"}, "sweep": {"axis": "data.noise", "values": [0.1, 0.2], "seeds": [0, 1]}}
    short = {"epoch": np.array([1.0, 2.0]), "test_error": np.array([0.5, 0.4])}
    long = {"epoch": np.array([1.0, 2.0, 3.0]), "test_error": np.array([0.5, 0.3, 0.2])}
    points = [
        PointRecord(0, 0, {"data.noise": 0.1}, {"teacher": long}),
        PointRecord(1, 1, {"data.noise": 0.1}, {"teacher": short}),
    ]
    curves = Run(RunData("padded.h5", {}, config, "stopped", points, {})).curves("teacher", "test_error")
    assert curves.shape == (2, 2, 3)
    assert np.isnan(curves.sel({"data.noise": 0.2})).all(), "points not run yet are NaN"
    assert list(curves.sel({"data.noise": 0.1, "seed": 1}).values[:2]) == [0.5, 0.4]
    assert np.isnan(curves.sel({"data.noise": 0.1, "seed": 1, "epoch": 3}))
    assert curves.mean("seed").sel({"data.noise": 0.1}).values.tolist() == [0.5, 0.35, 0.2]


def test_the_notebook_page_runs(tmp_path, monkeypatch, capsys):
    """docs/notebook.md's code, run in order on a small quickstart at the path it names."""
    matplotlib.use("Agg")
    small = ["sweep.values=[8, 64]", "sweep.seeds=[0, 1]", "train.epochs=3", "data.n_unlabeled=500"]
    small += ["data.n_train=200", "data.n_test=200", "data.n_val=100", 'run.device="cpu"']
    (tmp_path / "data").mkdir()
    run_all(load_preset("quickstart", small), tmp_path / "data" / "q.h5")
    monkeypatch.chdir(tmp_path)
    page = (ROOT / "docs" / "notebook.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/notebook.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "<Run q.h5: complete, 4/4 points" in printed and "student.test_error" in printed
    assert "{'teacher.width': 2, 'seed': 2, 'epoch':" in printed
    assert (tmp_path / "student-curves.png").stat().st_size > 10_000
