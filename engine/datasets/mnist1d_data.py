"""MNIST-1D from the mnist1d package's procedural generator, cached in memory and on disk."""

import functools
import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from engine.datasets.base import Splits, register_dataset
from engine.seeds import stream_seed

log = logging.getLogger(__name__)
N_CLASSES = 10


def cache_dir() -> Path:
    """Where generated splits are kept: $DDX_CACHE_DIR, else the user's cache folder."""
    if os.environ.get("DDX_CACHE_DIR"):
        return Path(os.environ["DDX_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ddx"


def generate(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Run the mnist1d generator for at least n examples; it restores numpy's global RNG afterwards."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = -(-n // N_CLASSES) * N_CLASSES  # the generator makes num_samples // 10 per class
    args.train_split = 1.0
    args.seed = seed
    state = np.random.get_state()  # make_dataset reseeds numpy's global generator
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(state)
    return made["x"][:n].astype(np.float32), made["y"][:n].astype(np.int64)


@functools.lru_cache(maxsize=16)
def cached_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One split of n examples, generated once per (n, seed) and kept on disk for later runs."""
    if n == 0:
        return np.zeros((0, 40), np.float32), np.zeros(0, np.int64)
    key = hashlib.sha1(f"mnist1d-v2-{n}-{seed}".encode()).hexdigest()[:16]
    path = cache_dir() / f"mnist1d-{key}.npz"
    try:
        with np.load(path) as stored:
            return stored["x"], stored["y"]
    except (OSError, KeyError, ValueError):
        pass
    x, y = generate(n, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home only costs regeneration time
        log.warning("could not cache mnist1d split at %s: %s", path, exc)
    return x, y


@register_dataset("mnist1d", (), "MNIST-1D: 10 classes, 40-dim, procedurally generated")
def make_mnist1d(cfg, seed: int) -> Splits:
    """Ten-class, 40-dimensional MNIST-1D; train, test and pool are independent generator runs."""
    x_train, y_train = cached_split(cfg.n_train, split_seed(seed, "train"))
    x_test, y_test = cached_split(cfg.n_test, split_seed(seed, "test"))
    x_pool, _ = cached_split(cfg.n_unlabeled, split_seed(seed, "pool"))
    x_val, y_val = cached_split(cfg.n_val, split_seed(seed, "val"))
    return Splits(x_train, y_train, x_test, y_test, x_pool, x_val, y_val, N_CLASSES)


def split_seed(seed: int, split: str) -> int:
    """The generator seed of one split: its own stream, folded to the 32 bits numpy's legacy seeding takes."""
    return stream_seed(seed, f"mnist1d/{split}", bits=32)
