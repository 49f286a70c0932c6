"""Closed-form reference curves: ridgeless least-squares risk (Hastie et al.), Bayes-optimal bounds, replica theory.

Each reference is stored as a one-epoch role (engine.roles.REFERENCES), so sweep views draw it.
"""

import logging
import math

import numpy as np
import torch

from engine.datasets.gaussian_mixture import bayes_optimal_error
from engine.diagnostics.base import register_diagnostic
from engine.diagnostics.replica import logistic_error, separability_threshold
from engine.outcomes import Findings

log = logging.getLogger(__name__)


def ridgeless_risk(gamma: float, r2: float, sigma2: float) -> float:
    """Asymptotic excess risk of min-norm least squares, isotropic features, γ = p/n (∞ at γ = 1)."""
    if gamma < 1:
        return sigma2 * gamma / (1 - gamma)
    if gamma > 1:
        return r2 * (1 - 1 / gamma) + sigma2 / (gamma - 1)
    return math.inf


def misspecified_ridgeless_risk(p: int, d: int, n: int, r2: float, sigma2: float) -> float:
    """Excess risk when the fit sees only the first p of d isotropic features.

    The signal on the unseen features is independent of the seen ones, so it acts as extra target
    noise and adds its own variance: R = r²(1 − p/d) + R_γ(r²·p/d, σ² + r²(1 − p/d)), γ = p/n.
    p = d gives `ridgeless_risk`.
    """
    unseen = r2 * (1 - p / d)
    return unseen + ridgeless_risk(p / n, r2 * p / d, sigma2 + unseen)


def min_norm_fit(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Minimum-norm least-squares coefficients: the interpolating fit of smallest norm when p > n."""
    return torch.linalg.lstsq(x, y.unsqueeze(1), driver="gelsd").solution.squeeze(1)


def used_features(cfg) -> int:
    """p = ⌈η·d⌉, the teacher's trainable share of the d features (as in the linear family)."""
    return max(1, math.ceil(cfg.teacher.trainable_fraction * cfg.data.dim))


def ridgeless_references(cfg, data, roles: dict) -> Findings:
    """Fit min-norm least squares on the first p features to the real targets; its risk and the theory's."""
    p, d, n = used_features(cfg), cfg.data.dim, cfg.data.n_train
    x = data.x_train[:, :p].to(torch.float64).cpu()
    target = torch.from_numpy(data.info["target_train"])
    fitted = min_norm_fit(x, target)
    beta = np.asarray(data.info["beta"])
    padded = np.zeros(d)
    padded[:p] = fitted.numpy()
    risk = float(((padded - beta) ** 2).sum())  # E over fresh x of (x·β̂ − x·β)², exact for isotropic x
    theory = misspecified_ridgeless_risk(p, d, n, cfg.data.signal**2, cfg.data.target_noise**2)
    train_mse = float(((x @ fitted - target) ** 2).mean())
    return Findings(
        attrs={"gamma": p / n, "theory_risk": theory, "ridgeless_risk": risk},
        references={"ridgeless": {"train_loss": train_mse, "excess_risk": risk}, "theory": {"excess_risk": theory}},
    )


register_diagnostic(
    "ridgeless",
    lambda cfg: cfg.data.dataset == "linear_regression",
    "min-norm least squares on the real targets (role 'ridgeless', metric excess_risk) and its "
    "asymptotic risk (role 'theory')",
    after=ridgeless_references,
)


def bayes_bounds(cfg, data, roles: dict) -> Findings:
    """Bayes-optimal errors at this α for a dense teacher and an η-sparse student (α → α/η, Δ → Δ/η)."""
    rho, delta, eta = cfg.data.rho, cfg.data.delta, cfg.student.trainable_fraction
    alpha = cfg.data.n_train / cfg.data.dim
    teacher = bayes_optimal_error(rho, delta, alpha)
    student = bayes_optimal_error(rho, delta / eta, alpha / eta)
    return Findings(
        attrs={"alpha": alpha, "bayes_teacher": teacher, "bayes_student": student},
        references={"bayes_teacher": {"test_error": teacher}, "bayes_student": {"test_error": student}},
    )


register_diagnostic(
    "bayes_bounds",
    lambda cfg: cfg.data.dataset == "gaussian_mixture",
    "Bayes-optimal test error at α = n_train/dim for the teacher and the η-sparse student",
    after=bayes_bounds,
)


def logistic_model_has_theory(spec) -> bool:
    """Whether one role's model has a replica curve: an L2-regularized (λ > 0) `linear` logistic model.

    Ridgeless fits (λ = 0) are left out: below separability their norm diverges and the fixed point
    the solver follows along α does not exist.
    """
    return spec.model == "linear" and spec.ridge > 0


def logistic_theory_applies(cfg) -> bool:
    """Replica curves hold on the noiseless mixture with cross-entropy, for the teacher or the student
    model (or both) that `logistic_model_has_theory`: each role's curve depends only on its own λ."""
    return (
        cfg.data.dataset == "gaussian_mixture"
        and cfg.train.loss == "cross_entropy"
        and cfg.data.noise == 0
        and (logistic_model_has_theory(cfg.teacher) or logistic_model_has_theory(cfg.student))
    )


def logistic_theory(cfg, data, roles: dict) -> Findings:
    """Replica test errors of the teacher and the baseline at this α; α-thresholds as n_train values.

    The markers: n = ηd (α_I, where the η-student can interpolate) and n = α_S·d for the student's
    and the teacher's separability thresholds (`replica.separability_threshold`).
    """
    rho, delta, dim = cfg.data.rho, cfg.data.delta, cfg.data.dim
    alpha = cfg.data.n_train / dim
    teacher, student = cfg.teacher, cfg.student

    def error(spec) -> float:
        try:
            return logistic_error(alpha, rho, delta, spec.ridge, spec.trainable_fraction)
        except RuntimeError as exc:  # no fixed point found: no curve drawn for this point, the run goes on
            log.warning("no replica theory value for this point: %s", exc)
            return math.nan

    attrs, references = {}, {}
    if student.model == "linear":
        attrs["n_alpha_I"] = student.trainable_fraction * dim
        attrs["n_alpha_S"] = separability_threshold(rho, delta, student.trainable_fraction) * dim
    if teacher.model == "linear":
        attrs["n_alpha_S_teacher"] = separability_threshold(rho, delta, teacher.trainable_fraction) * dim
    if logistic_model_has_theory(teacher):
        references["theory_teacher"] = {"test_error": error(teacher)}
    if logistic_model_has_theory(student):
        references["theory_baseline"] = {"test_error": error(student)}
    return Findings(attrs=attrs, references=references)


register_diagnostic(
    "logistic_theory",
    logistic_theory_applies,
    "replica test error of L2 logistic regression (Mignacco et al. 2020) for the teacher and the baseline, "
    "and the α-thresholds α_I = η, α_S, α̃_S as n_train markers",
    after=logistic_theory,
)
