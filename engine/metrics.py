"""Per-epoch metrics of one trained role against noisy, clean and test labels."""

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from engine.datasets import Dataset
from engine.models import Learner

METRICS = {
    "train_loss": "loss on the role's own training targets (mean over the epoch)",
    "fit_error": "error against the role's own training targets",
    "train_error": "error on the labeled set against its noisy labels",
    "train_error_clean": "error on the labeled set against its clean labels",
    "memorized": "share of noisy-labeled training examples predicted with their noisy label",
    "val_error": "error on the validation split against its noisy labels (best epochs are chosen on it)",
    "test_loss": "loss on the clean test set",
    "test_error": "error on the clean test set",
    "agreement": "share of test examples where the role predicts what the teacher predicts",
    "sampler_distance": "mean row-wise total-variation distance between the clean-test confusion matrix and T",
    "steps": "optimizer steps taken so far (mini-batch training; 0 for closed-form and full-batch fits)",
}
# Metrics only closed-form reference roles report (see engine.diagnostics.base.reference_event).
REFERENCE_METRICS = {
    "excess_risk": "excess test risk of a least-squares fit on the real-valued targets, E(x·β̂ − x·β)²",
}


@dataclass(frozen=True)
class DeviceData:
    """A dataset's tensors, moved to the compute device once."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    y_train_clean: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_pool: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int
    transition: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    bayes_error: float | None = None

    @classmethod
    def from_dataset(cls, data: Dataset, device: torch.device) -> "DeviceData":
        def put(a):
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        return cls(
            put(data.x_train),
            put(data.y_train),
            put(data.y_train_clean),
            put(data.x_test),
            put(data.y_test),
            put(data.x_pool),
            put(data.x_val),
            put(data.y_val),
            data.n_classes,
            data.transition,
            data.info,
            data.bayes_error,
        )


def per_model_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss of each model on its labels; logits (M, n, C), labels (M, n) → (M,)."""
    if labels.shape[1] == 0:
        return torch.full(labels.shape[:1], math.nan, device=logits.device)
    if loss == "mse":
        goal = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
        return 0.5 * ((logits - goal) ** 2).sum(-1).mean(1)
    flat = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    return flat.reshape(labels.shape).mean(1)


def error(pred: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-model error rate of (M, n) predictions; NaN for an empty set."""
    return (pred != labels).float().mean(1)


def confusion_matrix(pred: torch.Tensor, labels: torch.Tensor, n_classes: int) -> np.ndarray:
    """Row-normalized confusion matrix: row = true class, column = prediction (empty rows stay 0)."""
    return confusion_matrices(pred.unsqueeze(0), labels.unsqueeze(0), n_classes)[0]


def confusion_matrices(pred: torch.Tensor, labels: torch.Tensor, n_classes: int) -> np.ndarray:
    """Row-normalized confusion matrices of M models' (M, n) predictions, copied out once: (M, C, C)."""
    models = torch.arange(len(pred), device=pred.device).unsqueeze(1)
    cells = (models * n_classes + labels) * n_classes + pred
    counts = torch.bincount(cells.reshape(-1), minlength=len(pred) * n_classes**2)
    counts = counts.reshape(len(pred), n_classes, n_classes).double().cpu().numpy()
    return counts / np.maximum(counts.sum(2, keepdims=True), 1)


def sampler_distance(confusion: np.ndarray, transition: np.ndarray | None) -> float:
    """Mean row-wise total-variation distance to T: 0 for a perfect conditional sampler of the noisy labels."""
    if transition is None:
        return math.nan
    return float(0.5 * np.abs(confusion - transition).sum(1).mean())


@dataclass(frozen=True)
class Labels:
    """The labels M models are scored against, one row per model: (M, n) each."""

    train: torch.Tensor
    train_clean: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    n_classes: int
    transition: np.ndarray | None

    @classmethod
    def of(cls, datasets: list[DeviceData]) -> "Labels":
        """The labels of each model's dataset, one row per model (datasets share classes and noise)."""
        rows = [torch.stack([getattr(d, k) for d in datasets]) for k in ("y_train", "y_train_clean", "y_val", "y_test")]
        return cls(*rows, datasets[0].n_classes, datasets[0].transition)


def batch_metrics(
    train_pred: torch.Tensor,
    val_pred: torch.Tensor,
    test_logits: torch.Tensor,
    fit_pred: torch.Tensor,
    fit_labels: torch.Tensor,
    labels: Labels,
    loss: str,
) -> tuple[list[dict[str, float]], torch.Tensor]:
    """Metrics of M models from their predictions, reduced on the device and copied out once.

    Shapes: train_pred (M, n), val_pred (M, n_val), test_logits (M, n_test, C), fit_pred and fit_labels (M, n_fit).
    Returns one dict per model and the (M, n_test) test predictions. Agreement with a teacher is
    measured by whoever knows the teacher (engine.outcomes).
    """
    test_pred = test_logits.argmax(-1)
    noisy = labels.train != labels.train_clean
    memorized = ((train_pred == labels.train) & noisy).sum(1) / noisy.sum(1)
    columns = {
        "fit_error": error(fit_pred, fit_labels),
        "train_error": error(train_pred, labels.train),
        "train_error_clean": error(train_pred, labels.train_clean),
        "memorized": memorized.float(),
        "val_error": error(val_pred, labels.val),
        "test_loss": per_model_loss(test_logits.float(), labels.test, loss).float(),
        "test_error": error(test_pred, labels.test),
    }
    table = torch.stack(list(columns.values()), 1).double().cpu().numpy()
    confusion = confusion_matrices(test_pred, labels.test, labels.n_classes)
    rows = []
    for values, matrix in zip(table, confusion, strict=True):
        row = {name: float(v) for name, v in zip(columns, values, strict=True)}
        rows.append(row | {"sampler_distance": sampler_distance(matrix, labels.transition)})
    return rows, test_pred


def evaluate(
    learner: Learner,
    data: DeviceData,
    fit_x: torch.Tensor,
    fit_labels: torch.Tensor,
) -> tuple[dict[str, float], torch.Tensor]:
    """Metrics of `learner` now, and its test predictions (for teacher–student agreement)."""
    train_pred = learner.predict_logits(data.x_train).argmax(1)
    val_pred = learner.predict_logits(data.x_val).argmax(1)
    test_logits = learner.predict_logits(data.x_test)
    fit_pred = train_pred if fit_x is data.x_train else learner.predict_logits(fit_x).argmax(1)
    rows, test_pred = batch_metrics(
        train_pred.unsqueeze(0),
        val_pred.reshape(1, -1),
        test_logits.unsqueeze(0),
        fit_pred.unsqueeze(0),
        fit_labels.unsqueeze(0),
        Labels.of([data]),
        learner.loss,
    )
    return rows[0], test_pred[0]
