"""Readers for the on-disk layouts torchvision leaves behind (CIFAR pickles, MNIST IDX), with numpy alone.

Nothing here downloads: a missing or incomplete folder raises one DataFileError naming the
expected path and files. CIFAR batches are pickles, so they are read with an unpickler that
admits only numpy's array-rebuilding functions; anything else in the file is refused.
"""

import gzip
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import DataFileError

# The globals a pickled numpy array needs (numpy 1 wrote numpy.core, numpy 2 writes numpy._core),
SAFE_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
SAFE_GLOBALS.add(("_codecs", "encode"))  # how a protocol-2 pickle written by Python 3 stores bytes


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays, dicts, lists, strings and numbers, and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


@dataclass(frozen=True)
class ImageSet:
    """All images of one dataset as stored: uint8 (n, C, H, W) inputs and int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class Layout:
    """Where torchvision keeps a dataset under the data root, its files, shape and normalization."""

    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    shape: tuple[int, int, int]
    n_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    reader: str

    def files(self, root: Path) -> list[Path]:
        return [root / self.folder / name for name in (*self.train, *self.test)]


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
MNIST_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
LAYOUTS = {
    "cifar10": Layout(
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)),
        ("test_batch",),
        (3, 32, 32),
        10,
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        "cifar",
    ),
    "cifar100": Layout(
        "cifar-100-python",
        ("train",),
        ("test",),
        (3, 32, 32),
        100,
        (0.5071, 0.4865, 0.4409),
        (0.2673, 0.2564, 0.2762),
        "cifar",
    ),
    "mnist": Layout("MNIST/raw", MNIST_FILES, MNIST_TEST, (1, 28, 28), 10, (0.1307,), (0.3081,), "idx"),
    "fashion_mnist": Layout("FashionMNIST/raw", MNIST_FILES, MNIST_TEST, (1, 28, 28), 10, (0.2860,), (0.3530,), "idx"),
}


def data_root(configured: str) -> Path:
    """The folder holding the datasets: data.root, else $DDX_DATA_ROOT, else ~/data."""
    return Path(configured or os.environ.get("DDX_DATA_ROOT") or "~/data").expanduser()


def data_file(path: str, configured_root: str) -> Path:
    """data.pool_file or data.noise_file: an absolute (or ~) path as given, a relative one under the data root,
    so a preset can name `cifar5m/part0.npz` wherever the user keeps their data."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else data_root(configured_root) / given


