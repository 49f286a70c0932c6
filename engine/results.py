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
# Point attributes holding sample-ratio thresholds as n_train values (diagnostic logistic_theory), and their labels
MARKERS = {
    "n_alpha_I": "α_I = η (student interpolates below)",
    "n_alpha_S": "α_S (student's data separable below)",
    "n_alpha_S_teacher": "α̃_S (teacher's data separable below)",
}


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
    markers: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record) -> "PointResult":
        """The result of a stored point (`engine.runfile.PointRecord`)."""
        return cls.from_parts(record.index, record.seed, record.values, record.finals(), record.attrs)

    @classmethod
    def from_event(cls, event) -> "PointResult":
        """The result a `PointFinished` event carries."""
        return cls.from_parts(event.index, event.seed, event.values, event.final, event.attrs)

    @classmethod
    def from_parts(cls, index, seed, values, final, attrs) -> "PointResult":
        markers = {k: float(attrs[k]) for k in MARKERS if k in attrs}
        return cls(index, seed, values, final, attrs.get("bayes_error"), markers)

    def final_value(self, role: str, metric: str) -> float:
        """The role's final `metric`; NaN when the role or the metric is missing."""
        return self.final.get(role, {}).get(metric, math.nan)


class Columns:
    """The points' swept values, Bayes errors and final metrics as numpy columns, one row per point.

    Filled as points arrive (`update`): a view of a 10 000-point run then groups and averages with
    numpy instead of walking Python objects on the GUI thread.
    """

    def __init__(self):
        self.rows, self.last, self.source = 0, None, None
        self.lists: dict[tuple, list] = {}
        self.arrays: dict[tuple, np.ndarray] = {}

    def update(self, points: list[PointResult], axes: list[Axis]) -> "Columns":
        """Fold in points appended since the last call (or start again if the list was replaced or reordered).

        Swept values are stored as their place on the axis (`axis_position`): a choice's index.
        """
        placed = {axis.key: axis for axis in axes}
        if (
            self.source is not points
            or self.rows > len(points)
            or (self.rows and points[self.rows - 1] is not self.last)
        ):
            self.__init__()
            self.source = points
        for point in points[self.rows :]:
            row = {("value", k): axis_position(placed[k], v) if k in placed else v for k, v in point.values.items()}
            row[("bayes",)] = math.nan if point.bayes_error is None else point.bayes_error
            row |= {(role, metric): v for role, final in point.final.items() for metric, v in final.items()}
            for column in [c for c in row if c not in self.lists]:  # in row order: the same on every run
                self.lists[column] = [math.nan] * self.rows
            for column, values in self.lists.items():
                values.append(row.get(column, math.nan))
            self.rows += 1
            self.arrays = {}
        self.last = points[self.rows - 1] if self.rows else None
        return self

    def __getitem__(self, column: tuple) -> np.ndarray:
        """A column as floats; NaN for rows (or a whole column) without a value."""
        if column not in self.arrays:
            found = self.lists.get(column)
            self.arrays[column] = np.full(self.rows, np.nan) if found is None else np.asarray(found, dtype=float)
        return self.arrays[column]

    def final_columns(self) -> list[tuple[str, str]]:
        return [c for c in self.lists if len(c) == 2 and c[0] != "value"]


