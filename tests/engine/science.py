"""Run single experiment points in-process for the scientific tests, without writing run files."""

import torch

from engine.config import ExperimentConfig, validate
from engine.datasets import build_dataset
from engine.metrics import DeviceData
from engine.protocol import Point, TrainedPoint, train_group

CPU = torch.device("cpu")
torch.set_num_threads(1)  # these problems are tiny: on shared cores a second thread only adds waiting


def config(**sections) -> ExperimentConfig:
    """A validated config from section tables, run on the CPU."""
    return validate({**sections, "run": {"name": "science-test", "device": "cpu"}}, "science test")


def train_one(cfg: ExperimentConfig, seed: int = 0) -> tuple[list, TrainedPoint]:
    """Train one point alone; return its events and its result (run-file record and role results)."""
    data = build_dataset(cfg.data, cfg.data.seed + seed)
    datasets = {0: (data, DeviceData.from_dataset(data, CPU))}
    training = train_group([Point(0, seed, {}, cfg)], datasets, CPU, 1, lambda: False)
    events = []
    while True:
        try:
            events.append(next(training))
        except StopIteration as done:
            return events, done.value[0]


def run_one(cfg: ExperimentConfig, seed: int = 0) -> tuple[dict[str, dict[str, float]], TrainedPoint]:
    """Train one point; return each role's final metrics (references included) and its result."""
    events, result = train_one(cfg, seed)
    return {e.role: e.metrics for e in events if hasattr(e, "role")}, result


def error_curves(cfg: ExperimentConfig, seed: int = 0) -> tuple[dict[str, list[float]], TrainedPoint]:
    """Train one point; return each role's test error after every epoch, and its result."""
    events, result = train_one(cfg, seed)
    curves: dict[str, list[float]] = {}
    for event in events:
        if hasattr(event, "role"):
            curves.setdefault(event.role, []).append(event.metrics["test_error"])
    return curves, result


def device_data(cfg: ExperimentConfig, seed: int = 0) -> DeviceData:
    """The point's dataset on the CPU."""
    return DeviceData.from_dataset(build_dataset(cfg.data, cfg.data.seed + seed), CPU)
