"""HDF5 run files: one file per run, one writer, replaced atomically so a crash never corrupts it."""

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from engine import __version__
from engine.config import sweep_axes
from engine.errors import OutputError, RunFileError
from engine.roles import ordered, role_kind
from engine.runlock import RunLock, check_folder

FORMAT = "ddx-run"
# 2: random features are drawn in nested blocks (DDX 0.2)
# 3: independent named random streams, a validation split, per-role budgets (DDX 0.3)
# 4: swept values in a `values` subgroup; each role's kind and divergence epoch as its attributes (DDX 0.4)
# Files before 3 read but do not resume: their points were drawn differently and would not match new ones.
FORMAT_VERSION = 4
RESUMABLE_FROM = 3
# The 1.8 file format checksums all metadata (a damaged file raises instead of crashing libhdf5);
# capping at 1.10 keeps files readable by HDF5 1.10 tools such as Debian's h5ls.
LIBVER = ("v108", "v110")


@dataclass
class PointRecord:
    """One finished point as stored: its curves per role and metric, final values, small arrays."""

    index: int
    seed: int
    values: dict[str, float]
    curves: dict[str, dict[str, np.ndarray]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)
    diverged: dict[str, int] = field(default_factory=dict)

    def final(self, role: str, metric: str) -> float:
        """The role's last value of `metric`, or its best-epoch values (`best_epoch`, `best_test_error`)."""
        if role not in self.curves:
            return float("nan")
        return final_metrics({role: self.curves[role]})[role].get(metric, float("nan"))

    def finals(self) -> dict[str, dict[str, float]]:
        return final_metrics(self.curves)


