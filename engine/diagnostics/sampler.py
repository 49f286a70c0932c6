"""Sampler-ness (Kaplun et al.): each role's clean-test confusion matrix, to set beside the noise matrix T."""

from engine.diagnostics.base import register_diagnostic
from engine.metrics import confusion_matrix
from engine.outcomes import Findings


def confusion_arrays(cfg, data, roles: dict) -> Findings:
    """`confusion_<role>` (row = true class, column = prediction, rows sum to 1) for every trained role."""
    arrays = {}
    for role, result in roles.items():
        if result.learner is not None and result.test_pred is not None:
            arrays[f"confusion_{role}"] = confusion_matrix(result.test_pred, data.y_test, data.n_classes)
    return Findings(arrays=arrays)


register_diagnostic(
    "confusion",
    lambda cfg: cfg.data.noise > 0,
    "each role's row-normalized confusion matrix on the clean test set",
    after=confusion_arrays,
)
