"""Label noise on training labels: symmetric and pair-flip, with their exact transition matrices."""

import numpy as np

NOISE_KINDS = ("symmetric", "pairflip")


def pair_target(n_classes: int) -> np.ndarray:
    """The fixed permutation π of pair-flip noise: class c becomes c + 1 (mod C)."""
    return (np.arange(n_classes) + 1) % n_classes


def transition_matrix(n_classes: int, rate: float, kind: str) -> np.ndarray:
    """Noise transition matrix T (row = true class, column = given label); rows sum to 1."""
    t = np.eye(n_classes) * (1.0 - rate)
    if kind == "symmetric":
        t += (1.0 - np.eye(n_classes)) * rate / (n_classes - 1)
    elif kind == "pairflip":
        t[np.arange(n_classes), pair_target(n_classes)] += rate
    else:
        raise ValueError(f"unknown noise kind {kind!r}; allowed: {', '.join(NOISE_KINDS)}")
    return t


def corrupt_labels(labels: np.ndarray, n_classes: int, rate: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Return a noisy copy of `labels`: each label is corrupted with probability `rate`.

    Symmetric noise replaces it by a different class drawn uniformly; pair-flip sends class c to π(c).
    """
    flip = rng.random(len(labels)) < rate
    if kind == "symmetric":
        shift = rng.integers(1, n_classes, size=len(labels))
        replaced = (labels + shift) % n_classes
    elif kind == "pairflip":
        replaced = pair_target(n_classes)[labels]
    else:
        raise ValueError(f"unknown noise kind {kind!r}; allowed: {', '.join(NOISE_KINDS)}")
    return np.where(flip, replaced, labels).astype(np.int64)
