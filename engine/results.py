"""What a run's finished points show: means over seeds per swept value, the interpolation threshold,
the two-axis grid, the Bayes error and the metric the reference roles predict.

The analysis works on plain finished-point data, so the GUI's live views (points folded from events),
the publication figures and `main.py show` (points of a loaded run file) compute the same numbers.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from engine.axes import Axis, sweep_axes
from engine.roles import is_model_role, ordered

# A teacher interpolates S when it misfits at most this share of it (one example in 500), noisy labels
# included: Adam's mini-batch noise can leave one example in a thousand unfit after the rest are memorized.
INTERPOLATED = 0.002
# First sweep axes that set the size of the teacher, so the teacher can interpolate beyond some value,
# and the only dataset where they do (None: every dataset). Linear regression's teacher has one
# feature per input, so there the input dimension d is its size.
TEACHER_SIZE_AXES = {"teacher.width": None, "data.dim": "linear_regression"}


def interpolation_threshold(sizes, train_errors) -> float | None:
    """The smallest teacher size whose noisy train error is at most INTERPOLATED, or None.

    `train_errors` is the teacher's train error at each size (mean over seeds, or one seed).
    """
    reached = [s for s, e in sorted(zip(sizes, train_errors, strict=True)) if e <= INTERPOLATED]
    return float(reached[0]) if reached else None


@dataclass(frozen=True)
class PointResult:
    """A finished point: its swept values, seed, each role's final metrics and the data's Bayes error."""

    index: int
    seed: int
    values: dict[str, float | str]
    final: dict[str, dict[str, float]]
    bayes_error: float | None = None

    @classmethod
    def from_record(cls, record) -> "PointResult":
        """The result of a stored point (`engine.runfile.PointRecord`)."""
        return cls(record.index, record.seed, record.values, record.finals(), record.attrs.get("bayes_error"))

    @classmethod
    def from_event(cls, event) -> "PointResult":
        """The result a `PointFinished` event carries."""
        return cls(event.index, event.seed, event.values, event.final, event.attrs.get("bayes_error"))

    def final_value(self, role: str, metric: str) -> float:
        """The role's final `metric`; NaN when the role or the metric is missing."""
        return self.final.get(role, {}).get(metric, math.nan)


def axis_position(axis: Axis, value) -> float:
    """Where a swept value sits on its axis: the number itself, or a choice's place in the sweep (0, 1, …)."""
    return float(axis.values.index(value)) if axis.categorical else float(value)


def group_by(points: list[PointResult], keys: list[str]) -> dict[tuple, list[PointResult]]:
    """The points grouped by their values of the swept `keys`, groups in order of first appearance."""
    groups: dict[tuple, list[PointResult]] = {}
    for point in points:
        groups.setdefault(tuple(point.values.get(k, math.nan) for k in keys), []).append(point)
    return groups


@dataclass
class Results:
    """A run's finished points with its swept axes (first, then second) and its dataset.

    Built from a run file (`from_run`) or from a config, with points added as they finish.
    """

    axes: list[Axis] = field(default_factory=list)
    dataset: str = ""
    points: list[PointResult] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: dict) -> "Results":
        """No points yet, the axes and dataset of a config dict (as run files store it)."""
        return cls(sweep_axes(config["sweep"]), config.get("data", {}).get("dataset", ""))

    @classmethod
    def from_run(cls, data) -> "Results":
        """Every finished point of a loaded run (`engine.runfile.RunData`)."""
        results = cls.from_config(data.config)
        results.points = [PointResult.from_record(p) for p in data.points]
        return results

    @property
    def keys(self) -> list[str]:
        """The swept config keys, first axis first."""
        return [axis.key for axis in self.axes]

    @property
    def roles(self) -> list[str]:
        return ordered({role for p in self.points for role in p.final})

    @property
    def bayes_error(self) -> float | None:
        """The mean over points of the data's Bayes-optimal error, when the data know it."""
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

    def by_value(self) -> dict[tuple, list[PointResult]]:
        """The points grouped by their swept values: one group per cell of the grid, seeds together."""
        return group_by(self.points, self.keys)

    def second_values(self) -> list[float | str | None]:
        """The second-axis values the sweep draws one curve for; [None] when it has fewer than two."""
        if len(self.axes) < 2 or len(self.axes[1].values) < 2:
            return [None]
        return list(self.axes[1].values)

    def sweep_stats(
        self, role: str, metric: str = "test_error", second: float | str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First-axis values, mean and std over seeds of the role's final metric, sorted by axis value.

        A categorical first axis gives each choice's place in the sweep's order (see `axis_position`).

        With `second`, only the points at that value of the second axis; without, every point (so a
        second axis is pooled). Non-finite values (a reference role's unpredicted metrics) are left out.
        """
        if not self.axes:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        chosen = [p for p in self.points if second is None or p.values.get(self.axes[1].key) == second]
        found = {}
        for (value,), points in group_by(chosen, self.keys[:1]).items():
            finite = [v for v in (p.final_value(role, metric) for p in points) if np.isfinite(v)]
            if finite:
                found[axis_position(self.axes[0], value)] = finite
        xs = np.array(sorted(found), dtype=float)
        return xs, np.array([np.mean(found[x]) for x in xs]), np.array([np.std(found[x]) for x in xs])

    def sweeps_teacher_size(self) -> bool:
        """Whether the first axis is a size of the teacher (see TEACHER_SIZE_AXES)."""
        if not self.axes or self.axes[0].key not in TEACHER_SIZE_AXES:
            return False
        dataset = TEACHER_SIZE_AXES[self.axes[0].key]
        return dataset is None or dataset == self.dataset

    def interpolation_threshold(self) -> float | None:
        """The first teacher size at which the teacher fits its noisy labels (mean over seeds).

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
        first, second = self.axes
        grid = np.full((len(first.values), len(second.values)), np.nan)
        for (x, y), points in self.by_value().items():
            known = [p.final[role][metric] for p in points if metric in p.final.get(role, {})]
            if known:
                grid[first.values.index(x), second.values.index(y)] = np.mean(known)
        return grid
