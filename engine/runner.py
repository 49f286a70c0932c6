"""The run: expand the sweep into points and yield events while training them, writing the run file."""

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from engine.config import ExperimentConfig, validate, with_values
from engine.datasets import Dataset, build_dataset
from engine.errors import ConfigError, OutputError, ResourceError, RunFileError
from engine.events import EpochMetrics, Event, PointFinished, RunFinished, RunStarted
from engine.metrics import METRICS, REFERENCE_METRICS, DeviceData
from engine.outcomes import RoleResult
from engine.protocol import Point, plan_groups, train_group
from engine.records import PointRecord
from engine.runfile import FORMAT_VERSION, RESUMABLE_FROM, RunWriter, load_run
from engine.trainers.compiling import check_compile

log = logging.getLogger(__name__)


def expand_points(cfg: ExperimentConfig) -> list[Point]:
    """Every point of the sweep: values of the first axis, then the second, then seeds innermost."""
    axes = cfg.sweep.axes
    grid = itertools.product(*(axis.values for axis in axes), cfg.sweep.seeds)
    points = []
    for index, combo in enumerate(grid):
        values = dict(zip((axis.key for axis in axes), combo[:-1], strict=True))
        points.append(Point(index, int(combo[-1]), values, with_values(cfg, values) if values else cfg))
    return points


