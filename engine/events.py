"""The small frozen events a run yields; CLI, GUI and tests all consume this one stream."""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    path: str
    total_points: int
    device: str
    config_json: str
    points_done: int = 0


@dataclass(frozen=True)
class PointStarted:
    index: int
    total: int
    seed: int
    values: dict[str, float | str]


@dataclass(frozen=True)
class EpochMetrics:
    """One role's metrics after one epoch (closed-form roles report a single epoch)."""

    point: int
    role: str
    epoch: int
    epochs: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class PointFinished:
    """A finished point: final metrics per role, small arrays (decision regions, …), and the epoch at which
    each diverged role's training loss stopped being finite."""

    index: int
    seed: int
    values: dict[str, float | str]
    final: dict[str, dict[str, float]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)
    diverged: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFinished:
    path: str
    status: str
    points_done: int
    elapsed: float
    error: str = ""


Event = RunStarted | PointStarted | EpochMetrics | PointFinished | RunFinished