def present(path: Path) -> Path | None:
    """`path` itself or its gzipped twin, whichever exists (IDX files come either way)."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def missing_message(name: str, layout: Layout, root: Path, missing: list[Path]) -> str:
    gz = " (each may be gzipped, name + '.gz')" if layout.reader == "idx" else ""
    return (
        f"data.dataset = '{name}' reads {root / layout.folder} (the torchvision layout), "
        f"which must hold {', '.join(layout.train + layout.test)}{gz}; missing: {', '.join(p.name for p in missing)}. "
        "Set data.root or $DDX_DATA_ROOT to the folder that holds "
        f"{layout.folder.split('/')[0]}/ (DDX never downloads data)"
    )


def read_images(name: str, root: Path) -> ImageSet:
    """Read every training and test image of dataset `name` from its torchvision folder under `root`."""
    layout = LAYOUTS[name]
    paths = layout.files(root)
    missing = [p for p in paths if present(p) is None]
    if missing:
        raise DataFileError(missing_message(name, layout, root, missing))
    found = [present(p) for p in paths]
    split = len(layout.train)
    read = read_cifar if layout.reader == "cifar" else read_idx_pair
    x_train, y_train = read(found[:split], layout)
    x_test, y_test = read(found[split:], layout)
    return ImageSet(x_train, y_train, x_test, y_test)


def read_cifar(paths: list[Path], layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate CIFAR batches: b'data' (n, 3072) uint8 and b'labels' (CIFAR-10) or b'fine_labels' (CIFAR-100)."""
    xs, ys = [], []
    for path in paths:
        try:
            with path.open("rb") as handle:
                batch = ArrayUnpickler(handle, encoding="bytes").load()
            labels = batch.get(b"labels", batch.get(b"fine_labels"))
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, *layout.shape))
            ys.append(np.asarray(labels, dtype=np.int64))
        except (pickle.UnpicklingError, KeyError, AttributeError, TypeError, ValueError, EOFError) as exc:
            raise DataFileError(f"{path} is not a CIFAR batch (a pickled dict with data and labels): {exc}") from None
        if len(xs[-1]) != len(ys[-1]):
            raise DataFileError(f"{path} holds {len(xs[-1])} images but {len(ys[-1])} labels")
    return np.concatenate(xs), np.concatenate(ys)


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (unsigned bytes): magic 0x0000 08 ndim, then ndim big-endian int32 sizes, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise DataFileError(f"{path} could not be read: {exc}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise DataFileError(f"{path} is not an IDX file of unsigned bytes (magic 0x00000801 or 0x00000803)")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">i4", count=ndim, offset=4)
    body = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    shape = tuple(int(d) for d in dims)  # plain ints: the message must not show np.int32(…)
    if body.size != int(np.prod(shape)):
        raise DataFileError(f"{path}: header promises {shape} values, the file holds {body.size}")
    return body.reshape(shape)


def read_idx_pair(paths: list[Path], layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or images.shape[1:] != layout.shape[1:] or labels.shape != images.shape[:1]:
        raise DataFileError(
            f"{paths[0].parent}: expected images (n, {layout.shape[1]}, {layout.shape[2]}) and n labels, "
            f"got {images.shape} and {labels.shape}"
        )
    return images[:, None], labels.astype(np.int64)


def read_pool(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """A user pool: .npy (memory-mapped) or .npz (array X) of uint8 images (n, H, W, C), (n, C, H, W) or flat."""
    if not path.is_file():
        raise DataFileError(f"data.pool_file {path} does not exist; name an .npy file or an .npz file with array X")
    try:
        if path.suffix == ".npy":
            images = np.load(path, mmap_mode="r", allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                if "X" not in stored.files:
                    raise DataFileError(f"{path}: no array X (found {', '.join(stored.files)})")
                images = stored["X"]
        else:
            raise DataFileError(f"data.pool_file {path} must end in .npy or .npz")
    except (OSError, ValueError) as exc:
        raise DataFileError(f"data.pool_file {path} could not be read: {exc}") from None
    channels, height, width = shape
    allowed = {(height, width, channels): "hwc", shape: "chw", (channels * height * width,): "flat"}
    if images.dtype != np.uint8 or images.shape[1:] not in allowed:
        raise DataFileError(
            f"{path}: pool images must be uint8 of shape (n, {height}, {width}, {channels}), (n, {channels}, "
            f"{height}, {width}) or (n, {channels * height * width}); got {images.dtype} {images.shape}"
        )
    return images


def pool_as_chw(images: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Pool rows (already selected, so a memory map reads only them) as (n, C, H, W)."""
    if images.shape[1:] == (shape[1], shape[2], shape[0]):
        return np.ascontiguousarray(np.moveaxis(images, 3, 1))
    return np.asarray(images).reshape(len(images), *shape)


def read_label_file(path: Path) -> np.ndarray:
    """Labels from .npy, .npz (the only array, or y) or text (one integer per line)."""
    if not path.is_file():
        raise DataFileError(f"data.noise_file {path} does not exist; name an .npy, .npz or .txt file of labels")
    try:
        if path.suffix == ".npy":
            labels = np.load(path, allow_pickle=False)
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as stored:
                key = "y" if "y" in stored.files else stored.files[0] if len(stored.files) == 1 else None
                if key is None:
                    raise DataFileError(f"{path}: holds {', '.join(stored.files)}; name the labels y")
                labels = stored[key]
        else:
            labels = np.loadtxt(io.StringIO(path.read_text()), dtype=np.int64, ndmin=1)
    except (OSError, ValueError) as exc:
        raise DataFileError(f"data.noise_file {path} could not be read: {exc}") from None
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataFileError(f"{path}: noisy labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    return labels.astype(np.int64)
