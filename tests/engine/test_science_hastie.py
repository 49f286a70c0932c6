"""Ridgeless least squares on isotropic Gaussian data follows the exact asymptotic risk (Hastie et al.)."""

import math

import numpy as np
import pytest

from engine.diagnostics.theory import misspecified_ridgeless_risk, ridgeless_references, ridgeless_risk
from tests.engine.science import config, device_data, run_one


def regression(dim: int, n_train: int, trainable_fraction: float = 1.0):
    return config(
        data={
            "dataset": "linear_regression",
            "n_train": n_train,
            "n_test": 10,
            "n_unlabeled": 0,
            "noise": 0.0,
            "dim": dim,
            "signal": 1.0,
            "target_noise": 0.5,
        },
        teacher={"model": "linear", "ridge": 0.0, "trainable_fraction": trainable_fraction},
        student={"model": "linear"},
        train={"loss": "mse"},
        distill={"mode": "none"},
    )


def measured_risk(cfg, seed: int) -> tuple[float, float]:
    """The min-norm fit's excess risk and the closed form, straight from the diagnostic."""
    found = ridgeless_references(cfg, device_data(cfg, seed), {}).references
    return found["ridgeless"]["excess_risk"], found["theory"]["excess_risk"]


def test_closed_form_limits():
    assert ridgeless_risk(0.5, 1.0, 0.25) == pytest.approx(0.25)
    assert ridgeless_risk(1.0, 1.0, 0.25) == math.inf
    assert ridgeless_risk(1e9, 1.0, 0.25) == pytest.approx(1.0), "far past γ = 1 the fit predicts 0: risk r²"
    assert misspecified_ridgeless_risk(300, 300, 100, 1.0, 0.25) == ridgeless_risk(3.0, 1.0, 0.25)


@pytest.mark.parametrize(("gamma", "fraction"), [(0.25, 1.0), (0.5, 1.0), (2.0, 1.0), (4.0, 1.0), (0.5, 0.4)])
def test_min_norm_risk_matches_the_asymptotic_curve_away_from_the_threshold(gamma, fraction):
    # below the threshold the risk is a noise average with ~√(2/p) spread per seed, so it needs more seeds
    n_train, seeds = (600, 20) if gamma < 1 else (300, 6)
    cfg = regression(round(gamma * n_train / fraction), n_train, fraction)
    risks, theory = zip(*(measured_risk(cfg, seed) for seed in range(seeds)), strict=True)
    assert np.mean(risks) == pytest.approx(theory[0], rel=0.06)  # measured within 3.7% on two seed batches


def test_a_point_records_the_fit_the_theory_and_a_risk_peak_at_the_threshold():
    risks = {}
    for gamma in (0.5, 0.95, 1.05, 3.0):
        final, outcome = run_one(regression(round(gamma * 200), 200))
        assert {"teacher", "baseline", "ridgeless", "theory"} <= set(final)
        assert outcome.record.attrs["gamma"] == pytest.approx(gamma)
        risks[gamma] = final["ridgeless"]["excess_risk"]
    assert min(risks[0.95], risks[1.05]) > 4 * max(risks[0.5], risks[3.0])
