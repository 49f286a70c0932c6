"""Per-point diagnostics: closed-form references, sampler confusion matrices and the empirical NTK."""

from collections.abc import Iterator

from engine.diagnostics import ntk, sampler, theory  # noqa: F401  (registration)
from engine.diagnostics.base import DIAGNOSTICS, reference_event, register_diagnostic

__all__ = ["DIAGNOSTICS", "after_point", "reference_event", "register_diagnostic", "watchers", "watches"]


def active(cfg):
    return [DIAGNOSTICS[name] for name in DIAGNOSTICS.names() if DIAGNOSTICS[name].applies(cfg)]


def watches(cfg) -> bool:
    """Whether an active diagnostic follows a role during training (such points train alone)."""
    return any(diagnostic.watch is not None for diagnostic in active(cfg))


def watchers(cfg, data, outcome) -> dict[str, list]:
    """Per role, the callbacks the active diagnostics want called at epoch 0 and after every epoch."""
    found: dict[str, list] = {}
    for diagnostic in active(cfg):
        if diagnostic.watch is not None:
            for role, callback in diagnostic.watch(cfg, data, outcome).items():
                found.setdefault(role, []).append(callback)
    return found


def after_point(cfg, data, index: int, outcome) -> Iterator:
    """Run the active diagnostics' end-of-point hooks, yielding their reference events."""
    for diagnostic in active(cfg):
        if diagnostic.after is not None:
            yield from diagnostic.after(cfg, data, index, outcome)
