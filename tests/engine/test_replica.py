"""Replica theory of L2 logistic regression on the Gaussian mixture against DDX's linear family."""

import math

import numpy as np
import pytest

from benchmarks.theory_agreement import simulated_error
from engine.diagnostics.replica import fixed_point, logistic_error, margin, separability_threshold
from tests.engine.science import run_one
from tests.engine.test_science_saglietti import mixture_point


def test_proximal_margin_solves_its_equation_at_every_scale_of_v():
    omega = np.linspace(-60, 60, 241)
    for V in (1e-3, 1.0, 1e3, 1e7):
        u = margin(omega, V)
        sigma = 0.5 * (1 + np.tanh(-0.5 * u))
        assert np.all(np.abs(u - omega - V * sigma) <= 1e-8 * (1 + np.abs(u)))


def test_separability_threshold_is_covers_two_for_pure_noise_and_grows_with_the_signal():
    assert separability_threshold(0.5, 1e4) == pytest.approx(2.0, abs=0.01)
    assert separability_threshold(0.2, 1.0) > separability_threshold(0.2, 2.0, 1.0) > 2.0


def test_theory_norm_diverges_as_ridge_vanishes_only_below_the_separability_threshold():
    """Two independent computations agree: the Gardner threshold and the replica fixed point at λ → 0."""
    threshold = separability_threshold(0.5, 1.0)
    growth = {
        a: fixed_point(a, 0.5, 1.0, 1e-6).q / fixed_point(a, 0.5, 1.0, 1e-4).q
        for a in (0.85 * threshold, 1.15 * threshold)
    }
    below, above = growth[0.85 * threshold], growth[1.15 * threshold]
    assert below > 3 and above < 1.5


@pytest.mark.parametrize(("rho", "ridge", "alpha"), [(0.2, 1e-3, 2.0), (0.2, 0.1, 4.0)])
def test_linear_family_matches_theory_within_three_standard_errors(rho, ridge, alpha):
    """d = 200, 4 seeds; measured |sim − theory| ≤ 0.006 at d = 400 for these settings (docs/science.md)."""
    errors = [simulated_error(alpha, rho, ridge, 200, seed) for seed in range(4)]
    se = np.std(errors, ddof=1) / math.sqrt(len(errors))
    assert abs(np.mean(errors) - logistic_error(alpha, rho, 1.0, ridge)) < 3 * se + 0.005


def test_saglietti_point_stores_theory_roles_and_threshold_markers():
    final, outcome = run_one(mixture_point(2.0), 0)
    assert final["theory_teacher"]["test_error"] == pytest.approx(logistic_error(2.0, 0.2, 1.0, 0.1))
    assert final["theory_baseline"]["test_error"] == pytest.approx(logistic_error(2.0, 0.2, 1.0, 1e-5, 0.5))
    attrs = outcome.record.attrs
    assert attrs["n_alpha_I"] == pytest.approx(0.5 * 80)
    assert attrs["n_alpha_S"] < attrs["n_alpha_S_teacher"]
