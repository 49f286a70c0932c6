"""HDF5 run files: one file per run, one writer, replaced atomically so a crash never corrupts it."""

import glob
import json
import os
import shutil
import time
from pathlib import Path

import h5py
import numpy as np

from engine import __version__
from engine.columns import append_rows, read_column, read_rows
from engine.errors import OutputError, RunFileError
from engine.journal import Journal, finished_indices, journal_path, read_journal
from engine.legacy import read_point_groups
from engine.records import PointRecord, RunData, best_epoch, final_metrics, summary_table
from engine.runlock import RunLock, check_folder, process_alive

__all__ = [
    "PointRecord",
    "RunData",
    "RunWriter",
    "best_epoch",
    "final_metrics",
    "load_run",
    "new_run_path",
    "peek",
]

FORMAT = "ddx-run"
# 2: random features are drawn in nested blocks (DDX 0.2)
# 3: independent named random streams, a validation split, per-role budgets (DDX 0.3)
# 4: swept values in a `values` subgroup; each role's kind and divergence epoch as its attributes (DDX 0.4)
# 5: a columnar point table, one row per point (engine.columns), and a journal of points not yet in it
# Files before 3 read but do not resume: their points were drawn differently and would not match new ones.
FORMAT_VERSION = 5
RESUMABLE_FROM = 3
# The 1.8 file format checksums all metadata (a damaged file raises instead of crashing libhdf5);
# capping at 1.10 keeps files readable by HDF5 1.10 tools such as Debian's h5ls.
LIBVER = ("v108", "v110")
# The free space a rewrite leaves (a column's last chunk, compressed, is written anew elsewhere each time
# rows are appended) is tracked across the file's versions, so later chunks reuse it; a version with more
# than COMPACT_SHARE of it free is compacted, and the file a run ends with once more than FINAL_SHARE is.
FREE_SPACE = {"fs_strategy": "fsm", "fs_persist": True}
COMPACT_SHARE = 0.2
FINAL_SHARE = 0.01


