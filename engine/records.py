"""A run's points as plain Python and numpy: curves per role, final and best-epoch values, the summary table."""

import math
from dataclasses import dataclass, field
from functools import cached_property

import h5py
import numpy as np

from engine.axes import sweep_axes
from engine.roles import ordered

# Swept choices are stored as fixed-length UTF-8 (variable-length strings refuse checksums); config choice
# names are short identifiers, far below this length.
TEXT = h5py.string_dtype("utf-8", 64)


@dataclass
class PointRecord:
    """One finished point as stored: its curves per role and metric, final values, small arrays."""

    index: int
    seed: int
    values: dict[str, float | str]
    curves: dict[str, dict[str, np.ndarray]]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)
    diverged: dict[str, int] = field(default_factory=dict)

    def final(self, role: str, metric: str) -> float:
        """The role's last value of `metric`, or its best-epoch values (`best_epoch`, `best_test_error`)."""
        if role not in self.curves:
            return float("nan")
        return final_metrics({role: self.curves[role]})[role].get(metric, float("nan"))

    def finals(self) -> dict[str, dict[str, float]]:
        return final_metrics(self.curves)


def final_metrics(curves: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Each role's last value of every metric, plus its best epoch and the test error there.

    The best epoch is the one with the lowest validation error (the first, on ties): a choice a
    practitioner can make, since the validation labels carry the same noise as S. The test set is
    only read at the chosen epoch. Roles without a validation error get NaN for both.
    """
    finals = {}
    for role, series in curves.items():
        final = {metric: float(values[-1]) for metric, values in series.items() if len(values)}
        nothing = np.zeros(0)
        epochs, val, test = (series.get(k, nothing) for k in ("epoch", "val_error", "test_error"))
        final["best_epoch"], final["best_test_error"] = best_epoch(epochs, val, test)
        finals[role] = final
    return finals


def best_epoch(epochs: np.ndarray, val_error: np.ndarray, test_error: np.ndarray) -> tuple[float, float]:
    """The epoch of lowest validation error (the first on ties) and the test error there; NaNs without one."""
    val_error = np.asarray(val_error, dtype=float)
    if not np.isfinite(val_error).any():
        return math.nan, math.nan
    at = int(np.nanargmin(val_error))
    return float(epochs[at]), float(test_error[at])


@dataclass
class RunData:
    """A run file loaded into plain Python and numpy (see docs/run-file.md for the layout)."""

    path: str
    attrs: dict
    config: dict
    status: str
    points: list[PointRecord]
    damaged: list[str] = field(default_factory=list)
    in_progress: list[PointRecord] = field(default_factory=list)

    @cached_property
    def summary(self) -> dict[str, np.ndarray]:
        """Every point's final and best-epoch values as columns (see `summary_table`), computed when first read.

        A choice axis's column holds Python strings here (the run file stores them as UTF-8 bytes).
        """
        table = summary_table(self.points, self.axes)
        return {k: np.char.decode(v, "utf-8") if v.dtype == TEXT else v for k, v in table.items()}

    @property
    def axes(self) -> list[str]:
        return [axis.key for axis in sweep_axes(self.config["sweep"])]

    @property
    def roles(self) -> list[str]:
        return ordered({role for p in self.points for role in p.curves})


def summary_table(points: list[PointRecord], axes: list[str]) -> dict[str, np.ndarray]:
    """Columns of every point's final metrics: point, seed, the swept values, then role.metric.

    Each role also has `best_epoch` and `best_test_error` (see `final_metrics`) and `steps`, its
    optimizer steps, so that every comparison in the table states its budgets.
    """
    table: dict[str, list] = {"point": [], "seed": [], **{a: [] for a in axes}}
    finals = [p.finals() for p in points]
    metrics = sorted({(r, m) for final in finals for r, c in final.items() for m in c})
    for role, metric in metrics:
        table[f"{role}.{metric}"] = []
    for p, final in zip(points, finals, strict=True):
        table["point"].append(p.index)
        table["seed"].append(p.seed)
        for a in axes:
            table[a].append(p.values.get(a, np.nan))
        for role, metric in metrics:
            table[f"{role}.{metric}"].append(final.get(role, {}).get(metric, np.nan))
    # a choice axis is a column of strings, typed so that h5py stores it as UTF-8 text
    return {k: np.asarray(v, dtype=TEXT if any(isinstance(x, str) for x in v) else None) for k, v in table.items()}
