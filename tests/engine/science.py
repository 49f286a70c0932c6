"""Run single experiment points in-process for the scientific tests, without writing run files."""

import torch

from engine.config import ExperimentConfig, validate
from engine.datasets import build_dataset
from engine.metrics import DeviceData
from engine.point import PointOutcome, run_point

CPU = torch.device("cpu")
torch.set_num_threads(1)  # these problems are tiny: on shared cores a second thread only adds waiting


def config(**sections) -> ExperimentConfig:
    """A validated config from section tables, run on the CPU."""
    return validate({**sections, "run": {"name": "science-test", "device": "cpu"}}, "science test")


def run_one(cfg: ExperimentConfig, seed: int = 0) -> tuple[dict[str, dict[str, float]], PointOutcome]:
    """Train one point; return each role's final metrics (references included) and the outcome."""
    outcome = PointOutcome()
    final = {}
    for event in run_point(cfg, device_data(cfg, seed), seed, 0, CPU, outcome):
        final[event.role] = event.metrics
    return final, outcome


def error_curves(cfg: ExperimentConfig, seed: int = 0) -> tuple[dict[str, list[float]], PointOutcome]:
    """Train one point; return each role's test error after every epoch, and the outcome."""
    outcome = PointOutcome()
    curves: dict[str, list[float]] = {}
    for event in run_point(cfg, device_data(cfg, seed), seed, 0, CPU, outcome):
        curves.setdefault(event.role, []).append(event.metrics["test_error"])
    return curves, outcome


def device_data(cfg: ExperimentConfig, seed: int = 0) -> DeviceData:
    """The point's dataset on the CPU."""
    return DeviceData.from_dataset(build_dataset(cfg.data, cfg.data.seed + seed), CPU)