def final_metrics(curves: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Each role's last value of every metric, plus its best epoch and the test error there.

    The best epoch is the one with the lowest validation error (the first, on ties): a choice a
    practitioner can make, since the validation labels carry the same noise as S. The test set is
    only read at the chosen epoch. Roles without a validation error get NaN for both.
    """
    finals = {}
    for role, series in curves.items():
        final = {metric: float(values[-1]) for metric, values in series.items() if len(values)}
        nothing = np.zeros(0)
        epochs, val, test = (series.get(k, nothing) for k in ("epoch", "val_error", "test_error"))
        final["best_epoch"], final["best_test_error"] = best_epoch(epochs, val, test)
        finals[role] = final
    return finals


def best_epoch(epochs: np.ndarray, val_error: np.ndarray, test_error: np.ndarray) -> tuple[float, float]:
    """The epoch of lowest validation error (the first on ties) and the test error there; NaNs without one."""
    val_error = np.asarray(val_error, dtype=float)
    if not np.isfinite(val_error).any():
        return math.nan, math.nan
    at = int(np.nanargmin(val_error))
    return float(epochs[at]), float(test_error[at])


@dataclass
class RunData:
    """A run file loaded into plain Python and numpy (see docs/run-file.md for the layout)."""

    path: str
    attrs: dict
    config: dict
    status: str
    points: list[PointRecord]
    summary: dict[str, np.ndarray]
    damaged: list[str] = field(default_factory=list)

    @property
    def axes(self) -> list[str]:
        return [axis.key for axis in sweep_axes(self.config["sweep"])]

    @property
    def roles(self) -> list[str]:
        return ordered({role for p in self.points for role in p.curves})


def add_series(group: h5py.Group, name: str, values: np.ndarray, description: str = "") -> None:
    data = group.create_dataset(name, data=values, maxshape=(None,) + values.shape[1:], chunks=True, fletcher32=True)
    if description:
        data.attrs["description"] = description


def write_point(parent: h5py.Group, point: PointRecord, descriptions: dict[str, str]) -> None:
    group = parent.create_group(str(point.index))
    group.attrs["index"] = point.index
    group.attrs["seed"] = point.seed
    for key, value in point.attrs.items():
        group.attrs[key] = value
    values = group.create_group("values")
    for key, value in point.values.items():
        values.attrs[key] = value
    for role, curves in point.curves.items():
        role_group = group.create_group(role)
        role_group.attrs["kind"] = role_kind(role)
        if role in point.diverged:
            role_group.attrs["diverged_epoch"] = point.diverged[role]
        for metric, series in curves.items():
            add_series(role_group, metric, np.asarray(series), descriptions.get(metric, ""))
    if point.arrays:
        arrays = group.create_group("arrays")
        for name, array in point.arrays.items():
            arrays.create_dataset(
                name, data=array, chunks=True, fletcher32=True, compression="gzip" if array.size > 1024 else None
            )


def summary_table(points: list[PointRecord], axes: list[str]) -> dict[str, np.ndarray]:
    """Columns of every point's final metrics: point, seed, the swept values, then role.metric.

    Each role also has `best_epoch` and `best_test_error` (see `final_metrics`) and `steps`, its
    optimizer steps, so that every comparison in the table states its budgets.
    """
    table: dict[str, list] = {"point": [], "seed": [], **{a: [] for a in axes}}
    finals = [p.finals() for p in points]
    metrics = sorted({(r, m) for final in finals for r, c in final.items() for m in c})
    for role, metric in metrics:
        table[f"{role}.{metric}"] = []
    for p, final in zip(points, finals, strict=True):
        table["point"].append(p.index)
        table["seed"].append(p.seed)
        for a in axes:
            table[a].append(p.values.get(a, np.nan))
        for role, metric in metrics:
            table[f"{role}.{metric}"].append(final.get(role, {}).get(metric, np.nan))
    return {k: np.asarray(v) for k, v in table.items()}


class RunWriter:
    """The one writer of a run file: keeps its finished points and rewrites it atomically at each change.

    Each change builds a new version of the file beside it and renames it over the old one, so a kill at
    any moment leaves either the previous complete file or the new one, never a half-written one. Use `create` for a new run
    and `resume` to continue a stopped or interrupted one; `close` releases the file's lock.
    """

    def __init__(self, path: Path, attrs: dict, points: list[PointRecord], axes: list[str], lock: RunLock):
        self.path, self.attrs, self.points, self.axes, self.lock = path, attrs, points, axes, lock
        self.descriptions: dict[str, str] = {}

    @classmethod
    def create(cls, path, config_json: str, device: str, total_points: int, axes: list[str], force=False):
        path = Path(path)
        check_folder(path)
        lock = RunLock(path)
        lock.acquire()
        if path.exists() and not force:
            lock.release()
            raise OutputError(f"{path} already exists; choose another --out or pass --force to overwrite it")
        attrs = {
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
        return cls.opened(path, attrs, [], axes, lock)

    @classmethod
    def resume(cls, stored: "RunData", device: str):
        """Continue `stored` (from load_run): its finished points are kept, the status is 'running' again."""
        path = Path(stored.path)
        check_folder(path)
        lock = RunLock(path)
        lock.acquire()
        attrs = {k: v for k, v in stored.attrs.items() if k not in ("updated", "points_done")}
        attrs.update(status="running", error="", device=device, app_version=__version__, format_version=FORMAT_VERSION)
        return cls.opened(path, attrs, list(stored.points), stored.axes, lock)

    @classmethod
    def opened(cls, path, attrs, points, axes, lock):
        writer = cls(path, attrs, points, axes, lock)
        try:
            writer.write()
        except OutputError:
            lock.release()
            raise
        return writer

    def add(self, points: list[PointRecord]) -> None:
        """Store finished points in one change: the previous file is copied and only they are appended."""
        self.replace(lambda f: self.append(f, points), copy=True, points_done=len(self.points) + len(points))
        self.points.extend(points)

    def finish(self, status: str, error: str = "") -> None:
        """Record the final status and release the lock (even if this last write fails)."""
        self.attrs.update(status=status, error=error)
        try:
            self.replace(lambda f: None, copy=True)
        finally:
            self.lock.release()

    def write(self) -> None:
        """Write the whole file from the points in memory (at creation and when resuming)."""
        self.replace(self.fill, copy=False)

    def fill(self, f: h5py.File) -> None:
        points = f.create_group("points")
        for point in self.points:
            write_point(points, point, self.descriptions)
        summary = f.create_group("summary")
        for name, column in summary_table(self.points, self.axes).items():
            add_series(summary, name, column)

    def append(self, f: h5py.File, points: list[PointRecord]) -> None:
        """Add the points' groups and their summary rows; columns new to them are back-filled with NaN."""
        for point in points:
            write_point(f["points"], point, self.descriptions)
        summary, rows = f["summary"], len(self.points)
        new = summary_table(points, self.axes)
        for name in new.keys() - summary.keys():
            add_series(summary, name, np.full(rows, np.nan))
        for name, column in summary.items():
            column.resize((rows + len(points),))
            column[rows:] = new[name] if name in new else np.nan

    def replace(self, change, copy: bool, points_done: int | None = None) -> None:
        """Build the next version of the file beside it, then rename it over the old one.

        With `copy` the previous file is copied byte for byte (no Python lock held) and changed in
        place, so the work under h5py, which never releases the GIL, stays small per point.
        """
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            if copy:
                shutil.copyfile(self.path, tmp)
            # checksummed metadata (LIBVER) and fletcher32 data chunks: a damaged file raises an error on
            # read instead of crashing the HDF5 library
            with h5py.File(tmp, "a" if copy else "w", libver=LIBVER) as f:
                change(f)
                for key, value in {**self.attrs, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}.items():
                    f.attrs[key] = value
                f.attrs["points_done"] = len(self.points) if points_done is None else points_done
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write run file {self.path}: {exc.strerror or exc}") from None


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


def check_header(f: h5py.File, path: Path) -> tuple[dict, dict]:
    attrs = {k: v.item() if hasattr(v, "item") else v for k, v in f.attrs.items()}
    if attrs.get("format") != FORMAT:
        raise RunFileError(f"{path} is an HDF5 file but not a DDX run file (no format = '{FORMAT}')")
    if int(attrs.get("format_version", 0)) > FORMAT_VERSION:
        raise RunFileError(
            f"{path} has run-file format {attrs['format_version']}; this DDX reads up to {FORMAT_VERSION}"
        )
    config = json.loads(attrs["config"])
    if not isinstance(config, dict) or not all(isinstance(config.get(k), dict) for k in ("sweep", "run")):
        raise RunFileError(f"{path}: its stored config is incomplete")
    return attrs, config


def read_points(f: h5py.File) -> tuple[list[PointRecord], list[str]]:
    """Every point that reads back whole, and the names of those that do not."""
    points, damaged = [], []
    for name in list(f["points"]):
        try:
            points.append(read_point(f["points"][name]))
        except Exception:  # h5py reports corrupt internals with many exception types; skip that point
            damaged.append(name)
    return sorted(points, key=lambda p: p.index), damaged


def read_run_file(path: Path, reader):
    """Open `path` and return `reader(f, path)`; any failure becomes one RunFileError naming the file."""
    if not path.is_file():
        raise RunFileError(f"run file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            return reader(f, path)
    except RunFileError:
        raise
    except Exception as exc:  # any failure to read the header means a damaged or foreign file
        raise RunFileError(f"{path} cannot be read as a DDX run file (damaged or truncated?): {exc}") from None


def load_run(path: str | Path) -> RunData:
    """Open a DDX run file and return it as plain Python/numpy.

    Points that are damaged are left out (listed in `RunData.damaged`) and the summary is rebuilt from
    the intact ones; a file whose header cannot be read raises RunFileError with the reason.
    """
    path = Path(path)
    attrs, config, points, damaged = read_run_file(path, lambda f, p: (*check_header(f, p), *read_points(f)))
    axes = [axis.key for axis in sweep_axes(config["sweep"])]
    status = str(attrs.get("status", ""))
    return RunData(str(path), attrs, config, status, points, summary_table(points, axes), damaged)


def peek(path: str | Path) -> dict:
    """Status, points and first description line from the root attributes only (cheap for run browsers)."""
    attrs, config = read_run_file(Path(path), check_header)
    lines = str(config["run"].get("description", "")).strip().splitlines()
    return {
        "status": str(attrs.get("status", "")),
        "points_done": int(attrs.get("points_done", 0)),
        "total_points": int(attrs.get("total_points", 0)),
        "description": lines[0] if lines else "",
    }


def new_run_path(folder: str | Path, name: str) -> Path:
    """`folder/<name>-<YYYYmmdd-HHMMSS>.h5`, with a numeric suffix if that file already exists."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}.h5", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.h5"
    return path
