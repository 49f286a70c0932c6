"""A 1-NN teacher's references: the noise rate, where its clean test error sits on separable classes, and
the Cover–Hart bound ε + (1 − 2ε)·2R*(1 − R*) where the data know their Bayes error R*."""

import numpy as np

from engine.diagnostics.nearest import cover_hart_bound
from engine.runfile import load_run
from tests.engine.helpers import run_all, tiny_config

NOISE = 0.2


def one_nn_run(tmp_path, dataset: dict) -> tuple[np.ndarray, list]:
    """A 1-NN teacher on noisy examples, 4 seeds: its clean test errors and the points."""
    cfg = tiny_config(
        data={"n_train": 2000, "n_test": 4000, "n_unlabeled": 0, "n_val": 0, "noise": NOISE, **dataset},
        teacher={"model": "knn", "k": 1},
        student={"model": "linear"},
        distill={"mode": "none"},
        sweep={"seeds": [0, 1, 2, 3]},
    )
    run_all(cfg, tmp_path / "nn.h5")
    points = load_run(tmp_path / "nn.h5").points
    return np.array([p.final("teacher", "test_error") for p in points]), points


def test_a_one_nn_teacher_on_separable_classes_errs_at_the_noise_rate(tmp_path):
    separable = {"dataset": "clusters", "dim": 8, "n_classes": 2, "clusters_per_class": 2, "input_noise": 0.3}
    errors, points = one_nn_run(tmp_path, separable)
    assert len(errors) == 4
    assert all(p.final("noise_rate", "test_error") == NOISE for p in points)
    assert "cover_hart" not in points[0].curves, "clusters do not know their Bayes error"
    assert abs(errors.mean() - NOISE) < 0.02, errors


def test_the_cover_hart_reference_is_stored_where_the_bayes_error_is_known(tmp_path):
    cfg = tiny_config(
        data={"dataset": "gaussian_mixture", "dim": 4, "noise": NOISE},
        teacher={"model": "knn", "k": 1},
        student={"model": "linear"},
        distill={"mode": "none"},
    )
    run_all(cfg, tmp_path / "gm.h5")
    point = load_run(tmp_path / "gm.h5").points[0]
    bayes = point.attrs["bayes_error"]
    assert point.final("cover_hart", "test_error") == cover_hart_bound(bayes, NOISE)
    assert point.final("noise_rate", "test_error") == NOISE
    assert cover_hart_bound(bayes, 0.0) == 2 * bayes * (1 - bayes), "Cover–Hart without noise"
    assert cover_hart_bound(0.0, NOISE) == NOISE, "a sampler of separable classes"
