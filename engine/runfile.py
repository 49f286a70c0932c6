"""HDF5 run files: one file per run, one writer, replaced atomically so a crash never corrupts it."""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from engine import __version__
from engine.errors import OutputError, RunFileError

FORMAT = "ddx-run"
FORMAT_VERSION = 1
STATUSES = ("running", "complete", "stopped", "failed")
MAIN_ROLES = ("teacher", "student", "baseline")


@dataclass
class PointRecord:
    """One finished point as stored: its curves per role and metric, final values, small arrays."""

    index: int
    seed: int
    values: dict[str, float]
    curves: dict[str, dict[str, np.ndarray]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)

    def final(self, role: str, metric: str) -> float:
        series = self.curves.get(role, {}).get(metric)
        return float(series[-1]) if series is not None and len(series) else float("nan")


@dataclass
class RunData:
    """A run file loaded into plain Python and numpy (see docs/run-file.md for the layout)."""

    path: str
    attrs: dict
    config: dict
    status: str
    points: list[PointRecord]
    summary: dict[str, np.ndarray]

    @property
    def axes(self) -> list[str]:
        return [a for a in (self.config["sweep"]["axis"], self.config["sweep"]["axis2"]) if a]

    @property
    def roles(self) -> list[str]:
        present = {role for p in self.points for role in p.curves}
        return [r for r in MAIN_ROLES if r in present] + sorted(present - set(MAIN_ROLES))


def check_writable(path: Path, force: bool) -> None:
    """Refuse an existing file (unless `force`) and a folder that is missing or read-only."""
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists; choose another --out or pass --force to overwrite it")


def add_series(group: h5py.Group, name: str, values: np.ndarray, description: str = "") -> None:
    data = group.create_dataset(name, data=values, maxshape=(None,) + values.shape[1:], chunks=True)
    if description:
        data.attrs["description"] = description


def write_point(parent: h5py.Group, point: PointRecord, descriptions: dict[str, str]) -> None:
    group = parent.create_group(str(point.index))
    group.attrs["index"] = point.index
    group.attrs["seed"] = point.seed
    for key, value in {**point.values, **point.attrs}.items():
        group.attrs[key] = value
    for role, curves in point.curves.items():
        role_group = group.create_group(role)
        for metric, series in curves.items():
            add_series(role_group, metric, np.asarray(series), descriptions.get(metric, ""))
    if point.arrays:
        arrays = group.create_group("arrays")
        for name, array in point.arrays.items():
            arrays.create_dataset(name, data=array, compression="gzip" if array.size > 1024 else None)


def summary_table(points: list[PointRecord], axes: list[str]) -> dict[str, np.ndarray]:
    """Columns of every point's final metrics: point, seed, the swept values, then role.metric."""
    table: dict[str, list] = {"point": [], "seed": [], **{a: [] for a in axes}}
    metrics = sorted({(r, m) for p in points for r, c in p.curves.items() for m in c})
    for role, metric in metrics:
        table[f"{role}.{metric}"] = []
    for p in points:
        table["point"].append(p.index)
        table["seed"].append(p.seed)
        for a in axes:
            table[a].append(p.values.get(a, np.nan))
        for role, metric in metrics:
            table[f"{role}.{metric}"].append(p.final(role, metric))
    return {k: np.asarray(v) for k, v in table.items()}


class RunWriter:
    """Keeps a run's finished points and rewrites the whole file atomically at each change.

    Rewriting a small file per point costs milliseconds and means a kill at any moment leaves either
    the previous complete file or the new one, never a half-written one.
    """

    def __init__(self, path: Path, config_json: str, device: str, total_points: int, axes: list[str], force=False):
        self.path = Path(path)
        check_writable(self.path, force)
        self.attrs = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": config_json,
            "device": device,
            "total_points": total_points,
            "status": "running",
            "error": "",
        }
        self.axes = axes
        self.points: list[PointRecord] = []
        self.descriptions: dict[str, str] = {}
        self.write()

    def add(self, point: PointRecord) -> None:
        self.points.append(point)
        self.write()

    def finish(self, status: str, error: str = "") -> None:
        self.attrs.update(status=status, error=error)
        self.write()

    def write(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with h5py.File(tmp, "w") as f:
                for key, value in {**self.attrs, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}.items():
                    f.attrs[key] = value
                f.attrs["points_done"] = len(self.points)
                points = f.create_group("points")
                for point in self.points:
                    write_point(points, point, self.descriptions)
                summary = f.create_group("summary")
                for name, column in summary_table(self.points, self.axes).items():
                    add_series(summary, name, column)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write run file {self.path}: {exc.strerror or exc}") from None


def read_point(group: h5py.Group) -> PointRecord:
    attrs = {k: v.item() if hasattr(v, "item") else v for k, v in group.attrs.items()}
    curves = {
        role: {metric: np.asarray(series) for metric, series in group[role].items()}
        for role in group
        if role != "arrays"
    }
    arrays = {name: np.asarray(a) for name, a in group["arrays"].items()} if "arrays" in group else {}
    index, seed = int(attrs.pop("index")), int(attrs.pop("seed"))
    values = {k: v for k, v in attrs.items() if "." in k}
    extra = {k: v for k, v in attrs.items() if "." not in k}
    return PointRecord(index, seed, values, curves, arrays, extra)


def load_run(path: str | Path) -> RunData:
    """Open a DDX run file and return it as plain Python/numpy; raises RunFileError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"run file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: v.item() if hasattr(v, "item") else v for k, v in f.attrs.items()}
            if attrs.get("format") != FORMAT:
                raise RunFileError(f"{path} is an HDF5 file but not a DDX run file (no format = '{FORMAT}')")
            if int(attrs.get("format_version", 0)) > FORMAT_VERSION:
                raise RunFileError(
                    f"{path} has run-file format {attrs['format_version']}; this DDX reads up to {FORMAT_VERSION}"
                )
            config = json.loads(attrs["config"])
            points = sorted((read_point(g) for g in f["points"].values()), key=lambda p: p.index)
            summary = {k: np.asarray(v) for k, v in f["summary"].items()}
    except RunFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise RunFileError(f"{path} cannot be read as a DDX run file (damaged or truncated?): {exc}") from None
    return RunData(str(path), attrs, config, str(attrs.get("status", "")), points, summary)
