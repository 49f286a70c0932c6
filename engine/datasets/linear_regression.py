"""Noisy linear regression with isotropic Gaussian inputs (Hastie, Montanari, Rosset & Tibshirani).

DDX is a classification framework, so the class label of an example is the sign of its target
(class 1 when y > 0); the real-valued targets ride along in `info` for the ridgeless-regression
diagnostic, which fits them and compares its risk with the closed form.
"""

import numpy as np

from engine.datasets.base import Splits, register_dataset, split_rng


def sample_regression(n: int, beta: np.ndarray, sigma: float, rng: np.random.Generator):
    """Draw n examples x ~ N(0, I_d) with targets y = x·β + σε."""
    x = rng.standard_normal((n, len(beta)))
    return x.astype(np.float32), x @ beta + sigma * rng.standard_normal(n)


@register_dataset(
    "linear_regression",
    ("dim", "signal", "target_noise"),
    "y = x·β + σε with x ~ N(0, I_d), ‖β‖ = r; class = sign of y (Hastie et al.)",
)
def make_linear_regression(cfg, seed: int) -> Splits:
    """Isotropic Gaussian inputs in `cfg.dim` dimensions, ‖β‖ = `cfg.signal`, noise std `cfg.target_noise`."""
    direction = split_rng(seed, "beta").standard_normal(cfg.dim)
    beta = cfg.signal * direction / np.linalg.norm(direction)
    draws = {
        split: sample_regression(n, beta, cfg.target_noise, split_rng(seed, split))
        for split, n in (("train", cfg.n_train), ("test", cfg.n_test), ("pool", cfg.n_unlabeled), ("val", cfg.n_val))
    }

    def labels(split):
        return (draws[split][1] > 0).astype(np.int64)

    return Splits(
        x_train=draws["train"][0],
        y_train=labels("train"),
        x_test=draws["test"][0],
        y_test=labels("test"),
        x_pool=draws["pool"][0],
        x_val=draws["val"][0],
        y_val=labels("val"),
        n_classes=2,
        info={"target_train": draws["train"][1], "target_test": draws["test"][1], "beta": beta},
    )
