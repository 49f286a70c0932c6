"""Per-point diagnostics: closed-form references, sampler confusion matrices and the empirical NTK."""

from engine.diagnostics import nearest, ntk, sampler, theory  # noqa: F401  (registration)
from engine.diagnostics.base import DIAGNOSTICS, register_diagnostic
from engine.outcomes import Findings

__all__ = ["DIAGNOSTICS", "after_point", "register_diagnostic", "watchers"]


def active(cfg):
    return [DIAGNOSTICS[name] for name in DIAGNOSTICS.names() if DIAGNOSTICS[name].applies(cfg)]


def watchers(cfg, data) -> list:
    """The watchers of the active diagnostics that follow roles during training."""
    return [diagnostic.watch(cfg, data) for diagnostic in active(cfg) if diagnostic.watch is not None]


def after_point(cfg, data, roles: dict) -> list[Findings]:
    """What the active diagnostics' end-of-point hooks find, given every trained role's result."""
    return [diagnostic.after(cfg, data, roles) for diagnostic in active(cfg) if diagnostic.after is not None]
