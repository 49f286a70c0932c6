"""Sampler-ness (Kaplun et al.): each role's clean-test confusion matrix, to set beside the noise matrix T."""

from engine.diagnostics.base import register_diagnostic
from engine.metrics import confusion_matrix


def confusion_arrays(cfg, data, index: int, outcome):
    """Store `confusion_<role>` (row = true class, column = prediction, rows sum to 1) for every role."""
    for role, learner in outcome.learners.items():
        pred = outcome.test_pred.get(role)
        if pred is None:
            pred = learner.predict_logits(data.x_test).argmax(1)
        outcome.arrays[f"confusion_{role}"] = confusion_matrix(pred, data.y_test, data.n_classes)
    yield from ()


register_diagnostic(
    "confusion",
    lambda cfg: cfg.data.noise > 0,
    "each role's row-normalized confusion matrix on the clean test set",
    after=confusion_arrays,
)
