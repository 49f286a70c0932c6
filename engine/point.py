"""One experiment point: train the teacher(s), distill the student, train the baseline."""

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.config import ExperimentConfig
from engine.distill import pool_logits, student_targets
from engine.events import EpochMetrics
from engine.metrics import DeviceData, evaluate
from engine.models import Learner, Targets, build_learner

REGION_GRID = 120


def role_seed(seed: int, role: str) -> int:
    """An independent, reproducible seed per role; the student and baseline share their init."""
    return int(np.random.SeedSequence([seed, zlib.crc32(role.encode())]).generate_state(1)[0] >> 1)


@dataclass
class PointOutcome:
    """What a finished point leaves behind besides its curves."""

    final: dict[str, dict[str, float]] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    learners: dict[str, Learner] = field(default_factory=dict)


def train_role(
    role: str,
    learner: Learner,
    x: torch.Tensor,
    targets: Targets,
    data: DeviceData,
    teacher_pred: torch.Tensor | None,
    index: int,
    epochs: int,
    outcome: PointOutcome,
) -> Iterator[EpochMetrics]:
    """Fit `learner`, yielding its metrics after every epoch; keeps the last ones in `outcome`."""
    fit_labels = targets.labels(data.n_classes)
    for epoch, train_loss in enumerate(learner.fit(x, targets), start=1):
        metrics, _ = evaluate(learner, data, x, fit_labels, teacher_pred)
        metrics = {"train_loss": train_loss, **metrics}
        outcome.final[role] = metrics
        yield EpochMetrics(index, role, epoch, epochs if learner.iterative else 1, metrics)
    outcome.learners[role] = learner


def run_point(cfg: ExperimentConfig, data: DeviceData, seed: int, index: int, device, outcome: PointOutcome):
    """Generator of EpochMetrics for every role of one point; fills `outcome` as roles finish."""
    dim, classes, epochs = data.x_train.shape[1], data.n_classes, cfg.train.epochs
    labeled = Targets(data.y_train)
    teachers = []
    for m in range(cfg.distill.teachers):
        role = "teacher" if m == 0 else f"teacher_{m + 1}"
        learner = build_learner(cfg.teacher, cfg.train, dim, classes, role_seed(seed, role), device)
        yield from train_role(role, learner, data.x_train, labeled, data, None, index, epochs, outcome)
        teachers.append(learner)
    teacher_pred = teachers[0].predict_logits(data.x_test).argmax(1)

    if cfg.distill.mode != "none":
        student = build_learner(cfg.student, cfg.train, dim, classes, role_seed(seed, "student"), device)
        x, targets = student_inputs(cfg, data, teachers, seed)
        if cfg.distill.mode == "self":
            student.refine_alpha = cfg.distill.alpha
            student.refine_temperature = cfg.distill.temperature
        yield from train_role("student", student, x, targets, data, teacher_pred, index, epochs, outcome)

    baseline = build_learner(cfg.student, cfg.train, dim, classes, role_seed(seed, "student"), device)
    yield from train_role("baseline", baseline, data.x_train, labeled, data, teacher_pred, index, epochs, outcome)


def student_inputs(cfg: ExperimentConfig, data: DeviceData, teachers: list[Learner], seed: int):
    """The student's training inputs and targets for the configured distillation mode."""
    d = cfg.distill
    if d.mode == "self":
        return data.x_train, Targets(data.y_train)
    parts = {"pool": [data.x_pool], "labeled": [data.x_train], "both": [data.x_train, data.x_pool]}[d.student_data]
    x = torch.cat(parts)
    n_labeled = len(data.x_train) if d.student_data != "pool" else 0
    logits = pool_logits([t.predict_logits(x) for t in teachers], d.pool_labels, seed)
    return x, student_targets(d, logits, data.y_train[:n_labeled], n_labeled)


@torch.no_grad()
def decision_regions(learners: dict[str, Learner], x_train: torch.Tensor) -> dict[str, np.ndarray]:
    """Predicted class on a grid over the 2-D training inputs, per role, with the grid's extent."""
    lo, hi = x_train.min(0).values, x_train.max(0).values
    pad = 0.1 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    xs = torch.linspace(float(lo[0]), float(hi[0]), REGION_GRID, device=x_train.device)
    ys = torch.linspace(float(lo[1]), float(hi[1]), REGION_GRID, device=x_train.device)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).reshape(-1, 2)
    arrays = {"regions_extent": np.array([float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])])}
    for role, learner in learners.items():
        pred = learner.predict_logits(grid).argmax(1).reshape(REGION_GRID, REGION_GRID)
        arrays[f"regions_{role}"] = pred.to(torch.int8).cpu().numpy()
    return arrays
