"""The diagnostic contract: extra per-point measurements and closed-form reference curves."""

from collections.abc import Callable
from dataclasses import dataclass

from engine.registry import Registry

DIAGNOSTICS: Registry = Registry("diagnostic")


@dataclass(frozen=True)
class Diagnostic:
    """A per-point diagnostic.

    Attributes
    ----------
    applies : cfg -> bool, whether the diagnostic runs for this experiment
    watch : (cfg, data) -> a watcher with `roles` (the roles it follows), `observe(role, epoch, learner)`
        (called at epoch 0, before training, and after every epoch of those roles) and `findings()`;
        or None
    after : (cfg, data, roles) -> engine.outcomes.Findings, run once every role is trained (`roles`
        maps a role to its engine.outcomes.RoleResult); or None
    """

    applies: Callable
    watch: Callable | None
    after: Callable | None
    description: str


def register_diagnostic(name: str, applies: Callable, description: str, *, watch=None, after=None) -> None:
    """Register a diagnostic under `name`; see `Diagnostic` for the hooks."""
    DIAGNOSTICS.register(name)(Diagnostic(applies, watch, after, description))
