"""Run files before format 5: one HDF5 group per point (`/points/<index>/<role>/<metric>`), read only."""

import h5py
import numpy as np

from engine.records import PointRecord


def series_of(dataset) -> np.ndarray:
    """A stored 1-D numeric series; anything else means the point is damaged."""
    values = np.asarray(dataset)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{dataset.name} is not a 1-D numeric series")
    return values


def plain(attrs) -> dict:
    return {k: v.item() if hasattr(v, "item") else v for k, v in attrs.items()}


def read_point(group: h5py.Group) -> PointRecord:
    """One stored point; before format 4, swept values were the attributes with a dot in their name and
    a role's divergence epoch the attribute `diverged_<role>`."""
    attrs = plain(group.attrs)
    roles = [name for name in group if name not in ("arrays", "values")]
    curves = {role: {metric: series_of(s) for metric, s in group[role].items()} for role in roles}
    arrays = {name: np.asarray(a) for name, a in group["arrays"].items()} if "arrays" in group else {}
    index, seed = int(attrs.pop("index")), int(attrs.pop("seed"))
    if "values" in group:
        values = {k: float(v) for k, v in plain(group["values"].attrs).items()}
        diverged = {r: int(group[r].attrs["diverged_epoch"]) for r in roles if "diverged_epoch" in group[r].attrs}
    else:
        values = {k: float(attrs.pop(k)) for k in [k for k in attrs if "." in k]}
        diverged = {
            k.removeprefix("diverged_"): int(attrs.pop(k)) for k in [k for k in attrs if k.startswith("diverged_")]
        }
    return PointRecord(index, seed, values, curves, arrays, attrs, diverged)


def read_point_groups(f: h5py.File) -> tuple[list[PointRecord], list[str]]:
    """Every point group that reads back whole, and the names of those that do not."""
    points, damaged = [], []
    for name in list(f["points"]):
        try:
            points.append(read_point(f["points"][name]))
        except Exception:  # h5py reports corrupt internals with many exception types; skip that point
            damaged.append(name)
    return sorted(points, key=lambda p: p.index), damaged