class RunWriter:
    """The one writer of a run file.

    A finished point is appended to the file's journal at once (`engine.journal`: constant cost,
    synced before `add` returns), and moved into the file's point table at least every
    `checkpoint_seconds` and when the run ends. Each such change builds the next version of the file
    beside it (a copy with the new rows appended) and renames it over the old one, so a kill at any
    moment leaves the previous file or the new one, never a half-written one; the journal is emptied
    only after the rename. Use `create` for a new run and `resume` to continue a stopped or
    interrupted one; `finish` releases the file's lock.
    """

    def __init__(self, path: Path, attrs: dict, points: list[PointRecord], axes: list[str], lock: RunLock):
        self.path, self.attrs, self.points, self.axes, self.lock = path, attrs, points, axes, lock
        self.descriptions: dict[str, str] = {}
        self.journal = Journal(path)
        self.pending: list[PointRecord] = []
        self.progress: dict[int, PointRecord] = {}
        self.checkpoint_seconds = 60.0
        self.written = time.monotonic()

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
        """Write the whole file from `points` (the journal's too, when resuming) and empty the journal."""
        writer = cls(path, attrs, points, axes, lock)
        remove_stale_copies(path)
        try:
            writer.replace(lambda f: append_rows(f, writer.points, writer.descriptions), copy=False)
            writer.journal.clear()
        except OutputError:
            lock.release()
            raise
        return writer

    def add(self, points: list[PointRecord]) -> None:
        """Store finished points: in the journal now, in the file itself at the next checkpoint."""
        try:
            self.journal.append(points)
        except OSError as exc:
            raise OutputError(f"cannot write run file {self.path}: {exc.strerror or exc}") from None
        self.points.extend(points)
        self.pending.extend(points)
        for point in points:
            self.progress.pop(point.index, None)
        if time.monotonic() - self.written >= self.checkpoint_seconds:
            self.checkpoint()

    def save_progress(self, points: list[PointRecord]) -> None:
        """Journal the curves so far of points still training; a viewer sees them as in progress."""
        try:
            self.journal.append(points, in_progress=True)
        except OSError as exc:
            raise OutputError(f"cannot write run file {self.path}: {exc.strerror or exc}") from None
        self.progress |= {p.index: p for p in points}

    def checkpoint(self) -> None:
        """Move the journal's points into the file's point table and empty the journal."""
        if self.pending:
            self.replace(lambda f: append_rows(f, self.pending, self.descriptions), copy=True)
            self.pending = []
            self.journal.clear()
            if self.progress:
                self.journal.append(list(self.progress.values()), in_progress=True)
        self.written = time.monotonic()

    def finish(self, status: str, error: str = "") -> None:
        """Write every point, the summary and the final status; release the lock (even if this last write fails)."""
        self.attrs.update(status=status, error=error)
        try:
            self.replace(self.complete, copy=True, compact_above=FINAL_SHARE)
            self.pending = []
            self.journal.clear()
        finally:
            self.journal.close()
            self.lock.release()

    def complete(self, f: h5py.File) -> None:
        if self.pending:
            append_rows(f, self.pending, self.descriptions)
        if "summary" in f:
            del f["summary"]
        summary = f.create_group("summary")
        for name, values in summary_table(self.points, self.axes).items():
            summary.create_dataset(name, data=values, fletcher32=True)

    def replace(self, change, copy: bool, compact_above: float = COMPACT_SHARE) -> None:
        """Build the next version of the file beside it, then rename it over the old one.

        With `copy` the previous file is copied byte for byte (no Python lock held) and changed in
        place: only new rows are written, so the work under h5py, which never releases the GIL, stays
        small. Each such change frees the space of the columns' last chunks (compressed, they are
        written anew elsewhere); later chunks reuse it (`FREE_SPACE`), and when more than
        `compact_above` of the file stays free, the new version is compacted before the rename.
        """
        tmp = copy_path(self.path, os.getpid())
        compacted = copy_path(self.path, f"{os.getpid()}-compact")
        try:
            if copy:
                shutil.copyfile(self.path, tmp)
            # checksummed metadata (LIBVER) and fletcher32 data chunks: a damaged file raises an error on
            # read instead of crashing the HDF5 library
            with h5py.File(tmp, "a" if copy else "w", libver=LIBVER, **({} if copy else FREE_SPACE)) as f:
                change(f)
                for key, value in {**self.attrs, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}.items():
                    f.attrs[key] = value
                f.attrs["points_done"] = f["points/index"].shape[0] if "points/index" in f else 0
                free = f.id.get_freespace()
            done = tmp
            if free > compact_above * tmp.stat().st_size:
                compact_copy(tmp, compacted)
                tmp.unlink()
                done = compacted
            with open(done, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(done, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            compacted.unlink(missing_ok=True)
            raise OutputError(f"cannot write run file {self.path}: {exc.strerror or exc}") from None
        self.written = time.monotonic()


def compact_copy(source: Path, target: Path) -> None:
    """Copy the HDF5 file `source` to a new `target` holding no free space (a rewritten chunk's old place).

    One dataset per h5py call (H5Ocopy copies its chunks as they are stored, without decompressing), so
    the GIL is let go between datasets and the app's window stays responsive.
    """

    def copy_group(old: h5py.Group, new: h5py.Group) -> None:
        for key, value in old.attrs.items():
            new.attrs[key] = value
        for name, item in old.items():
            if isinstance(item, h5py.Group):
                copy_group(item, new.create_group(name))
            else:
                old.copy(item, new, name)

    with h5py.File(source, "r") as old, h5py.File(target, "w", libver=LIBVER, **FREE_SPACE) as new:
        copy_group(old, new)


def copy_path(path: Path, pid: int | str) -> Path:
    """Where the writer with process id `pid` builds the next version of `path` (`<pid>-compact`: its
    compacted copy)."""
    return path.with_name(f".{path.name}.{pid}.tmp")


def remove_stale_copies(path: Path) -> None:
    """Remove the next versions of `path` that writers killed mid-rewrite left (their process is gone).

    Called with the file's lock held, so no other writer of `path` is at work; a copy of this process
    is a leftover too (a writer in it that failed mid-rewrite).
    """
    for copy in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = copy.name[len(path.name) + 2 : -len(".tmp")].removesuffix("-compact")
        if pid.isdigit() and (int(pid) == os.getpid() or not process_alive(int(pid))):
            copy.unlink(missing_ok=True)


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


def read_points(f: h5py.File) -> tuple[list[PointRecord], list[str]]:
    """The file's points (columnar from format 5, one group per point before) and those that are damaged."""
    if int(f.attrs.get("format_version", 0)) < 5:
        return read_point_groups(f)
    return read_rows(f["points"]) if "points/index" in f else ([], [])


def with_journal(path: Path, points: list[PointRecord]) -> tuple[list[PointRecord], list[PointRecord]]:
    """The file's points and those its journal holds beyond them (a running or killed run's), by index,
    and the points the journal has as still in progress."""
    finished, in_progress = read_journal(journal_path(path))
    stored = {p.index for p in points}
    points = sorted(points + [p for p in finished if p.index not in stored], key=lambda p: p.index)
    return points, [p for p in in_progress if p.index not in stored]


def load_run(path: str | Path) -> RunData:
    """Open a DDX run file and return it as plain Python/numpy, with the points its journal holds.

    Points that are damaged are left out (listed in `RunData.damaged`) and the summary is rebuilt from
    the intact ones; a file whose header cannot be read raises RunFileError with the reason.
    """
    path = Path(path)
    attrs, config, points, damaged = read_run_file(path, lambda f, p: (*check_header(f, p), *read_points(f)))
    points, in_progress = with_journal(path, points)
    status = str(attrs.get("status", ""))
    return RunData(str(path), attrs, config, status, points, damaged, in_progress)


def peek(path: str | Path) -> dict:
    """Status, points and first description line from the root attributes, the table's index column and
    the journal's record headers (cheap for run browsers); a point in both the table and the journal
    counts once."""
    path = Path(path)
    attrs, config, stored = read_run_file(path, header_and_index)
    journaled = finished_indices(journal_path(path))
    done = int(attrs.get("points_done", 0)) + len(journaled) if stored is None else len(stored | journaled)
    lines = str(config["run"].get("description", "")).strip().splitlines()
    return {
        "status": str(attrs.get("status", "")),
        "points_done": done,
        "total_points": int(attrs.get("total_points", 0)),
        "description": lines[0] if lines else "",
    }


def header_and_index(f: h5py.File, path: Path) -> tuple[dict, dict, set[int] | None]:
    """The root attributes, the config and the point table's indices (None before format 5: no table)."""
    attrs, config = check_header(f, path)
    if int(attrs.get("format_version", 0)) < 5:
        return attrs, config, None
    if "points/index" not in f:
        return attrs, config, set()
    index = f["points/index"]
    bad = np.zeros(index.shape[0], dtype=bool)
    rows = read_column(index, bad)
    return attrs, config, set(rows[~bad].tolist())


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
