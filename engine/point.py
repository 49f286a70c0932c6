"""One experiment point: train the teacher(s), distill the student, train the baseline."""

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.budget import role_train, steps_per_epoch
from engine.config import ExperimentConfig
from engine.diagnostics import after_point, watchers
from engine.distill import pool_logits, student_targets
from engine.events import EpochMetrics
from engine.metrics import METRICS, DeviceData, evaluate
from engine.models import Learner, Targets, build_learner
from engine.seeds import stream_seed, torch_generator

REGION_GRID = 120


def role_seed(seed: int, role: str) -> int:
    """An independent, reproducible seed per role; the student and baseline share their init."""
    return stream_seed(seed, f"role/{role}")


@dataclass
class PointOutcome:
    """What a finished point leaves behind besides its curves."""

    final: dict[str, dict[str, float]] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)
    learners: dict[str, Learner] = field(default_factory=dict)
    test_pred: dict[str, torch.Tensor] = field(default_factory=dict)
    watchers: dict[str, list] = field(default_factory=dict)
    diverged: dict[str, int] = field(default_factory=dict)


def train_role(
    role: str,
    learner: Learner,
    x: torch.Tensor,
    targets: Targets,
    data: DeviceData,
    teacher_pred: torch.Tensor | None,
    index: int,
    outcome: PointOutcome,
) -> Iterator[EpochMetrics]:
    """Fit `learner`, yielding its metrics after every epoch; keeps the last ones in `outcome`.

    Diagnostics watching `role` are called before training (epoch 0) and after every epoch.
    """
    fit_labels = targets.labels(data.n_classes)
    epochs = learner.train.epochs if learner.iterative else 1
    per_epoch = steps_per_epoch(len(x), learner.train.batch_size) if learner.iterative else 0
    notify(outcome, role, 0, learner)
    for epoch, train_loss in enumerate(learner.fit(x, targets), start=1):
        steps = {"steps": epoch * per_epoch}
        if not math.isfinite(train_loss):
            outcome.diverged[role] = epoch
            metrics = {"train_loss": train_loss} | dict.fromkeys(METRICS.keys() - {"train_loss"}, math.nan) | steps
            yield EpochMetrics(index, role, epoch, epochs, metrics)
            return
        metrics, outcome.test_pred[role] = evaluate(learner, data, x, fit_labels, teacher_pred)
        metrics = {"train_loss": train_loss, **metrics, **steps}
        outcome.final[role] = metrics
        notify(outcome, role, epoch, learner)
        yield EpochMetrics(index, role, epoch, epochs, metrics)
    outcome.learners[role] = learner


def notify(outcome: PointOutcome, role: str, epoch: int, learner: Learner) -> None:
    for callback in outcome.watchers.get(role, []):
        callback(epoch, learner)


def run_point(cfg: ExperimentConfig, data: DeviceData, seed: int, index: int, device, outcome: PointOutcome):
    """Generator of EpochMetrics for every role of one point; fills `outcome` as roles finish.

    Self-distillation needs no teacher: its student refines S's labels itself, so none is trained.
    """
    dim, classes = data.x_train.shape[1], data.n_classes
    outcome.watchers = watchers(cfg, data, outcome)
    teachers = []
    for m in range(0 if cfg.distill.mode == "self" else cfg.distill.teachers):
        role = "teacher" if m == 0 else f"teacher_{m + 1}"
        learner = build_learner(cfg.teacher, role_train(cfg, role), dim, classes, role_seed(seed, role), device)
        own = teacher_subset(cfg, len(data.x_train), m, seed, data.x_train.device)
        own_targets = Targets(data.y_train[own])
        yield from train_role(role, learner, data.x_train[own], own_targets, data, None, index, outcome)
        teachers.append(learner)
    teacher_pred = teachers[0].predict_logits(data.x_test).argmax(1) if teachers else None

    def student_role(role: str) -> Learner:
        return build_learner(cfg.student, role_train(cfg, role), dim, classes, role_seed(seed, "student"), device)

    if cfg.distill.mode != "none" and not any(r.startswith("teacher") for r in outcome.diverged):
        student = student_role("student")
        x, targets = student_inputs(cfg, data, teachers, seed)
        if cfg.distill.mode == "self":
            student.refine_alpha = cfg.distill.alpha
            student.refine_temperature = cfg.distill.temperature
            student.refine = cfg.distill.refine
        yield from train_role("student", student, x, targets, data, teacher_pred, index, outcome)

    labeled = Targets(data.y_train)
    yield from train_role(
        "baseline", student_role("baseline"), data.x_train, labeled, data, teacher_pred, index, outcome
    )
    yield from after_point(cfg, data, index, outcome)


def teacher_subset(cfg: ExperimentConfig, n: int, m: int, seed: int, device) -> torch.Tensor | slice:
    """Indices of the labeled set that teacher m trains on (distill.teacher_data).

    Identically trained teachers of a deterministic family (k-NN, kernels) would be copies, so m
    independent teachers each get their own bootstrap resample or their own 1/m share of S. A single
    teacher gets the same treatment (a resample, or all of S for 'split'), so a sweep over the number
    of teachers changes only the number of teachers, not the data each one sees.
    """
    how = cfg.distill.teacher_data
    if how == "full":
        return slice(None)
    if how == "bootstrap":
        return torch.randint(n, (n,), generator=torch_generator(seed, f"teacher-data/{m}")).to(device)
    return (
        torch.randperm(n, generator=torch_generator(seed, "teacher-data"))
        .tensor_split(cfg.distill.teachers)[m]
        .to(device)
    )


def student_inputs(cfg: ExperimentConfig, data: DeviceData, teachers: list[Learner], seed: int):
    """The student's training inputs and targets for the configured distillation mode."""
    d = cfg.distill
    if d.mode == "self":
        return data.x_train, Targets(data.y_train)
    x, n_labeled = student_x(d, data)
    logits = pool_logits([t.predict_logits(x) for t in teachers], d.pool_labels, seed)
    return x, student_targets(d, logits, data.y_train[:n_labeled], n_labeled)


def student_x(distill, data: DeviceData) -> tuple[torch.Tensor, int]:
    """The student's inputs (distill.student_data) and how many of its first rows are the labeled set."""
    parts = {"pool": [data.x_pool], "labeled": [data.x_train], "both": [data.x_train, data.x_pool]}
    chosen = parts[distill.student_data]
    x = chosen[0] if len(chosen) == 1 else torch.cat(chosen)
    return x, len(data.x_train) if distill.student_data != "pool" else 0


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