def axis_position(axis: Axis, value) -> float:
    """Where a swept value sits on its axis: the number itself, or a choice's place in the sweep (0, 1, …).

    NaN for a choice the axis does not hold."""
    if not axis.categorical:
        return float(value)
    return float(axis.values.index(value)) if value in axis.values else math.nan


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
    folded: Columns = field(default_factory=Columns, repr=False, compare=False)

    def columns(self) -> Columns:
        """The points as columns, brought up to date with `points`."""
        return self.folded.update(self.points, self.axes)

    @classmethod
    def from_config(cls, config: dict) -> "Results":
        """No points yet, the axes and dataset of a config dict (as run files store it)."""
        return cls(sweep_axes(config["sweep"]), config.get("data", {}).get("dataset", ""))

    @classmethod
    def from_run(cls, data) -> "Results":
        """Every finished point of a loaded run (`engine.runfile.RunData`)."""
        results = cls.from_config(data.config)
        results.points = [PointResult.from_record(p) for p in data.points]
        columns = results.columns()  # here, where a run file is read (a worker thread in the app), not at first draw
        for column in list(columns.lists):
            columns[column]
        return results

    @property
    def keys(self) -> list[str]:
        """The swept config keys, first axis first."""
        return [axis.key for axis in self.axes]

    @property
    def roles(self) -> list[str]:
        return ordered({role for role, _ in self.columns().final_columns()})

    @property
    def bayes_error(self) -> float | None:
        """The mean over points of the data's Bayes-optimal error, when the data know it."""
        known = self.columns()[("bayes",)]
        known = known[np.isfinite(known)]
        return float(known.mean()) if len(known) else None

    @property
    def metrics(self) -> list[str]:
        """Final metrics with a finite value for some role, test_error first."""
        columns = self.columns()
        found = {m for r, m in columns.final_columns() if m != "epoch" and np.isfinite(columns[(r, m)]).any()}
        return sorted(found, key=lambda m: (m != "test_error", m))

    def reference_metric(self) -> str | None:
        """The metric the closed-form reference roles predict (excess_risk for Hastie), if any.

        The metric most reference roles hold values of; ties go to test_error, then by name. A reference
        that is itself a fit (Hastie's ridgeless) also has a train loss, which no theory curve predicts.
        """
        columns = self.columns()
        predicted: dict[str, int] = {}
        for role, metric in columns.final_columns():
            if not is_model_role(role) and metric != "epoch" and np.isfinite(columns[(role, metric)]).any():
                predicted[metric] = predicted.get(metric, 0) + 1
        if not predicted:
            return None
        return min(predicted, key=lambda metric: (-predicted[metric], metric != "test_error", metric))

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
        columns = self.columns()
        first, y = columns[("value", self.keys[0])], columns[(role, metric)]
        keep = np.isfinite(y) & np.isfinite(first)
        if second is not None:
            keep &= columns[("value", self.keys[1])] == axis_position(self.axes[1], second)
        xs, where = np.unique(first[keep], return_inverse=True)
        counts = np.bincount(where, minlength=len(xs))
        mean = np.bincount(where, y[keep], minlength=len(xs)) / np.maximum(counts, 1)
        spread = np.bincount(where, (y[keep] - mean[where]) ** 2, minlength=len(xs)) / np.maximum(counts, 1)
        return xs, mean, np.sqrt(spread)

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

    def sample_ratio_markers(self) -> dict[str, float]:
        """Label → n_train of each α-threshold the points know (mean over points); empty unless the
        first axis is data.n_train, the only axis on which they sit at a fixed place."""
        if not self.axes or self.axes[0].key != "data.n_train":
            return {}
        found = {}
        for key, label in MARKERS.items():
            known = [p.markers[key] for p in self.points if key in p.markers]
            if known:
                found[label] = float(np.mean(known))
        return found

    def grid_values(self, role: str, metric: str = "test_error") -> np.ndarray:
        """Mean over seeds of a final metric on the two-axis grid; NaN where no point finished yet."""
        if len(self.axes) < 2:
            return np.zeros((0, 0))
        first, second = self.axes
        grid = np.full((len(first.values), len(second.values)), np.nan)
        columns = self.columns()
        y = columns[(role, metric)]
        rows = position(columns[("value", first.key)], [axis_position(first, v) for v in first.values])
        cols = position(columns[("value", second.key)], [axis_position(second, v) for v in second.values])
        keep = np.isfinite(y) & (rows >= 0) & (cols >= 0)
        cells = rows[keep] * len(second.values) + cols[keep]
        counts = np.bincount(cells, minlength=grid.size)
        sums = np.bincount(cells, y[keep], minlength=grid.size)
        filled = counts > 0
        grid.reshape(-1)[filled] = sums[filled] / counts[filled]
        return grid


def position(values: np.ndarray, axis_values) -> np.ndarray:
    """Each value's index among an axis's values; -1 where it is not one of them."""
    axis_values = np.asarray(axis_values, dtype=float)
    order = np.argsort(axis_values)
    at = np.clip(np.searchsorted(axis_values[order], values), 0, len(order) - 1)
    return np.where(axis_values[order][at] == values, order[at], -1)
