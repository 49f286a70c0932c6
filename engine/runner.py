"""The run: expand the sweep into points and yield events while training them, writing the run file."""

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.checkpoint import GroupCheckpoint, checkpoint_paths, remove_checkpoint
from engine.cluster import IN_PROCESS, Cluster, closing, connect, train_there
from engine.cluster import device_label as cluster_label
from engine.config import ExperimentConfig, validate
from engine.config_rules import with_values
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
    cluster: Cluster = IN_PROCESS,
) -> Iterator[Event]:
    """Run every point of `cfg`, writing `path`; yields events and honours `stop` between epochs.

    The run file's status ends as 'complete', 'stopped' (stop requested or the generator closed) or
    'failed' (an exception, which is re-raised after the file is marked). With a `cluster`, groups
    train as Dask tasks; it is reached before any file is written.
    """
    device = resolve_device(cfg.run.device)
    check_compile(cfg.run.compile, device)
    points = expand_points(cfg)
    cache = DataCache.for_run(cfg, device)
    cache.get(points[0].config, points[0].seed)  # a broken data file fails here, before any run file exists
    axes = [axis.key for axis in cfg.sweep.axes]
    client = None if cluster.in_process else connect(cluster)
    writer = writer_for(
        client, device, lambda label: RunWriter.create(path, cfg.to_json(), label, len(points), axes, force=force)
    )
    writer.checkpoint_seconds = cfg.run.checkpoint_seconds
    for stale in checkpoint_paths(path):  # a run overwritten with --force leaves none of its old state
        stale.unlink()
    yield from execute(cfg, points, writer, trainer(client, cfg, points, writer, cache, device, stop))


def writer_for(client, device, make: Callable[[str], RunWriter]) -> RunWriter:
    """`make(label)` with the label of where the run trains; a cluster's client is closed if it fails."""
    try:
        return make(device_label(device) if client is None else cluster_label(client))
    except BaseException:
        if client is not None:
            closing(client)
        raise


def trainer(client, cfg, points, writer, cache, device, stop) -> Iterator:
    """Where the groups train: here, or on the cluster `client` reaches."""
    if client is None:
        return train_here(cfg, points, writer, cache, device, stop)
    return train_there(client, cfg, points, writer, stop)


def resume(
    path: str | Path,
    *,
    device: str | None = None,
    stop: Callable[[], bool] = lambda: False,
    cluster: Cluster = IN_PROCESS,
):
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
    client = None if cluster.in_process else connect(cluster)
    writer = writer_for(client, torch_device, lambda label: RunWriter.resume(stored, label))
    writer.checkpoint_seconds = cfg.run.checkpoint_seconds
    cache = DataCache.for_run(cfg, torch_device)
    yield from execute(cfg, points, writer, trainer(client, cfg, points, writer, cache, torch_device, stop))


def out_of_memory_advice(cfg: ExperimentConfig) -> str:
    return (
        f"the GPU ran out of memory (train.batch_size = {cfg.train.batch_size}, teacher.width = "
        f"{cfg.teacher.width}, n_unlabeled = {cfg.data.n_unlabeled}); try a smaller batch size, width or pool, "
        "fewer sweep points, run.batch_models = false (one model at a time) or run.device = 'cpu'. "
        "Finished points are kept; resume with --resume"
    )


@dataclass(frozen=True)
class GroupDone:
    """A group's points finished training (wherever they trained): its records, and its checkpoint to remove."""

    records: list[PointRecord]
    checkpoint: Path


def execute(cfg, points: list[Point], writer: RunWriter, groups: Iterator) -> Iterator[Event]:
    """Add the points that `groups` trains to `writer` as their groups finish; always leaves a final status.

    `groups` (`train_here`, or engine.cluster's `train_there`) yields the groups' events and a
    `GroupDone` per finished group, and returns True once every group has finished.
    """
    started = time.perf_counter()
    writer.descriptions = METRICS | REFERENCE_METRICS | {"epoch": "epoch number, from 1"}
    status, error = "stopped", ""
    journal = InProgress(writer, points)
    try:
        yield RunStarted(
            str(writer.path),
            int(writer.attrs["total_points"]),
            writer.attrs["device"],
            cfg.to_json(),
            len(writer.points),
        )
        while True:
            try:
                item = next(groups)
            except StopIteration as done:
                status = "complete" if done.value else status
                break
            if isinstance(item, GroupDone):
                writer.add(item.records)
                journal.finished(item.records)
                remove_checkpoint(item.checkpoint)
                yield from finished_events(item.records)
            else:
                journal.observe(item)
                yield item
    except torch.cuda.OutOfMemoryError as exc:
        status, error = "failed", f"CUDA out of memory: {exc}"
        raise ResourceError(out_of_memory_advice(cfg)) from None
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        groups.close()
        close_writer(writer, status, error)
    yield RunFinished(str(writer.path), status, len(writer.points), time.perf_counter() - started, error)


def train_here(cfg, points: list[Point], writer: RunWriter, cache: DataCache, device, stop) -> Iterator:
    """Train the groups in this process, one after another; True once all finished, False if stopped."""
    total = int(writer.attrs["total_points"])
    for group in plan_groups(points):
        if stop():
            return False
        datasets = {p.index: cache.get(p.config, p.seed) for p in group}
        checkpoint = group_checkpoint(cfg, group, writer.path, device)
        results = yield from train_group(group, datasets, device, total, stop, checkpoint)
        if results is None:
            return False
        yield GroupDone([result.record for result in results], checkpoint.path)
    return True


def finished_events(records: list[PointRecord]) -> Iterator[PointFinished]:
    for record in records:
        yield PointFinished(
            record.index, record.seed, record.values, record.finals(), record.arrays, record.attrs, record.diverged
        )


def group_checkpoint(cfg: ExperimentConfig, group: list[Point], run_path, device) -> GroupCheckpoint:
    """The group's checkpoint beside the run file; it matches this config and device type, wherever it runs."""
    key = f"{cfg.model_dump_json(exclude={'run': {'device'}})}|{device.type}"
    return GroupCheckpoint(run_path, [p.index for p in group], key, cfg.run.checkpoint_seconds)


class InProgress:
    """The curves so far of points still training, journaled every `writer.checkpoint_seconds`.

    A kill then loses at most that much of a long group. A group that starts again (a task retried
    elsewhere, replaying its checkpoint) replaces the epochs it repeats.
    """

    def __init__(self, writer: RunWriter, points: list[Point]):
        self.writer, self.points = writer, {p.index: p for p in points}
        self.curves: dict[int, dict[str, RoleResult]] = {}
        self.last = time.monotonic()

    def finished(self, records: list[PointRecord]) -> None:
        for record in records:
            self.curves.pop(record.index, None)

    def observe(self, event: Event) -> None:
        if not isinstance(event, EpochMetrics):
            return
        result = self.curves.setdefault(event.point, {}).setdefault(event.role, RoleResult())
        if result.curves.get("epoch") and event.epoch <= result.curves["epoch"][-1]:
            keep = sum(e < event.epoch for e in result.curves["epoch"])
            result.curves = {m: v[:keep] for m, v in result.curves.items()}
        result.add(event.epoch, event.metrics)
        if time.monotonic() - self.last >= self.writer.checkpoint_seconds:
            records = [progress_record(self.points[p], roles) for p, roles in self.curves.items() if roles]
            self.writer.save_progress(records)
            self.last = time.monotonic()


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
