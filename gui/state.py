"""What the views draw: a run's curves and final values, kept in preallocated numpy buffers."""

from dataclasses import dataclass, field

import numpy as np

from engine.compare import interpolation_threshold
from engine.events import EpochMetrics, PointFinished, PointStarted, RunStarted
from engine.runfile import MAIN_ROLES, RunData, best_epoch, final_metrics
from gui.palette import is_model_role

CURVE_METRICS = ("train_loss", "train_error", "train_error_clean", "test_error", "val_error", "steps")
# First sweep axes that set the size of the teacher, so the teacher can interpolate beyond some value.
TEACHER_SIZE_AXES = {"teacher.width": None, "data.dim": "linear_regression"}


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
class PointResult:
    """A finished point as the sweep views need it."""

    index: int
    seed: int
    values: dict[str, float]
    final: dict[str, dict[str, float]]
    bayes_error: float | None = None


@dataclass
class RunState:
    """A run as displayed: live (fed events) or loaded from a run file.

    `version` increases at every change so the timer-driven views redraw only when needed.
    """

    name: str = ""
    dataset: str = ""
    axes: list[str] = field(default_factory=list)
    grid: list[list[float]] = field(default_factory=list)
    total_points: int = 0
    current_point: int = -1
    curves: dict[str, CurveBuffer] = field(default_factory=dict)
    points: list[PointResult] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    training: set[int] = field(default_factory=set)
    version: int = 0

    @classmethod
    def from_config(cls, config: dict, total_points: int = 0) -> "RunState":
        sweep = config["sweep"]
        pairs = [(sweep["axis"], sweep["values"]), (sweep["axis2"], sweep["values2"])]
        axes = [a for a, _ in pairs if a]
        grid = [list(v) for a, v in pairs if a]
        dataset = config.get("data", {}).get("dataset", "")
        return cls(name=config["run"]["name"], dataset=dataset, axes=axes, grid=grid, total_points=total_points)

    @classmethod
    def from_run(cls, data: RunData) -> "RunState":
        """The state of a run file: every finished point, and the last point's curves and arrays."""
        state = cls.from_config(data.config, int(data.attrs.get("total_points", len(data.points))))
        for p in data.points:
            final = final_metrics(p.curves)
            state.points.append(PointResult(p.index, p.seed, p.values, final, p.attrs.get("bayes_error")))
        if data.points:
            last = data.points[-1]
            state.current_point = last.index
            state.curves = {r: CurveBuffer.from_arrays(c) for r, c in last.curves.items()}
            state.arrays = last.arrays
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
            bayes = event.attrs.get("bayes_error")
            self.points.append(PointResult(event.index, event.seed, event.values, event.final, bayes))
            if event.arrays:
                self.arrays = event.arrays
        else:
            return
        self.version += 1

    @property
    def roles(self) -> list[str]:
        present = set(self.curves) | {r for p in self.points for r in p.final}
        return [r for r in MAIN_ROLES if r in present] + sorted(present - set(MAIN_ROLES))

    @property
    def bayes_error(self) -> float | None:
        known = [p.bayes_error for p in self.points if p.bayes_error is not None]
        return float(np.mean(known)) if known else None

    @property
    def metrics(self) -> list[str]:
        """Final metrics with a finite value for some role, test_error first."""
        found = {m for p in self.points for c in p.final.values() for m, v in c.items() if np.isfinite(v)}
        found.discard("epoch")
        return sorted(found, key=lambda m: (m != "test_error", m))

    def reference_metric(self) -> str | None:
        """The metric the closed-form reference roles predict (test_loss for Hastie), if any."""
        for p in self.points:
            for role, final in p.final.items():
                if not is_model_role(role):
                    finite = [m for m, v in final.items() if m != "epoch" and np.isfinite(v)]
                    if finite:
                        return finite[0]
        return None

    def second_values(self) -> list[float | None]:
        """The second-axis values the sweep draws one curve for; [None] when it has fewer than two."""
        if len(self.axes) < 2 or len(self.grid[1]) < 2:
            return [None]
        return list(self.grid[1])

    def sweep_stats(
        self, role: str, metric: str = "test_error", second: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Axis values (first axis), mean and std over seeds, sorted by axis value.

        With `second`, only the points at that value of the second axis; without, every point (so a
        second axis is pooled). Non-finite values (a reference role's unpredicted metrics) are left out.
        """
        if not self.axes:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        groups: dict[float, list[float]] = {}
        for p in self.points:
            if second is not None and p.values.get(self.axes[1]) != second:
                continue
            value = p.final.get(role, {}).get(metric, np.nan)
            if np.isfinite(value):
                groups.setdefault(p.values[self.axes[0]], []).append(value)
        xs = np.array(sorted(groups), dtype=float)
        mean = np.array([np.mean(groups[x]) for x in xs])
        std = np.array([np.std(groups[x]) for x in xs])
        return xs, mean, std

    def sweeps_teacher_size(self) -> bool:
        """Whether the first axis is a size of the teacher: its width, or the input dimension d of
        linear regression (whose teacher has one feature per input)."""
        if not self.axes or self.axes[0] not in TEACHER_SIZE_AXES:
            return False
        dataset = TEACHER_SIZE_AXES[self.axes[0]]
        return dataset is None or dataset == self.dataset

    def interpolation_threshold(self) -> float | None:
        """The first teacher size at which the teacher fits its noisy labels (mean over points, see
        `engine.compare.interpolation_threshold`).

        None when the first axis is not a size of the teacher: on other axes (pool size, α, noise)
        a zero train error marks no threshold.
        """
        if not self.sweeps_teacher_size():
            return None
        return interpolation_threshold(*self.sweep_stats("teacher", "train_error")[:2])

    def grid_values(self, role: str, metric: str = "test_error") -> np.ndarray:
        """Mean over seeds of a final metric on the two-axis grid; NaN where no point finished yet."""
        if len(self.axes) < 2:
            return np.zeros((0, 0))
        first, second = self.grid
        sums = np.zeros((len(first), len(second)))
        counts = np.zeros_like(sums)
        for p in self.points:
            if role not in p.final or metric not in p.final[role]:
                continue
            i = first.index(p.values[self.axes[0]])
            j = second.index(p.values[self.axes[1]])
            sums[i, j] += p.final[role][metric]
            counts[i, j] += 1
        with np.errstate(invalid="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
