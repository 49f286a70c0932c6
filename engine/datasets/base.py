"""The dataset contract: clean splits from a generator, then label noise on the training labels only."""

from dataclasses import dataclass, field

import numpy as np

from engine.registry import Registry
from engine.seeds import stream_rng

DATASETS: Registry = Registry("dataset")


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its maker and which `data.*` knobs beyond the common ones it reads."""

    make: object
    fields: tuple[str, ...]
    description: str


def register_dataset(name: str, fields: tuple[str, ...], description: str):
    """Decorator registering `make(cfg, seed) -> Splits` as dataset `name`."""

    def decorate(make):
        DATASETS.register(name)(DatasetInfo(make, fields, description))
        return make

    return decorate


@dataclass(frozen=True)
class Splits:
    """Clean data as a generator or file yields it, before any label noise.

    Generated datasets draw the validation split from its own stream, so S, the pool and the test
    set do not change with its size. Inputs are float32 arrays of shape (n, dim); labels are int64 class indices.
    A dataset with fixed noisy labels (data.noise_file) gives them as y_train_given and y_val_given,
    with the transition matrix measured from them; otherwise noise is drawn afterwards.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_pool: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int
    bayes_error: float | None = None
    info: dict = field(default_factory=dict)
    y_train_given: np.ndarray | None = None
    y_val_given: np.ndarray | None = None
    transition: np.ndarray | None = None


@dataclass(frozen=True)
class Dataset:
    """Everything one experiment point trains and evaluates on.

    Attributes
    ----------
    y_train : noisy training labels (what the teacher and baseline see)
    y_train_clean : the same examples' clean labels (to measure memorization)
    x_val, y_val : the validation split and its labels, corrupted by the same noise process as
        y_train (a practitioner never has clean validation labels); best epochs are chosen on it
    y_val_clean : the validation split's clean labels
    transition : noise transition matrix T, row = true class, column = given label
    bayes_error : Bayes-optimal test error where known in closed form, else None
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    y_train_clean: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_pool: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    y_val_clean: np.ndarray
    n_classes: int
    transition: np.ndarray
    bayes_error: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def noisy_mask(self) -> np.ndarray:
        return self.y_train != self.y_train_clean


def drawn_splits(cfg, seed: int, sample, n_classes: int, **extra) -> Splits:
    """Splits whose train, test, pool and validation inputs are `sample(n, rng)` draws, each split its own stream.

    `sample` returns (float32 inputs, int64 labels); `extra` fills Splits' optional fields.
    """
    sizes = {"train": cfg.n_train, "test": cfg.n_test, "pool": cfg.n_unlabeled, "val": cfg.n_val}
    draws = {split: sample(n, split_rng(seed, split)) for split, n in sizes.items()}
    return Splits(*draws["train"], *draws["test"], draws["pool"][0], *draws["val"], n_classes=n_classes, **extra)


def split_rng(seed: int, split: str) -> np.random.Generator:
    """An independent random stream per split, so growing the pool leaves train and test unchanged."""
    return stream_rng(seed, f"data/{split}")
