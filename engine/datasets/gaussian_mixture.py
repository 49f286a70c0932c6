"""Binary Gaussian mixture of Saglietti & Zdeborová, with its closed-form generalization error."""

import math

import numpy as np

from engine.datasets.base import Splits, drawn_splits, register_dataset, split_rng


def gaussian_tail(x: float) -> float:
    """H(x) = P(N(0, 1) > x)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def linear_error(m: float, q: float, b: float, rho: float, delta: float) -> float:
    """Generalization error of a linear classifier with overlaps m = w·v/d, q = w·w/d and bias b."""
    scale = math.sqrt(delta * q)
    return rho * gaussian_tail((m + b) / scale) + (1 - rho) * gaussian_tail((m - b) / scale)


def bayes_optimal_error(rho: float, delta: float, alpha: float = math.inf) -> float:
    """Error of the Bayes-optimal (Hebbian) estimator at sample ratio α = n/d; α = ∞ gives the Bayes error."""
    q = 1.0 + (delta / alpha if math.isfinite(alpha) else 0.0)
    b = 0.5 * delta * q * math.log(rho / (1 - rho))
    return linear_error(1.0, q, b, rho, delta)


def sample_mixture(n: int, v: np.ndarray, rho: float, delta: float, rng: np.random.Generator):
    """Draw n examples x = (2y − 1) v/√d + √Δ z with y = 1 with probability ρ."""
    dim = len(v)
    y = (rng.random(n) < rho).astype(np.int64)
    z = rng.standard_normal((n, dim))
    x = (2 * y[:, None] - 1) * v[None, :] / math.sqrt(dim) + math.sqrt(delta) * z
    return x.astype(np.float32), y


def mean_direction(seed: int, dim: int) -> np.ndarray:
    """The mixture's mean direction v: random, scaled to ‖v‖² = d.

    ‖v‖²/d → 1 as d → ∞; fixing it makes the closed-form errors (which assume v·v/d = 1) exact at
    every finite d instead of off by a χ²-distributed factor (0.54 for one seed at d = 20).
    """
    v = split_rng(seed, "teacher-vector").standard_normal(dim)
    return v * (math.sqrt(dim) / np.linalg.norm(v))


@register_dataset("gaussian_mixture", ("dim", "rho", "delta"), "binary Gaussian mixture (Saglietti & Zdeborová)")
def make_gaussian_mixture(cfg, seed: int) -> Splits:
    """Binary mixture in `cfg.dim` dimensions with class-1 share `cfg.rho` and noise variance `cfg.delta`."""
    v = mean_direction(seed, cfg.dim)
    return drawn_splits(
        cfg,
        seed,
        lambda n, rng: sample_mixture(n, v, cfg.rho, cfg.delta, rng),
        2,
        bayes_error=bayes_optimal_error(cfg.rho, cfg.delta),
        info={"alpha": cfg.n_train / cfg.dim},
    )
