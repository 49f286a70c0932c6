"""Datasets, each registered by name; `build_dataset` adds label noise to a generator's clean splits."""

from engine.datasets import (  # noqa: F401  (registration)
    clusters,
    file,
    gaussian_mixture,
    images,
    linear_regression,
    mnist1d_data,
    toy2d,
    two_scales,
)
from engine.datasets.base import DATASETS, Dataset, Splits, split_rng
from engine.datasets.noise import NOISE_KINDS, corrupt_labels, transition_matrix

__all__ = ["DATASETS", "NOISE_KINDS", "Dataset", "Splits", "build_dataset"]


def build_dataset(cfg, seed: int) -> Dataset:
    """Generate or load the data section `cfg` with data seed `seed` and corrupt its training labels."""
    splits: Splits = DATASETS[cfg.dataset].make(cfg, seed)

    def noisy(labels, stream: str, given):
        if given is not None:  # fixed labels from a noise file
            return given
        return corrupt_labels(labels, splits.n_classes, cfg.noise, cfg.noise_kind, split_rng(seed, stream))

    transition = splits.transition
    if transition is None:
        transition = transition_matrix(splits.n_classes, cfg.noise, cfg.noise_kind)

    return Dataset(
        name=cfg.dataset,
        x_train=splits.x_train,
        y_train=noisy(splits.y_train, "noise", splits.y_train_given),
        y_train_clean=splits.y_train,
        x_test=splits.x_test,
        y_test=splits.y_test,
        x_pool=splits.x_pool,
        x_val=splits.x_val,
        y_val=noisy(splits.y_val, "val-noise", splits.y_val_given),
        y_val_clean=splits.y_val,
        n_classes=splits.n_classes,
        transition=transition,
        bayes_error=splits.bayes_error,
        info=splits.info,
    )
