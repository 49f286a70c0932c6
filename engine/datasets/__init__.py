"""Datasets, each registered by name; `build_dataset` adds label noise to a generator's clean splits."""

from engine.datasets import file, gaussian_mixture, linear_regression, mnist1d_data, toy2d  # noqa: F401  (registration)
from engine.datasets.base import DATASETS, Dataset, Splits, split_rng
from engine.datasets.noise import NOISE_KINDS, corrupt_labels, transition_matrix

__all__ = ["DATASETS", "NOISE_KINDS", "Dataset", "Splits", "build_dataset"]


def build_dataset(cfg, seed: int) -> Dataset:
    """Generate or load the data section `cfg` with data seed `seed` and corrupt its training labels."""
    splits: Splits = DATASETS[cfg.dataset].make(cfg, seed)
    noisy = corrupt_labels(splits.y_train, splits.n_classes, cfg.noise, cfg.noise_kind, split_rng(seed, "noise"))
    return Dataset(
        name=cfg.dataset,
        x_train=splits.x_train,
        y_train=noisy,
        y_train_clean=splits.y_train,
        x_test=splits.x_test,
        y_test=splits.y_test,
        x_pool=splits.x_pool,
        n_classes=splits.n_classes,
        transition=transition_matrix(splits.n_classes, cfg.noise, cfg.noise_kind),
        bayes_error=splits.bayes_error,
        info=splits.info,
    )
