"""Gaussian clusters in a low-dimensional subspace: a task small MLPs learn well and label noise visibly hurts.

Each of C classes owns k Gaussian blobs whose centres are drawn in the first `informative_dim`
coordinates; the remaining coordinates are nuisance noise. A network that memorizes flipped labels
carves small wrong regions around them, so a teacher's test error shows the interpolation peak, and
a student taught on a large pool learns the clean blobs. The centres are part of the task and are
drawn from the data seed, so every seed is a new task.
"""

import numpy as np

from engine.datasets.base import Splits, drawn_splits, register_dataset, split_rng


def cluster_centres(cfg, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Centres (C·k, informative_dim) with standard deviation `cluster_spread`, and each one's class."""
    count = cfg.n_classes * cfg.clusters_per_class
    centres = cfg.cluster_spread * rng.standard_normal((count, cfg.informative_dim))
    return centres, np.repeat(np.arange(cfg.n_classes), cfg.clusters_per_class)


def sample_clusters(n: int, cfg, centres: np.ndarray, owner: np.ndarray, rng: np.random.Generator):
    """n examples: a uniformly chosen blob plus `input_noise` jitter, then `nuisance_std` noise dimensions."""
    blob = rng.integers(0, len(centres), size=n)
    informative = centres[blob] + cfg.input_noise * rng.standard_normal((n, centres.shape[1]))
    nuisance = cfg.nuisance_std * rng.standard_normal((n, max(cfg.dim - centres.shape[1], 0)))
    x = np.concatenate([informative, nuisance], 1)[:, : cfg.dim]
    return x.astype(np.float32), owner[blob].astype(np.int64)


@register_dataset(
    "clusters",
    ("dim", "n_classes", "clusters_per_class", "informative_dim", "cluster_spread", "input_noise", "nuisance_std"),
    "C classes of Gaussian blobs in a low-dimensional subspace, plus nuisance dimensions",
)
def make_clusters(cfg, seed: int) -> Splits:
    """Blobs of `cfg.n_classes` classes in `cfg.dim` dimensions, `cfg.informative_dim` of them informative."""
    centres, owner = cluster_centres(cfg, split_rng(seed, "cluster-centres"))
    return drawn_splits(cfg, seed, lambda n, rng: sample_clusters(n, cfg, centres, owner, rng), cfg.n_classes)
