"""The run file's journal: finished points appended one record at a time, each checksummed and synced.

`<run>.h5.journal` holds the points reported finished since the run file was last rewritten. A
record is a frame — magic, header length, payload length, CRC-32 of header and payload — then a
JSON header (index, seed, swept values, attributes, divergence, each curve's and array's dtype and
shape) and the arrays' raw bytes. Appending costs the same at the first point and the ten
thousandth; a kill mid-append leaves a torn last frame, which readers skip (its point was not yet
reported finished).
"""

import json
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from engine.records import PointRecord

MAGIC = b"DDXJ"
FRAME = struct.Struct("<4sIQI")  # magic, header bytes, payload bytes, crc32


def journal_path(run_path: Path) -> Path:
    return run_path.with_name(run_path.name + ".journal")


def encode(point: PointRecord, in_progress: bool = False) -> bytes:
    """One point as a journal frame; `in_progress`: its curves so far, superseded by later records."""
    blobs, layout = [], {"curves": {}, "arrays": {}}
    for role, curves in point.curves.items():
        layout["curves"][role] = {}
        for metric, values in curves.items():
            array = np.ascontiguousarray(values)
            layout["curves"][role][metric] = [array.dtype.str, list(array.shape)]
            blobs.append(array.tobytes())
    for name, values in point.arrays.items():
        array = np.ascontiguousarray(values)
        layout["arrays"][name] = [array.dtype.str, list(array.shape)]
        blobs.append(array.tobytes())
    header = {
        "index": point.index,
        "seed": point.seed,
        "values": point.values,
        "attrs": {k: v.item() if hasattr(v, "item") else v for k, v in point.attrs.items()},
        "diverged": point.diverged,
        "in_progress": in_progress,
        **layout,
    }
    head, payload = json.dumps(header).encode(), b"".join(blobs)
    return FRAME.pack(MAGIC, len(head), len(payload), zlib.crc32(head + payload)) + head + payload


def decode(head: bytes, payload: bytes) -> tuple[PointRecord, bool]:
    """The point of a frame, and whether it is still in progress."""
    header = json.loads(head)
    offset = 0

    def take(dtype: str, shape: list[int]) -> np.ndarray:
        nonlocal offset
        array = np.frombuffer(payload, dtype=np.dtype(dtype), count=math.prod(shape), offset=offset)
        offset += array.nbytes
        return array.reshape(shape)

    curves = {
        role: {metric: take(*spec) for metric, spec in metrics.items()} for role, metrics in header["curves"].items()
    }
    arrays = {name: take(*spec) for name, spec in header["arrays"].items()}
    diverged = {role: int(epoch) for role, epoch in header["diverged"].items()}
    point = PointRecord(header["index"], header["seed"], header["values"], curves, arrays, header["attrs"], diverged)
    return point, bool(header.get("in_progress", False))


def frames(data: bytes):
    """(start, header end, end) of every whole frame with a valid checksum, up to the first that is not."""
    at = 0
    while at + FRAME.size <= len(data):
        magic, head_size, payload_size, crc = FRAME.unpack_from(data, at)
        start, end = at + FRAME.size, at + FRAME.size + head_size + payload_size
        if magic != MAGIC or end > len(data) or zlib.crc32(data[start:end]) != crc:
            return
        yield start, start + head_size, end
        at = end


def finished_indices(path: Path) -> set[int]:
    """The indices of the finished points a journal holds, from the records' headers alone (cheap for run
    browsers)."""
    try:
        data = path.read_bytes()
    except OSError:
        return set()
    found = set()
    for start, middle, _ in frames(data):
        try:
            header = json.loads(data[start:middle])
            if not header.get("in_progress"):
                found.add(int(header["index"]))
        except (
            ValueError,
            AttributeError,
            KeyError,
            TypeError,
        ):  # as read_journal, stop at the first that does not decode
            break
    return found


def read_journal(path: Path) -> tuple[list[PointRecord], list[PointRecord]]:
    """Every whole, intact record of a journal, in order; reading stops at the first torn or damaged frame."""
    """The finished points of a journal's whole, intact records (reading stops at the first torn or damaged
    one), and the latest record of each point still in progress."""
    try:
        data = path.read_bytes()
    except OSError:
        return [], []
    finished, in_progress = [], {}
    for start, middle, end in frames(data):
        try:
            point, partial = decode(data[start:middle], data[middle:end])
        except (ValueError, KeyError, TypeError):
            break
        if partial:
            in_progress[point.index] = point
        else:
            finished.append(point)
    done = {p.index for p in finished}
    return finished, [p for i, p in sorted(in_progress.items()) if i not in done]


class Journal:
    """The append side: opened once per writer, every append written and synced before it returns."""

    def __init__(self, run_path: Path):
        self.path = journal_path(run_path)
        self.handle = None

    def append(self, points: list[PointRecord], in_progress: bool = False) -> None:
        if self.handle is None:
            self.handle = open(self.path, "ab")
        self.handle.write(b"".join(encode(p, in_progress) for p in points))
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def clear(self) -> None:
        """Forget every record (they are in the run file now)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
