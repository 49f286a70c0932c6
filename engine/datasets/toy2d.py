"""Two-dimensional datasets (moons, spirals) for decision-region views."""

import numpy as np

from engine.datasets.base import Splits, drawn_splits, register_dataset


def sample_moons(n: int, input_noise: float, rng: np.random.Generator):
    """Two interleaving half circles, centred and scaled to unit spread."""
    y = rng.integers(0, 2, size=n)
    angle = rng.uniform(0, np.pi, size=n)
    x = np.where(
        y[:, None] == 0,
        np.stack([np.cos(angle), np.sin(angle)], 1),
        np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], 1),
    )
    x = x - np.array([0.5, 0.25]) + input_noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def sample_spirals(n: int, n_classes: int, input_noise: float, rng: np.random.Generator):
    """`n_classes` interleaved spiral arms, radius growing from 0 to 1."""
    y = rng.integers(0, n_classes, size=n)
    r = rng.uniform(0.05, 1.0, size=n)
    angle = 2 * np.pi * (1.5 * r + y / n_classes)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1)
    x = x + input_noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


@register_dataset("moons", ("input_noise",), "two interleaving half circles in 2-D")
def make_moons(cfg, seed: int) -> Splits:
    """Two moons with Gaussian input noise of std `cfg.input_noise`."""
    return drawn_splits(cfg, seed, lambda n, rng: sample_moons(n, cfg.input_noise, rng), 2)


@register_dataset("spirals", ("input_noise", "n_classes"), "spiral arms in 2-D, one class per arm")
def make_spirals(cfg, seed: int) -> Splits:
    """`cfg.n_classes` spiral arms with Gaussian input noise of std `cfg.input_noise`."""
    return drawn_splits(cfg, seed, lambda n, rng: sample_spirals(n, cfg.n_classes, cfg.input_noise, rng), cfg.n_classes)
