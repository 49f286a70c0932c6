"""Real image datasets (CIFAR-10/100, MNIST, Fashion-MNIST) read from the user's disk, normalized per channel.

S, the validation split and the pool are disjoint draws from the training images (in that order,
so S does not change with n_val or n_unlabeled); the test set is drawn from the test images.
Inputs are flattened (n, C·H·W) float32 with each channel standardized by the dataset's usual mean
and std; families that see images (resnet18, augmentation) recover the shape from the width.
"""

import functools
from pathlib import Path

import numpy as np

from engine.datasets.base import Splits, register_dataset, split_rng
from engine.datasets.image_files import (
    LAYOUTS,
    Layout,
    data_file,
    data_root,
    pool_as_chw,
    read_images,
    read_label_file,
    read_pool,
)
from engine.errors import DataFileError

FIELDS = ("root", "pool_file", "noise_file")


@functools.lru_cache(maxsize=2)
def cached_images(name: str, root: Path):
    """Every image of a dataset, read once per process (CIFAR-10 is 150 MB as uint8)."""
    return read_images(name, root)


def normalized(images: np.ndarray, layout: Layout) -> np.ndarray:
    """uint8 (n, C, H, W) → float32 (n, C·H·W), each channel standardized with the dataset's mean and std."""
    mean = np.asarray(layout.mean, np.float32)[:, None, None]
    std = np.asarray(layout.std, np.float32)[:, None, None]
    x = (images.astype(np.float32) / 255.0 - mean) / std
    return x.reshape(len(images), int(np.prod(layout.shape)))


def measured_transition(clean: np.ndarray, given: np.ndarray, n_classes: int) -> np.ndarray:
    """T[c, c'] = share of images of true class c whose given label is c' (rows of absent classes: identity)."""
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (clean, given), 1)
    totals = counts.sum(1, keepdims=True)
    return np.where(totals > 0, counts / np.maximum(totals, 1), np.eye(n_classes))


def file_labels(path: Path, clean: np.ndarray, n_classes: int) -> np.ndarray:
    """The noisy label of every training image, from data.noise_file, checked against the training set."""
    labels = read_label_file(path)
    if len(labels) != len(clean):
        raise DataFileError(
            f"data.noise_file {path} holds {len(labels)} labels; the training set has {len(clean)} images"
        )
    if labels.min() < 0 or labels.max() >= n_classes:
        raise DataFileError(f"data.noise_file {path} has labels outside 0..{n_classes - 1}")
    return labels


def user_pool(cfg, layout: Layout, seed: int) -> np.ndarray:
    """n_unlabeled images drawn without replacement from data.pool_file, read row by row from a memory map."""
    path = data_file(cfg.pool_file, cfg.root)
    images = read_pool(path, layout.shape)
    if len(images) < cfg.n_unlabeled:
        raise DataFileError(f"data.pool_file {path} holds {len(images)} images; n_unlabeled = {cfg.n_unlabeled}")
    rows = np.sort(split_rng(seed, "pool-file").choice(len(images), cfg.n_unlabeled, replace=False))
    return pool_as_chw(images[rows], layout.shape)


def image_splits(name: str, cfg, seed: int) -> Splits:
    """S, validation and pool from the training images, test from the test images, all normalized."""
    layout, root = LAYOUTS[name], data_root(cfg.root)
    images = cached_images(name, root)
    n_train = len(images.x_train)
    own_pool = 0 if cfg.pool_file else cfg.n_unlabeled
    if cfg.n_train + cfg.n_val + own_pool > n_train or cfg.n_test > len(images.x_test):
        raise DataFileError(
            f"{name} has {n_train} training and {len(images.x_test)} test images: too few for n_train={cfg.n_train} "
            f"+ n_val={cfg.n_val} + n_unlabeled={own_pool} training images and n_test={cfg.n_test}; "
            "lower them or give the pool as data.pool_file"
        )
    order = split_rng(seed, "images").permutation(n_train)
    train, val = order[: cfg.n_train], order[cfg.n_train : cfg.n_train + cfg.n_val]
    pool = (
        user_pool(cfg, layout, seed) if cfg.pool_file else images.x_train[order[cfg.n_train + cfg.n_val :][:own_pool]]
    )
    test = split_rng(seed, "test-images").permutation(len(images.x_test))[: cfg.n_test]
    noisy = {}
    if cfg.noise_file:
        given = file_labels(data_file(cfg.noise_file, cfg.root), images.y_train, layout.n_classes)
        transition = measured_transition(images.y_train, given, layout.n_classes)
        noisy = {"y_train_given": given[train], "y_val_given": given[val], "transition": transition}
    return Splits(
        normalized(images.x_train[train], layout),
        images.y_train[train],
        normalized(images.x_test[test], layout),
        images.y_test[test],
        normalized(pool, layout),
        normalized(images.x_train[val], layout),
        images.y_train[val],
        layout.n_classes,
        **noisy,
    )


def register(name: str, description: str) -> None:
    register_dataset(name, FIELDS, description)(lambda cfg, seed: image_splits(name, cfg, seed))


register("cifar10", "CIFAR-10 from <data.root>/cifar-10-batches-py (torchvision layout): 32×32 colour, 10 classes")
register("cifar100", "CIFAR-100 from <data.root>/cifar-100-python (torchvision layout): 32×32 colour, 100 classes")
register("mnist", "MNIST from <data.root>/MNIST/raw (IDX files, torchvision layout): 28×28 grey, 10 classes")
register("fashion_mnist", "Fashion-MNIST from <data.root>/FashionMNIST/raw (IDX files): 28×28 grey, 10 classes")
