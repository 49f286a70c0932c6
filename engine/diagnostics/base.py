"""The diagnostic contract: extra per-point measurements and closed-form reference curves."""

import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.events import EpochMetrics
from engine.metrics import METRICS
from engine.registry import Registry

DIAGNOSTICS: Registry = Registry("diagnostic")


@dataclass(frozen=True)
class Diagnostic:
    """A per-point diagnostic.

    Attributes
    ----------
    applies : cfg -> bool, whether the diagnostic runs for this experiment
    watch : (cfg, data, outcome) -> {role: callback(epoch, learner)}, called at epoch 0 (before
        training) and after every epoch of those roles, or None
    after : (cfg, data, index, outcome) -> iterator of EpochMetrics, run once all roles are trained;
        it may add arrays and attrs to `outcome`, or None
    """

    applies: Callable
    watch: Callable | None
    after: Callable | None
    description: str


def register_diagnostic(name: str, applies: Callable, description: str, *, watch=None, after=None) -> None:
    """Register a diagnostic under `name`; see `Diagnostic` for the hooks."""
    DIAGNOSTICS.register(name)(Diagnostic(applies, watch, after, description))


def reference_event(index: int, role: str, values: dict[str, float]) -> EpochMetrics:
    """A closed-form or auxiliary curve stored like a role with one epoch: every metric NaN but `values`.

    Storing references as roles puts them in the run file's curves and summary table, so every
    sweep view draws them next to the teacher, student and baseline.
    """
    return EpochMetrics(index, role, 1, 1, {**dict.fromkeys(["train_loss", *METRICS], math.nan), **values})
