"""The run: expand the sweep into points and yield events while training them, writing the run file."""

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config import ExperimentConfig, with_values
from engine.datasets import Dataset, build_dataset
from engine.errors import ConfigError
from engine.events import Event, PointFinished, PointStarted, RunFinished, RunStarted
from engine.metrics import METRICS, DeviceData
from engine.point import PointOutcome, decision_regions, run_point
from engine.runfile import MAIN_ROLES, PointRecord, RunWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Point:
    """One (sweep values, seed) combination and the config it runs with."""

    index: int
    seed: int
    values: dict[str, float]
    config: ExperimentConfig


def expand_points(cfg: ExperimentConfig) -> list[Point]:
    """Every point of the sweep: values of the first axis, then the second, then seeds innermost."""
    s = cfg.sweep
    axes = [(a, v) for a, v in ((s.axis, s.values), (s.axis2, s.values2)) if a]
    grid = itertools.product(*(values for _, values in axes), s.seeds)
    points = []
    for index, combo in enumerate(grid):
        values = {axis: float(v) for (axis, _), v in zip(axes, combo[:-1], strict=True)}
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

    def get(self, cfg: ExperimentConfig, seed: int) -> tuple[Dataset, DeviceData]:
        key = (cfg.data.model_dump_json(), seed)
        if key not in self.entries:
            if len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)))
            data = build_dataset(cfg.data, cfg.data.seed + seed)
            self.entries[key] = (data, DeviceData.from_dataset(data, self.device))
        return self.entries[key]


def point_arrays(data: Dataset, outcome: PointOutcome, device_data: DeviceData) -> dict[str, np.ndarray]:
    """Small per-point arrays for the views: decision regions and training points of 2-D data."""
    if data.dim != 2:
        return {}
    main = {r: learner for r, learner in outcome.learners.items() if r in MAIN_ROLES}
    return {
        **decision_regions(main, device_data.x_train),
        "train_x": data.x_train,
        "train_y_noisy": data.y_train,
        "train_y_clean": data.y_train_clean,
    }


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
    started = time.perf_counter()
    device = resolve_device(cfg.run.device)
    points = expand_points(cfg)
    axes = [a for a in (cfg.sweep.axis, cfg.sweep.axis2) if a]
    cache = DataCache(device)
    cache.get(points[0].config, points[0].seed)  # a broken data file fails here, before any run file exists
    writer = RunWriter(Path(path), cfg.to_json(), device_label(device), len(points), axes, force=force)
    writer.descriptions = METRICS | {"epoch": "epoch number, from 1"}
    status, error = "stopped", ""
    try:
        yield RunStarted(str(path), len(points), device_label(device), cfg.to_json())
        for point in points:
            if stop():
                break
            yield PointStarted(point.index, len(points), point.seed, point.values)
            record = yield from train_point(point, cache, device, stop)
            if record is None:
                break
            writer.add(record)
            yield PointFinished(
                record.index,
                record.seed,
                record.values,
                {role: {m: float(s[-1]) for m, s in c.items()} for role, c in record.curves.items()},
                record.arrays,
                record.attrs,
            )
        else:
            status = "complete"
    except GeneratorExit:
        status = "stopped"
        raise
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        writer.finish(status, error)
        log.info("run %s %s after %d points", path, status, len(writer.points))
    yield RunFinished(str(path), status, len(writer.points), time.perf_counter() - started, error)


def train_point(point: Point, cache: DataCache, device: torch.device, stop: Callable[[], bool]):
    """Yield a point's epoch events; return its record, or None if a stop came first."""
    data, device_data = cache.get(point.config, point.seed)
    outcome = PointOutcome()
    curves: dict[str, dict[str, list[float]]] = {}
    began = time.perf_counter()
    for event in run_point(point.config, device_data, point.seed, point.index, device, outcome):
        role = curves.setdefault(event.role, {"epoch": []})
        role["epoch"].append(event.epoch)
        for metric, value in event.metrics.items():
            role.setdefault(metric, []).append(value)
        yield event
        if stop():
            return None
    attrs = {"elapsed_s": time.perf_counter() - began}
    if data.bayes_error is not None:
        attrs["bayes_error"] = data.bayes_error
    arrays = point_arrays(data, outcome, device_data) | {"noise_transition": data.transition}
    return PointRecord(
        point.index,
        point.seed,
        point.values,
        {role: {m: np.asarray(v, dtype=np.int32 if m == "epoch" else np.float64) for m, v in c.items()} for role, c in curves.items()},
        arrays,
        attrs,
    )
