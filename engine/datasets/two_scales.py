"""A binary Gaussian mixture whose features come at two scales, so gradient descent learns them at two speeds.

x = ((2y − 1)·μ + z) ⊙ s with z ~ N(0, I): the first d − k coordinates keep scale 1 (the fast block),
the last k are multiplied by `slow_scale` (the slow block). A share `slow_share` of ‖μ‖² = r² sits in
the slow block. Gradient descent on a linear model moves along a direction at a speed proportional
to its variance, so the fast block is fitted first and the slow one about 1/slow_scale² times later.
When the fast block is near its own interpolation threshold (d − k ≈ n) and the slow block carries
most of the signal, the fast block first learns its share, then fits the part of the labels it cannot
explain (the slow block's signal, acting as noise) and the test error rises; once the slow block is
learned that part is explained and the error falls again: epoch-wise double descent (Heckel & Yilmaz 2020).
"""

import numpy as np

from engine.datasets.base import Splits, drawn_splits, register_dataset, split_rng
from engine.datasets.gaussian_mixture import gaussian_tail


def two_scale_mean(cfg, rng: np.random.Generator) -> np.ndarray:
    """The class mean μ (before scaling): random directions in each block, ‖μ_slow‖² = share·r²."""
    slow = min(cfg.slow_dim, cfg.dim)
    blocks = []
    for size, share in ((cfg.dim - slow, 1.0 - cfg.slow_share), (slow, cfg.slow_share)):
        direction = rng.standard_normal(size)
        norm = np.linalg.norm(direction)
        blocks.append(direction * (cfg.signal * np.sqrt(share) / norm) if norm > 0 else direction)
    return np.concatenate(blocks)


def sample_two_scales(n: int, mean: np.ndarray, scale: np.ndarray, rng: np.random.Generator):
    """n balanced examples x = ((2y − 1)·μ + z) ⊙ scale."""
    y = rng.integers(0, 2, size=n)
    x = ((2 * y[:, None] - 1) * mean[None, :] + rng.standard_normal((n, len(mean)))) * scale[None, :]
    return x.astype(np.float32), y.astype(np.int64)


@register_dataset(
    "two_scales",
    ("dim", "signal", "slow_dim", "slow_scale", "slow_share"),
    "binary Gaussian mixture with a fast and a slow feature block (epoch-wise double descent)",
)
def make_two_scales(cfg, seed: int) -> Splits:
    """Mixture in `cfg.dim` dimensions, the last `cfg.slow_dim` scaled by `cfg.slow_scale`, ‖μ‖ = `cfg.signal`."""
    mean = two_scale_mean(cfg, split_rng(seed, "two-scale-mean"))
    scale = np.where(np.arange(cfg.dim) < cfg.dim - min(cfg.slow_dim, cfg.dim), 1.0, cfg.slow_scale)
    # scaling features changes no decision boundary: the Bayes rule thresholds (μ/σ²)·x, error H(‖μ‖)
    return drawn_splits(
        cfg,
        seed,
        lambda n, rng: sample_two_scales(n, mean, scale, rng),
        2,
        bayes_error=gaussian_tail(cfg.signal),
    )