def resolve_device(name: str) -> torch.device:
    """'auto' means CUDA when available, else CPU; an explicit CUDA request never falls back silently."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"run.device = {name!r} but no CUDA device is available; use 'auto' or 'cpu'")
        if (device.index or 0) >= torch.cuda.device_count():
            raise ConfigError(f"run.device = {name!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return "cpu"


class DataCache:
    """Datasets by (data config, seed): a width sweep generates its data once per seed."""

    def __init__(self, device: torch.device, size: int = 4):
        self.device, self.size = device, size
        self.entries: dict[tuple[str, int], tuple[Dataset, DeviceData]] = {}

    @classmethod
    def for_run(cls, cfg: ExperimentConfig, device: torch.device) -> "DataCache":
        """A cache holding every seed of the sweep: points trained together need all of them at once."""
        return cls(device, size=max(4, len(cfg.sweep.seeds)))

    def get(self, cfg: ExperimentConfig, seed: int) -> tuple[Dataset, DeviceData]:
        key = (cfg.data.model_dump_json(), seed)
        if key not in self.entries:
            if len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)))
            data = build_dataset(cfg.data, cfg.data.seed + seed)
            self.entries[key] = (data, DeviceData.from_dataset(data, self.device))
        return self.entries[key]


def run(
    cfg: ExperimentConfig,
    path: str | Path,
    *,
    force: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[Event]:
    """Run every point of `cfg`, writing `path`; yields events and honours `stop` between epochs.

    The run file's status ends as 'complete', 'stopped' (stop requested or the generator closed) or
    'failed' (an exception, which is re-raised after the file is marked).
    """
    device = resolve_device(cfg.run.device)
    check_compile(cfg.run.compile, device)
    points = expand_points(cfg)
    cache = DataCache.for_run(cfg, device)
    cache.get(points[0].config, points[0].seed)  # a broken data file fails here, before any run file exists
    axes = [axis.key for axis in cfg.sweep.axes]
    writer = RunWriter.create(path, cfg.to_json(), device_label(device), len(points), axes, force=force)
    writer.checkpoint_seconds = cfg.run.checkpoint_seconds
    yield from execute(cfg, points, writer, cache, device, stop)


def resume(path: str | Path, *, device: str | None = None, stop: Callable[[], bool] = lambda: False):
    """Continue a stopped, failed or interrupted run file from its stored config, skipping finished points.

    Every point depends only on its config and seed, so the finished file equals an uninterrupted run.
    """
    stored = load_run(path)
    if stored.status == "complete":
        raise RunFileError(f"{path} is already complete; nothing to resume")
    written = int(stored.attrs.get("format_version", 1))
    if written < RESUMABLE_FROM:
        raise RunFileError(
            f"{path} was written by an older DDX (run-file format {written}) that drew its data, label noise "
            "and models from other random streams, so its points would not match new ones; it still opens "
            f"and shows, but start a new run to continue it (this DDX resumes formats {RESUMABLE_FROM} to {FORMAT_VERSION})"
        )
    raw = stored.config
    if device:
        raw = {**raw, "run": {**raw["run"], "device": device}}
    cfg = validate(raw, f"{path} (stored config)")
    torch_device = resolve_device(cfg.run.device)
    check_compile(cfg.run.compile, torch_device)
    done = {p.index for p in stored.points}
    points = [p for p in expand_points(cfg) if p.index not in done]
    writer = RunWriter.resume(stored, device_label(torch_device))
    writer.checkpoint_seconds = cfg.run.checkpoint_seconds
    yield from execute(cfg, points, writer, DataCache.for_run(cfg, torch_device), torch_device, stop)


def out_of_memory_advice(cfg: ExperimentConfig) -> str:
    return (
        f"the GPU ran out of memory (train.batch_size = {cfg.train.batch_size}, teacher.width = "
        f"{cfg.teacher.width}, n_unlabeled = {cfg.data.n_unlabeled}); try a smaller batch size, width or pool, "
        "fewer sweep points, run.batch_models = false (one model at a time) or run.device = 'cpu'. "
        "Finished points are kept; resume with --resume"
    )


def execute(cfg, points: list[Point], writer: RunWriter, cache: DataCache, device, stop) -> Iterator[Event]:
    """Train `points` in order, adding each finished one to `writer`; always leaves a final status."""
    started = time.perf_counter()
    writer.descriptions = METRICS | REFERENCE_METRICS | {"epoch": "epoch number, from 1"}
    status, error = "stopped", ""
    try:
        yield RunStarted(
            str(writer.path),
            int(writer.attrs["total_points"]),
            writer.attrs["device"],
            cfg.to_json(),
            len(writer.points),
        )
        total = int(writer.attrs["total_points"])
        for group in plan_groups(points):
            if stop():
                break
            datasets = {p.index: cache.get(p.config, p.seed) for p in group}
            training = train_group(group, datasets, device, total, stop)
            results = yield from saving_progress(training, group, writer)
            if results is None:
                break
            records = [result.record for result in results]
            writer.add(records)
            for record in records:
                yield PointFinished(
                    record.index,
                    record.seed,
                    record.values,
                    record.finals(),
                    record.arrays,
                    record.attrs,
                    record.diverged,
                )
        else:
            status = "complete"
    except torch.cuda.OutOfMemoryError as exc:
        status, error = "failed", f"CUDA out of memory: {exc}"
        raise ResourceError(out_of_memory_advice(cfg)) from None
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        close_writer(writer, status, error)
    yield RunFinished(str(writer.path), status, len(writer.points), time.perf_counter() - started, error)


def saving_progress(events: Iterator[Event], group: list[Point], writer: RunWriter):
    """Pass a group's events through; every `writer.checkpoint_seconds` journal its points' curves so far.

    Returns what the group's training returns. A kill then loses at most that much of a long group.
    """
    curves = {p.index: {} for p in group}
    last = time.monotonic()
    while True:
        try:
            event = next(events)
        except StopIteration as done:
            return done.value
        if isinstance(event, EpochMetrics):
            curves[event.point].setdefault(event.role, RoleResult()).add(event.epoch, event.metrics)
            if time.monotonic() - last >= writer.checkpoint_seconds:
                writer.save_progress([progress_record(p, curves[p.index]) for p in group if curves[p.index]])
                last = time.monotonic()
        yield event


def progress_record(point: Point, roles: dict[str, RoleResult]) -> PointRecord:
    """A point still training, as far as it got."""
    return PointRecord(point.index, point.seed, point.values, {r: result.arrays() for r, result in roles.items()})


def close_writer(writer: RunWriter, status: str, error: str) -> None:
    """Write the final status; when the run already failed, a second write error is only logged."""
    try:
        writer.finish(status, error)
    except OutputError as exc:
        if status != "failed":
            raise
        log.warning("could not record the failure in %s: %s", writer.path, exc)
    log.info("run %s %s with %d points", writer.path, status, len(writer.points))
