"""Model families, each registered by name with the knobs it reads."""

from engine.models import closed_form, neural, resnet, simple  # noqa: F401  (registration)
from engine.models.base import FAMILIES, FamilyInfo, Learner, Targets

__all__ = ["FAMILIES", "FamilyInfo", "Learner", "Targets", "build_learner"]


def build_learner(spec, train, n_in: int, n_classes: int, seed: int, device) -> Learner:
    """A fresh, untrained learner of family `spec.model` (every family takes the same arguments)."""
    return FAMILIES[spec.model].build(spec, train, n_in, n_classes, seed, device)
