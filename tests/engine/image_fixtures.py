"""Tiny image datasets written in the exact on-disk formats torchvision leaves behind (CIFAR pickles, MNIST IDX)."""

import gzip
import io
import pickle
import struct
from pathlib import Path

import numpy as np


def class_images(rng: np.random.Generator, labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 images whose mean brightness pattern depends on the class, so a network can learn them."""
    patterns = np.random.default_rng(99).integers(40, 216, size=(labels.max() + 1, *shape))
    noisy = patterns[labels] + rng.normal(0, 30, size=(len(labels), *shape))
    return np.clip(noisy, 0, 255).astype(np.uint8)


class Python2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the real CIFAR batches (protocol 2): byte strings and ASCII
    strings as Python 2 `str` (SHORT_BINSTRING / BINSTRING, loaded as bytes with encoding='bytes'), numpy's
    functions under numpy 1's module names. Python 3's pickler would write bytes as `_codecs.encode` calls.
    (The pure-Python pickler is the one whose opcodes can be overridden.)"""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj: bytes) -> None:
        short = len(obj) < 256
        size = bytes([len(obj)]) if short else struct.pack("<i", len(obj))
        self.write((pickle.SHORT_BINSTRING if short else pickle.BINSTRING) + size + obj)
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("ascii"))

    def save_global(self, obj, name=None) -> None:
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__qualname__}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def pickled(batch: dict, python2: bool, protocol: int) -> bytes:
    """A batch as Python 2 wrote it (the real files), or as Python 3 writes it at `protocol`."""
    if not python2:
        return pickle.dumps(batch, protocol=protocol)
    out = io.BytesIO()
    Python2Pickler(out, protocol=2).dump(batch)
    return out.getvalue()


def write_cifar10(root: Path, per_batch: int = 40, n_test: int = 60, seed: int = 0, python2: bool = False) -> Path:
    """cifar-10-batches-py/ with data_batch_1..5 and test_batch: dicts with bytes keys, pickled by Python 3
    (protocol 2) or, with `python2`, as Python 2 wrote the real files."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, n in [*((f"data_batch_{i}", per_batch) for i in range(1, 6)), ("test_batch", n_test)]:
        labels = rng.integers(0, 10, size=n)
        batch = {
            b"batch_label": name.encode(),
            b"labels": labels.tolist(),
            b"data": class_images(rng, labels, (3, 32, 32)).reshape(n, -1),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)],
        }
        (folder / name).write_bytes(pickled(batch, python2, protocol=2))
    return folder


def write_cifar100(root: Path, n_train: int = 120, n_test: int = 40, seed: int = 0, python2: bool = False) -> Path:
    """cifar-100-python/ with train and test, pickled by Python 3 (protocol 4) or as Python 2 wrote them."""
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, n in (("train", n_train), ("test", n_test)):
        fine = rng.integers(0, 100, size=n)
        batch = {b"fine_labels": fine.tolist(), b"coarse_labels": (fine // 5).tolist()}
        batch[b"data"] = class_images(rng, fine, (3, 32, 32)).reshape(n, -1)
        (folder / name).write_bytes(pickled(batch, python2, protocol=4))
    return folder


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 ndim, big-endian int32 sizes, then the data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root: Path, folder: str = "MNIST", n_train: int = 200, n_test: int = 60, gz: bool = True) -> Path:
    """<folder>/raw/ with the four IDX files, gzipped (as downloaded) or not (as torchvision extracts them)."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n)
        for kind, array in (("images-idx3", class_images(rng, labels, (28, 28))), ("labels-idx1", labels)):
            data = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (raw / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (raw / name).write_bytes(data)
    return raw
