"""Replica theory of L2 logistic regression on the Gaussian mixture against DDX's linear family."""

import math

import numpy as np
import pytest
import torch

from benchmarks.theory_agreement import simulated_error
from engine.config import ModelConfig, TrainConfig
from engine.datasets.base import split_rng
from engine.datasets.gaussian_mixture import mean_direction, sample_mixture
from engine.diagnostics.replica import fixed_point, logistic_error, margin, separability_threshold
from engine.models import Targets, build_learner
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


@pytest.mark.parametrize(
    ("rho", "ridge", "alpha", "eta"), [(0.2, 0.1, 4.0, 1.0), (0.2, 1e-5, 4.0, 0.5), (0.5, 1e-3, 6.0, 1.0)]
)
def test_linear_family_matches_theory_within_three_standard_errors(rho, ridge, alpha, eta):
    """d = 200, 4 seeds: at ρ = 0.2 the dense teacher's setting and the η-sparse baseline's (α/η, Δ/η, λ/η²),
    the curves the Saglietti point below needs, so each is solved once; at ρ = ½ (bias 0, so no bias
    fluctuation) a nearly ridgeless teacher past its separability threshold α̃_S = 3.70.

    docs/science.md tabulates all three settings at d = 400 (and the η = 0.5 one at d = 800). The ρ = ½
    point was checked on seeds 0–11 in blocks of 4: each mean within 0.56 of the tolerance; it costs 1–2 s
    (α = 4 took 6 s, too close to α̃_S for the fit to be quick).
    """
    errors = [simulated_error(alpha, rho, ridge, 200, seed, eta) for seed in range(4)]
    se = np.std(errors, ddof=1) / math.sqrt(len(errors))
    assert abs(np.mean(errors) - logistic_error(alpha, rho, 1.0, ridge, eta)) < 3 * se + 0.005


def fitted(x: np.ndarray, y: np.ndarray, ridge: float, eta: float) -> tuple[np.ndarray, float]:
    """Weights and bias of the `linear` family's logistic fit."""
    spec = ModelConfig(model="linear", ridge=ridge, trainable_fraction=eta)
    learner = build_learner(spec, TrainConfig(loss="cross_entropy"), x.shape[1], 2, 0, "cpu")
    list(learner.fit(torch.from_numpy(x), Targets(torch.from_numpy(y))))
    return learner.w[:, 0].numpy(), float(learner.b[0])


def test_sparse_model_is_the_dense_problem_on_its_coordinates_over_root_eta():
    """The η-model (λ, w·x/√d on the first p = ηd coordinates) is the dense model on x_{:p}/√η with λ/η²,
    weights ηw: the substitution behind `theory_baseline`, since x_{:p}/√η is a p-dimensional mixture
    with mean v_{:p}/√p (‖v_{:p}‖² ≈ p) and noise Δ/η.
    """
    dim, eta, ridge = 60, 0.5, 0.05
    x, y = sample_mixture(150, mean_direction(0, dim), 0.2, 1.0, split_rng(0, "train"))
    x = x.astype(np.float64)
    w, b = fitted(x, y, ridge, eta)
    w_dense, b_dense = fitted(x[:, : dim // 2] / math.sqrt(eta), y, ridge / eta**2, 1.0)
    assert np.allclose(w_dense, eta * w, rtol=1e-5, atol=1e-7) and b_dense == pytest.approx(b, abs=1e-6)


def test_saglietti_point_stores_theory_roles_and_threshold_markers():
    final, outcome = run_one(mixture_point(2.0), 0)
    assert final["theory_teacher"]["test_error"] == pytest.approx(logistic_error(2.0, 0.2, 1.0, 0.1))
    assert final["theory_baseline"]["test_error"] == pytest.approx(logistic_error(2.0, 0.2, 1.0, 1e-5, 0.5))
    attrs = outcome.record.attrs
    assert attrs["n_alpha_I"] == pytest.approx(0.5 * 80)
    assert attrs["n_alpha_S"] < attrs["n_alpha_S_teacher"]


def test_a_ridgeless_student_keeps_the_teachers_theory_curve_and_drops_only_its_own():
    """Each reference role depends on its own model's λ: a ridgeless η-student (no fixed point below
    separability) loses `theory_baseline` but the λ̃ = 0.1 teacher's curve is still drawn."""
    cfg = mixture_point(2.0)
    cfg = cfg.model_copy(update={"student": cfg.student.model_copy(update={"ridge": 0.0})})
    final, outcome = run_one(cfg, 0)
    assert final["theory_teacher"]["test_error"] == pytest.approx(logistic_error(2.0, 0.2, 1.0, 0.1))
    assert "theory_baseline" not in final
    assert outcome.record.attrs["n_alpha_I"] == pytest.approx(0.5 * 80)


def test_ridgeless_fits_get_no_theory_and_an_unsolvable_point_no_curve_but_the_run_goes_on(monkeypatch):
    """λ = 0 has no fixed point below separability (it took a CI run 300 s to find out); a solve that
    fails anyway leaves that point's theory values NaN instead of failing the run."""
    import engine.diagnostics.theory as theory
    from engine.config import validate

    raw = {"data": {"dataset": "gaussian_mixture", "dim": 10, "n_train": 120, "noise": 0.0}}
    raw |= {"teacher": {"model": "linear"}, "student": {"model": "linear"}, "distill": {"mode": "none"}}
    assert not theory.logistic_theory_applies(validate(raw, "test"))
    raw |= {"teacher": {"model": "linear"}, "student": {"model": "linear", "ridge": 0.1}}
    found = theory.logistic_theory(validate(raw, "test"), None, {})
    assert set(found.references) == {"theory_baseline"}
    raw |= {"teacher": {"model": "linear", "ridge": 0.1}, "student": {"model": "linear", "ridge": 0.1}}
    cfg = validate(raw, "test")
    assert theory.logistic_theory_applies(cfg)

    def unsolvable(*args):
        raise RuntimeError("did not converge")

    monkeypatch.setattr(theory, "logistic_error", unsolvable)
    found = theory.logistic_theory(cfg, None, {})
    assert math.isnan(found.references["theory_teacher"]["test_error"])
