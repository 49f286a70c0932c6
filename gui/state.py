"""What the views draw: the current point's curves in preallocated numpy buffers, and the run's results."""

from dataclasses import dataclass, field

import numpy as np

from engine.events import EpochMetrics, PointFinished, PointStarted, RunStarted
from engine.results import PointResult, Results
from engine.runfile import RunData, best_epoch

CURVE_METRICS = ("train_loss", "train_error", "train_error_clean", "test_error", "val_error", "steps")


class CurveBuffer:
    """One role's per-epoch metrics for the current point, in arrays allocated once per point.

    Parameters
    ----------
    epochs : int
        Capacity: the number of epochs the role will report.
    """

    def __init__(self, epochs: int):
        self.count = 0
        self.epoch = np.zeros(epochs)
        self.series = {m: np.full(epochs, np.nan) for m in CURVE_METRICS}

    def append(self, epoch: int, metrics: dict[str, float]) -> None:
        """Add an epoch; one at or before the last (a group retried from its checkpoint) replaces from there."""
        if self.count and epoch <= self.epoch[self.count - 1]:
            self.count = int(np.searchsorted(self.epoch[: self.count], epoch))
        if self.count == len(self.epoch):
            self.grow()
        self.epoch[self.count] = epoch
        for name, values in self.series.items():
            values[self.count] = metrics.get(name, np.nan)
        self.count += 1

    def grow(self) -> None:
        size = max(1, 2 * len(self.epoch))
        self.epoch = np.resize(self.epoch, size)
        self.series = {m: np.concatenate([v, np.full(size - len(v), np.nan)]) for m, v in self.series.items()}

    def view(self, metric: str, x: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
        """Epochs (or, with x = 'steps', optimizer steps) and values filled so far (views, no copy)."""
        xs = self.epoch if x == "epoch" else self.series[x]
        return xs[: self.count], self.series[metric][: self.count]

    def best(self, x: str = "epoch") -> tuple[float, float] | None:
        """(epoch or steps, test error) where the validation error so far is lowest; None without one."""
        xs, val = self.view("val_error", x)
        at, test = best_epoch(xs, val, self.view("test_error")[1])
        return None if np.isnan(at) else (at, test)

    @classmethod
    def from_arrays(cls, curves: dict[str, np.ndarray]) -> "CurveBuffer":
        epochs = np.asarray(curves.get("epoch", []), dtype=float)
        buffer = cls(max(1, len(epochs)))
        buffer.count = len(epochs)
        buffer.epoch[: len(epochs)] = epochs
        for name in CURVE_METRICS:
            if name in curves:
                buffer.series[name][: len(epochs)] = curves[name]
        return buffer


@dataclass
class RunState:
    """A run as displayed: live (fed events) or loaded from a run file.

    `results` holds the finished points the sweep views analyse; the rest is the current point's
    curves and arrays. `in_progress` lists the points of a run file that were still training when it
    was last saved (the current point is the first, its curves so far); they are not in `results`.
    `version` increases at every change so the timer-driven views redraw only when needed.
    """

    name: str = ""
    total_points: int = 0
    current_point: int = -1
    curves: dict[str, CurveBuffer] = field(default_factory=dict)
    results: Results = field(default_factory=Results)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    training: set[int] = field(default_factory=set)
    in_progress: list[int] = field(default_factory=list)
    version: int = 0

    @classmethod
    def from_config(cls, config: dict, total_points: int = 0) -> "RunState":
        return cls(name=config["run"]["name"], total_points=total_points, results=Results.from_config(config))

    @classmethod
    def from_run(cls, data: RunData) -> "RunState":
        """The state of a run file: every finished point, the last one's arrays, and the curves of the
        first point still training when the file was saved (of the last finished point if none was)."""
        total = int(data.attrs.get("total_points", len(data.points)))
        state = cls(name=data.config["run"]["name"], total_points=total, results=Results.from_run(data))
        if data.points:
            state.arrays = data.points[-1].arrays
        shown = data.in_progress[:1] or data.points[-1:]
        if shown:
            state.current_point = shown[0].index
            state.curves = {r: CurveBuffer.from_arrays(c) for r, c in shown[0].curves.items()}
        state.in_progress = [p.index for p in data.in_progress]
        state.version = 1
        return state

    def apply(self, event) -> None:
        """Fold one engine event into the buffers."""
        if isinstance(event, RunStarted):
            self.total_points = event.total_points
        elif isinstance(event, PointStarted):
            # Points trained together start together: keep showing the first until it finishes.
            if self.current_point not in self.training:
                self.current_point = event.index
                self.curves = {}
            self.training.add(event.index)
        elif isinstance(event, EpochMetrics):
            if event.point != self.current_point:
                return
            if event.role not in self.curves:
                self.curves[event.role] = CurveBuffer(event.epochs)
            self.curves[event.role].append(event.epoch, event.metrics)
        elif isinstance(event, PointFinished):
            self.training.discard(event.index)
            self.results.points.append(PointResult.from_event(event))
            if event.arrays:
                self.arrays = event.arrays
        else:
            return
        self.version += 1
