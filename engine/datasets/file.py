"""A user's own data from an .npz or .h5 file holding X, y and optionally X_unlabeled, X_test, y_test."""

from pathlib import Path

import numpy as np

from engine.datasets.base import Splits, register_dataset, split_rng
from engine.errors import DataFileError

KEYS = ("X", "y", "X_unlabeled", "X_test", "y_test")


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read the known keys from an .npz or HDF5 file into numpy arrays."""
    if path.is_dir():
        raise DataFileError(f"data.path {path} is a folder; name an .npz or .h5 file with X and y")
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                return {k: np.asarray(stored[k]) for k in KEYS if k in stored.files}
        if path.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as stored:
                return {k: np.asarray(stored[k]) for k in KEYS if k in stored}
    except Exception as exc:  # any reader failure means a broken file, reported as such
        raise DataFileError(f"data file {path} could not be read: {exc}") from None
    raise DataFileError(f"data file {path} must end in .npz, .h5 or .hdf5")


def check_inputs(name: str, x: np.ndarray, path: Path, dim: int | None = None) -> np.ndarray:
    if x.ndim < 2 or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataFileError(
            f"{path}: {name} must be a real numeric array of shape (n, features), got {x.dtype} {x.shape}"
        )
    x = x.reshape(len(x), -1)
    if dim is not None and x.shape[1] != dim:
        raise DataFileError(f"{path}: {name} has {x.shape[1]} features per example, X has {dim}")
    if not np.isfinite(x).all():
        raise DataFileError(f"{path}: {name} contains NaN or infinite values")
    return x.astype(np.float32)


def check_labels(name: str, y: np.ndarray, n: int, path: Path, n_classes: int | None = None) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataFileError(f"{path}: {name} must be a 1-D array with one label per example ({n}), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))):
        raise DataFileError(f"{path}: {name} must hold integer class labels, got {y.dtype}")
    y = y.astype(np.int64)
    upper = n_classes if n_classes is not None else None
    if y.min(initial=0) < 0 or (upper is not None and y.max(initial=0) >= upper):
        allowed = f"0..{upper - 1}" if upper else "0 or more"
        raise DataFileError(f"{path}: {name} has labels outside the allowed range {allowed}")
    return y


@register_dataset("file", ("path",), "your own .npz or .h5 file with X and y")
def load_file(cfg, seed: int) -> Splits:
    """Split the file's examples into test (unless X_test is given), pool (unless X_unlabeled), train, validation.

    The validation split is carved from the labeled examples after S, so S does not change with
    data.n_val; its labels are the file's labels passed through the configured noise, like S's.
    """
    path = Path(cfg.path).expanduser()
    if not cfg.path:
        raise DataFileError("data.dataset = 'file' needs data.path: an .npz or .h5 file with X and y")
    arrays = read_arrays(path)
    for key in ("X", "y"):
        if key not in arrays:
            raise DataFileError(
                f"{path}: missing array {key!r}; a data file holds X and y (optional: X_unlabeled, X_test, y_test)"
            )
    x = check_inputs("X", arrays["X"], path)
    y = check_labels("y", arrays["y"], len(x), path)
    n_classes = int(y.max()) + 1
    if len(np.unique(y)) < 2:
        raise DataFileError(f"{path}: y holds a single class; at least 2 classes are needed")
    order = split_rng(seed, "file").permutation(len(x))
    taken = 0

    def take(n: int) -> np.ndarray:
        nonlocal taken
        picked = order[taken : taken + n]
        taken += n
        return picked

    if "X_test" in arrays:
        if "y_test" not in arrays:
            raise DataFileError(f"{path}: X_test is given without y_test")
        x_test = check_inputs("X_test", arrays["X_test"], path, x.shape[1])
        y_test = check_labels("y_test", arrays["y_test"], len(x_test), path, n_classes)[: cfg.n_test]
        x_test = x_test[: cfg.n_test]
    else:
        held = take(cfg.n_test)
        x_test, y_test = x[held], y[held]
    if "X_unlabeled" in arrays:
        x_pool = check_inputs("X_unlabeled", arrays["X_unlabeled"], path, x.shape[1])[: cfg.n_unlabeled]
    else:
        x_pool = x[take(cfg.n_unlabeled)]
    train, val = take(cfg.n_train), take(cfg.n_val)
    if len(train) < cfg.n_train or len(val) < cfg.n_val or len(x_pool) < cfg.n_unlabeled or len(x_test) < cfg.n_test:
        raise DataFileError(
            f"{path}: holds {len(x)} labeled examples, too few for n_train={cfg.n_train}, n_val={cfg.n_val}, "
            f"n_test={cfg.n_test}, n_unlabeled={cfg.n_unlabeled}; lower them or add X_test / X_unlabeled"
        )
    return Splits(x[train], y[train], x_test, y_test, x_pool, x[val], y[val], n_classes, info={"path": str(path)})
