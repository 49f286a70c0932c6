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
    "test_loss": "loss on the clean test set",
    "test_error": "error on the clean test set",
    "agreement": "share of test examples where the role predicts what the teacher predicts",
    "sampler_distance": "mean row-wise total-variation distance between the clean-test confusion matrix and T",
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
    n_classes: int
    transition: np.ndarray | None = None
    info: dict = field(default_factory=dict)

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
            data.n_classes,
            data.transition,
            data.info,
        )


def loss_against(logits: torch.Tensor, labels: torch.Tensor, loss: str) -> float:
    if len(labels) == 0:
        return math.nan
    if loss == "mse":
        goal = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        return float(0.5 * ((logits - goal) ** 2).sum(1).mean())
    return float(F.cross_entropy(logits, labels))


def error(pred: torch.Tensor, labels: torch.Tensor) -> float:
    return float((pred != labels).float().mean()) if len(labels) else math.nan


def confusion_matrix(pred: torch.Tensor, labels: torch.Tensor, n_classes: int) -> np.ndarray:
    """Row-normalized confusion matrix: row = true class, column = prediction (empty rows stay 0)."""
    counts = torch.bincount(labels * n_classes + pred, minlength=n_classes**2).reshape(n_classes, n_classes)
    counts = counts.double().cpu().numpy()
    return counts / np.maximum(counts.sum(1, keepdims=True), 1)


def sampler_distance(confusion: np.ndarray, transition: np.ndarray | None) -> float:
    """Mean row-wise total-variation distance to T: 0 for a perfect conditional sampler of the noisy labels."""
    if transition is None:
        return math.nan
    return float(0.5 * np.abs(confusion - transition).sum(1).mean())


def evaluate(
    learner: Learner,
    data: DeviceData,
    fit_x: torch.Tensor,
    fit_labels: torch.Tensor,
    teacher_test_pred: torch.Tensor | None,
) -> tuple[dict[str, float], torch.Tensor]:
    """Metrics of `learner` now, and its test predictions (for teacher–student agreement)."""
    train_pred = learner.predict_logits(data.x_train).argmax(1)
    test_logits = learner.predict_logits(data.x_test)
    test_pred = test_logits.argmax(1)
    fit_pred = learner.predict_logits(fit_x).argmax(1)
    noisy = data.y_train != data.y_train_clean
    memorized = float((train_pred[noisy] == data.y_train[noisy]).float().mean()) if noisy.any() else math.nan
    metrics = {
        "fit_error": error(fit_pred, fit_labels),
        "train_error": error(train_pred, data.y_train),
        "train_error_clean": error(train_pred, data.y_train_clean),
        "memorized": memorized,
        "test_loss": loss_against(test_logits.float(), data.y_test, learner.loss),
        "test_error": error(test_pred, data.y_test),
        "agreement": math.nan if teacher_test_pred is None else float((test_pred == teacher_test_pred).float().mean()),
        "sampler_distance": sampler_distance(confusion_matrix(test_pred, data.y_test, data.n_classes), data.transition),
    }
    return metrics, test_pred
