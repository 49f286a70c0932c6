"""The run file's columnar point table (format 5): one row per point in resizable, chunked datasets.

    /points/index, /points/seed                (N,)    int64
    /points/values/<axis>                      (N,)    float64   swept values (UTF-8 strings on a choice axis)
    /points/scalars/<name>                     (N,)    float64   per-point attributes (elapsed_s, …), NaN where absent
    /points/roles/<role>/epochs                (N,)    int32     epochs recorded (0: the point has no such role)
    /points/roles/<role>/diverged_epoch        (N,)    int32     0: did not diverge
    /points/roles/<role>/<metric>              (N, E)  float64   one value per epoch, NaN after the role's last
    /points/arrays/<name>                      (N, …)  per-point arrays stacked where shapes agree
    /points/arrays_present/<name>              (N,)    bool
    /points/ragged/<index>/<name>              arrays whose shape differs from the stacked one

Appending rows resizes datasets and writes only the new rows, so it costs the same at any size.
"""

import functools
import math

import h5py
import numpy as np

from engine.records import TEXT, PointRecord
from engine.roles import role_kind

CHUNK_BYTES = 1 << 16  # chunks of about 64 KiB: an append rewrites at most one chunk per column
READ_BYTES = 1 << 19  # a reader takes about this much per h5py call (it holds the GIL meanwhile)
MAX_CHUNK_ROWS = 256


