"""Student-vs-baseline comparisons over seeds."""

import math

import numpy as np
import pytest

from engine.compare import Margin, comparisons
from engine.results import Results
from engine.runfile import load_run
from tests.engine.helpers import run_all, tiny_config


def test_margin_is_the_mean_difference_in_standard_errors_of_the_mean():
    margin = Margin.of([0.10, 0.12, 0.14])
    assert margin.mean == pytest.approx(0.12)
    assert margin.standard_error == pytest.approx(0.02 / math.sqrt(3))
    assert margin.in_standard_errors == pytest.approx(0.12 / (0.02 / math.sqrt(3)))
    assert math.isnan(Margin.of([0.1]).standard_error), "one seed has no spread to measure"


def test_comparisons_average_each_swept_value_over_its_seeds_with_budgets(tmp_path):
    cfg = tiny_config(
        train={"equal_steps": True}, sweep={"axis": "teacher.width", "values": [4, 16], "seeds": [0, 1, 2]}
    )
    run_all(cfg, tmp_path / "run.h5")
    data = load_run(tmp_path / "run.h5")
    found = comparisons(Results.from_run(data))
    assert [c.values for c in found] == [{"teacher.width": 4.0}, {"teacher.width": 16.0}]
    for c in found:
        points = [p for p in data.points if p.values == c.values]
        finals = [p.finals() for p in points]
        margins = [f["baseline"]["test_error"] - f["student"]["test_error"] for f in finals]
        assert c.seeds == 3 and c.over_final.mean == pytest.approx(np.mean(margins))
        best = [f["baseline"]["best_test_error"] - f["student"]["test_error"] for f in finals]
        assert c.over_best.mean == pytest.approx(np.mean(best))
        # 3 epochs of 10 pool batches against whole epochs of 4 batches of S: 8 epochs, 32 steps, the nearest
        assert (c.steps["student"], c.steps["baseline"]) == (30, 32), "equal steps, rounded to whole epochs"
