"""A student distilled from a regularized teacher inherits its regularization (Saglietti & Zdeborová)."""

import math

import numpy as np
import pytest

from engine.datasets.base import split_rng
from engine.datasets.gaussian_mixture import bayes_optimal_error, linear_error, sample_mixture
from tests.engine.science import config, run_one

DIM = 80


def mixture_point(alpha: float):
    """ρ = 0.2, Δ = 1; teacher λ̃ = 0.1, η = 0.5 student with λ = 1e-5, pure soft distillation on S."""
    return config(
        data={
            "dataset": "gaussian_mixture",
            "dim": DIM,
            "rho": 0.2,
            "delta": 1.0,
            "n_train": round(alpha * DIM),
            "n_test": 3000,
            "n_unlabeled": 0,
            "noise": 0.0,
        },
        teacher={"model": "linear", "ridge": 0.1},
        student={"model": "linear", "ridge": 1e-5, "trainable_fraction": 0.5},
        distill={"mode": "soft", "chi": 1.0, "student_data": "labeled"},
    )


def test_kd_student_beats_the_unregularized_label_trained_student_and_stays_above_the_bounds():
    gains = []
    for alpha in (1.25, 2.0):
        for seed in range(3):
            final, outcome = run_one(mixture_point(alpha), seed)
            error = {role: metrics["test_error"] for role, metrics in final.items()}
            gains.append(error["baseline"] - error["student"])
            finite_size = 0.02  # test-set and d = 80 fluctuations of the error
            assert error["teacher"] > error["bayes_teacher"] - finite_size
            assert min(error["student"], error["baseline"]) > error["bayes_student"] - finite_size
            assert outcome.attrs["bayes_student"] > outcome.attrs["bayes_teacher"], "fewer weights, higher bound"
    assert np.mean(gains) > 0.02 and min(gains) > -0.01


@pytest.mark.parametrize(("rho", "delta", "alpha"), [(0.2, 1.0, 10.0), (0.35, 0.5, 20.0)])
def test_bayes_bound_matches_a_hebbian_classifier_at_large_alpha(rho, delta, alpha):
    dim, errors = 200, []
    for seed in range(3):
        v = split_rng(seed, "teacher-vector").standard_normal(dim)
        x, y = sample_mixture(round(alpha * dim), v, rho, delta, split_rng(seed, "train"))
        w = ((2 * y - 1)[:, None] * x).mean(0) * math.sqrt(dim)  # m = w·v/d → 1, q = w·w/d → 1 + Δ/α
        q = float(w @ w) / dim
        bias = 0.5 * delta * q * math.log(rho / (1 - rho))
        x_test, y_test = sample_mixture(20000, v, rho, delta, split_rng(seed, "test"))
        errors.append(float(((x_test @ w / math.sqrt(dim) + bias > 0) != y_test).mean()))
        assert linear_error(float(w @ v) / dim, q, bias, rho, delta) == pytest.approx(errors[-1], abs=0.01)
    assert np.mean(errors) == pytest.approx(bayes_optimal_error(rho, delta, alpha), abs=0.01)