def chunk_rows(tail: tuple, dtype) -> int:
    row_bytes = np.dtype(dtype).itemsize * int(np.prod(tail, dtype=np.int64))
    return int(np.clip(CHUNK_BYTES // max(row_bytes, 1), 1, MAX_CHUNK_ROWS))


def column(group: h5py.Group, name: str, tail: tuple, dtype, rows: int, description: str = "") -> h5py.Dataset:
    """The dataset `name` of `group`, created with `rows` fill values when missing."""
    if name in group:
        return group[name]
    floating = np.issubdtype(np.dtype(dtype), np.floating)
    fill = math.nan if floating else None if dtype is TEXT else 0  # text fills with ''
    data = group.create_dataset(
        name,
        shape=(rows, *tail),
        maxshape=(None, *(None for _ in tail)),
        dtype=dtype,
        chunks=(chunk_rows(tail, dtype), *(max(1, t) for t in tail)),
        fillvalue=fill,
        fletcher32=True,
        compression="lzf" if tail else None,
        shuffle=bool(tail),
    )
    if description:
        data.attrs["description"] = description
    return data


def grow(data: h5py.Dataset, rows: int, width: int | None = None) -> None:
    shape = list(data.shape)
    shape[0] = max(shape[0], rows)
    if width is not None:
        shape[1] = max(shape[1], width)
    if tuple(shape) != data.shape:
        data.resize(tuple(shape))


def append_rows(f: h5py.File, points: list[PointRecord], descriptions: dict[str, str]) -> None:
    """Add `points` as new rows of the table (creating it, and any new column, as needed)."""
    table = f.require_group("points")
    start = table["index"].shape[0] if "index" in table else 0
    rows = start + len(points)
    for name in ("index", "seed"):
        data = column(table, name, (), np.int64, start)
        grow(data, rows)
        data[start:rows] = [getattr(p, name) for p in points]
    scalars(table.require_group("values"), start, rows, [p.values for p in points])
    scalars(table.require_group("scalars"), start, rows, [numeric(p.attrs) for p in points])
    roles = table.require_group("roles")
    for role in sorted({r for p in points for r in p.curves}):
        write_role(roles.require_group(role), role, start, points, descriptions)
    write_arrays(table, start, points)
    for data in every_dataset(table):
        grow(data, rows)  # columns the new points lack get fill values


def numeric(attrs: dict) -> dict[str, float]:
    return {k: float(v) for k, v in attrs.items() if isinstance(v, int | float | np.number)}


def scalars(group: h5py.Group, start: int, rows: int, dicts: list[dict]) -> None:
    """One column per key: numbers as float64 (NaN where absent), strings (a swept choice) as text ('')."""
    for name in sorted({k for d in dicts for k in d}):
        text = any(isinstance(d.get(name), str) for d in dicts)
        data = column(group, name, (), TEXT if text else np.float64, start)
        grow(data, rows)
        data[start:rows] = [d.get(name, "" if text else math.nan) for d in dicts]


def write_role(group: h5py.Group, role: str, start: int, points: list[PointRecord], descriptions: dict) -> None:
    group.attrs["kind"] = role_kind(role)
    rows = start + len(points)
    present = [p.curves.get(role, {}) for p in points]
    epochs = [len(c.get("epoch", ())) for c in present]
    for name, values in (("epochs", epochs), ("diverged_epoch", [p.diverged.get(role, 0) for p in points])):
        data = column(group, name, (), np.int32, start)
        grow(data, rows)
        data[start:rows] = values
    width = max(epochs)
    for metric in sorted({m for c in present for m in c} - {"epoch"}):
        data = column(group, metric, (width,), np.float64, start, descriptions.get(metric, ""))
        grow(data, rows, width)
        data[start:rows] = padded([c.get(metric, ()) for c in present], data.shape[1])


def padded(series: list, width: int) -> np.ndarray:
    """Rows of different lengths as one (rows, width) block, NaN after each row's end."""
    block = np.full((len(series), width), math.nan)
    lengths = np.array([len(s) for s in series])
    if lengths.any():
        mask = np.arange(width) < lengths[:, None]
        block[mask] = np.concatenate([np.asarray(s, dtype=np.float64) for s in series])
    return block


def write_arrays(table: h5py.Group, start: int, points: list[PointRecord]) -> None:
    """Stack each array where its shape agrees with the stored one; keep the others apart, by point."""
    arrays, present = table.require_group("arrays"), table.require_group("arrays_present")
    rows = start + len(points)
    for name in sorted({n for p in points for n in p.arrays}):
        first = next(np.asarray(p.arrays[name]) for p in points if name in p.arrays)
        data = column(arrays, name, first.shape, first.dtype, start)
        mask = column(present, name, (), np.bool_, start)
        grow(data, rows)
        grow(mask, rows)
        block, kept = np.zeros((len(points), *data.shape[1:]), dtype=data.dtype), np.zeros(len(points), dtype=bool)
        for row, point in enumerate(points):
            value = np.asarray(point.arrays.get(name, block[row]))
            if name not in point.arrays:
                continue
            if value.shape == data.shape[1:] and np.can_cast(value.dtype, data.dtype, "same_kind"):
                block[row], kept[row] = value, True
            else:
                table.require_group(f"ragged/{point.index}").create_dataset(name, data=value, fletcher32=True)
        data[start:rows], mask[start:rows] = block, kept


def every_dataset(group: h5py.Group) -> list[h5py.Dataset]:
    found = []
    group.visititems(lambda name, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return [d for d in found if not d.name.split("/")[2:3] == ["ragged"]]


def read_rows(table: h5py.Group) -> tuple[list[PointRecord], list[str]]:
    """Every row as a PointRecord, and the indices of rows in chunks that fail their checksum."""
    n = table["index"].shape[0]
    bad = np.zeros(n, dtype=bool)
    index, seed = (read_column(table[name], bad) for name in ("index", "seed"))
    values = {k: read_column(d, bad) for k, d in table["values"].items()}
    extra = {k: read_column(d, bad) for k, d in table["scalars"].items()}
    roles = {role: read_role(group, bad) for role, group in table["roles"].items()}
    arrays = {
        name: (read_column(data, bad), read_column(table["arrays_present"][name], bad))
        for name, data in table["arrays"].items()
    }
    ragged = (
        {int(i): {n: np.asarray(a) for n, a in g.items()} for i, g in table["ragged"].items()}
        if "ragged" in table
        else {}
    )
    points = []
    for row in np.flatnonzero(~bad):
        point = row_record(row, int(index[row]), int(seed[row]), values, extra, roles, arrays)
        point.arrays |= ragged.get(point.index, {})
        points.append(point)
    return points, [f"row {row}" for row in np.flatnonzero(bad)]


def read_column(data: h5py.Dataset, bad: np.ndarray) -> np.ndarray:
    """The whole column, read in blocks of about READ_BYTES; rows of a damaged chunk are marked bad.

    h5py holds the GIL while it reads: reading a 10 000-point column at once would stall the app's
    window for a tenth of a second each time, blocks let the GUI thread in between.
    """
    out = np.zeros(data.shape, dtype=data.dtype)
    n, row_bytes = data.shape[0], max(1, data.dtype.itemsize * int(np.prod(data.shape[1:], dtype=np.int64)))
    chunk = data.chunks[0] if data.chunks else 1
    block = max(chunk, READ_BYTES // row_bytes // chunk * chunk)
    for start in range(0, n, block):
        try:
            out[start : start + block] = data[start : start + block]
        except Exception:  # h5py reports a failed checksum or damaged chunk with several exception types
            for part in range(start, min(start + block, n), chunk):
                try:
                    out[part : part + chunk] = data[part : part + chunk]
                except Exception:
                    bad[part : part + chunk] = True
    return out


def read_role(group: h5py.Group, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    epochs, diverged = read_column(group["epochs"], bad), read_column(group["diverged_epoch"], bad)
    metrics = {m: read_column(d, bad) for m, d in group.items() if m not in ("epochs", "diverged_epoch")}
    return epochs, diverged, metrics


def row_record(row: int, index: int, seed: int, values, extra, roles, arrays) -> PointRecord:
    curves, diverged = {}, {}
    for role, (epochs, diverged_at, metrics) in roles.items():
        k = int(epochs[row])
        if not k:
            continue
        curves[role] = {"epoch": epoch_numbers(k)} | {m: v[row, :k] for m, v in metrics.items()}
        if diverged_at[row]:
            diverged[role] = int(diverged_at[row])
    kept = {name: data[row] for name, (data, present) in arrays.items() if present[row]}
    point_values = {k: stored_value(v[row]) for k, v in values.items() if stored_value(v[row]) is not None}
    attrs = {k: float(v[row]) for k, v in extra.items() if not math.isnan(v[row])}
    return PointRecord(index, seed, point_values, curves, kept, attrs, diverged)


def stored_value(value) -> float | str | None:
    """A swept value as read back: a choice's text, a number, or None where the point has none."""
    if isinstance(value, bytes | str):
        return (value.decode() if isinstance(value, bytes) else value) or None
    return None if math.isnan(value) else float(value)


@functools.cache
def epoch_numbers(k: int) -> np.ndarray:
    numbers = np.arange(1, k + 1, dtype=np.int32)
    numbers.flags.writeable = False  # shared by every row with k epochs
    return numbers
