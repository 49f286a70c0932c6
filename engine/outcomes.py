"""Typed results of a point's roles, and the one place where trainers' fits become results and events."""

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.events import EpochMetrics
from engine.metrics import METRICS
from engine.models import Learner
from engine.trainers import Fit, Job, Options, train
from engine.trainers.jobs import keep_if_best, restore_best


@dataclass
class RoleResult:
    """One role of one point: its metrics per epoch, and what later roles and diagnostics need.

    Attributes
    ----------
    curves : "epoch" and every metric (optimizer "steps" included), one value per epoch
    diverged_at : the epoch whose training loss was not finite, or None
    learner : the trained model (None while training, and for a diverged or reference role)
    test_pred : the last finite epoch's test predictions (for agreement and confusion matrices); with
        a kept best checkpoint (distill.teacher_checkpoint = 'best'), that epoch's, as is `learner`
    """

    curves: dict[str, list[float]] = field(default_factory=dict)
    diverged_at: int | None = None
    learner: Learner | None = None
    test_pred: torch.Tensor | None = None

    def add(self, epoch: int, metrics: dict[str, float]) -> None:
        self.curves.setdefault("epoch", []).append(epoch)
        for metric, value in metrics.items():
            self.curves.setdefault(metric, []).append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        """The curves as the run file stores them: int32 epochs, float64 metrics."""
        return {m: np.asarray(v, dtype=np.int32 if m == "epoch" else np.float64) for m, v in self.curves.items()}


@dataclass
class Findings:
    """What a diagnostic adds to a point: arrays, scalar attributes and reference roles' values."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, float] = field(default_factory=dict)
    references: dict[str, dict[str, float]] = field(default_factory=dict)


def diverged_metrics(loss: float, steps: int) -> dict[str, float]:
    """The one divergence rule: once the training loss is not finite, every other metric is NaN."""
    return dict.fromkeys(METRICS, math.nan) | {"train_loss": loss, "steps": steps}


def reference_metrics(values: dict[str, float]) -> dict[str, float]:
    """A closed-form reference stored like a role with one epoch: every metric NaN but `values`."""
    return dict.fromkeys(METRICS, math.nan) | values


class Ledger:
    """The results of a group's points by point and role, filled from the trainers' fits.

    Parameters
    ----------
    points : the group's point indices
    watchers : per point, diagnostics that read a role's model at epoch 0 and after every epoch
    """

    def __init__(self, points: list[int], watchers: dict[int, list]):
        self.results: dict[int, dict[str, RoleResult]] = {p: {} for p in points}
        self.watchers = watchers

    def result(self, point: int, role: str) -> RoleResult:
        return self.results[point].setdefault(role, RoleResult())

    def stage(self, jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Generator:
        """Train one role's jobs, yielding their events; returns False if stopped.

        A stage a checkpoint had under way first replays the epochs it saved, then trains on.
        """
        resumed = options.saving.begin(jobs)
        if resumed:
            yield from self.replay(jobs)
        for job in jobs:
            job.watched = job.keep_best or any(self.watching(c.point, c.role) for c in job.consumers)
            for c in job.consumers:
                if not resumed:
                    self.notify(c.point, c.role, 0, job.learner)
        fits = train(jobs, options, stop)
        while True:
            try:
                batch = next(fits)
            except StopIteration as done:
                finished = done.value
                break
            yield from self.record(batch)
        for job in jobs:
            if job.keep_best and job.best is not None and job.diverged_at is None:
                restore_best(job)
            for c in job.consumers:
                result = self.result(c.point, c.role)
                result.learner = job.learner if job.diverged_at is None else None
                if job.keep_best and job.best is not None:
                    result.test_pred = job.best.test_pred  # later roles' agreement is with the weights they learn from
        return finished

    def record(self, fits: list[Fit]) -> Iterator[EpochMetrics]:
        """Results and events of one epoch's fits; agreement is measured against each consumer's teacher."""
        agreements = consumer_agreements(fits)
        for fit, agreement in zip(fits, agreements, strict=True):
            job = fit.job
            steps = job.steps(fit.epoch)
            if not math.isfinite(fit.loss):
                job.diverged_at = fit.epoch
            elif job.keep_best:
                keep_if_best(job, fit.epoch, fit.metrics["val_error"], fit.test_pred)
            for consumer, agree in zip(job.consumers, agreement, strict=True):
                result = self.result(consumer.point, consumer.role)
                if job.diverged_at is None:
                    metrics = fit.metrics | {"train_loss": fit.loss, "agreement": agree, "steps": steps}
                    result.test_pred = fit.test_pred
                    self.notify(consumer.point, consumer.role, fit.epoch, job.learner)
                else:
                    metrics, result.diverged_at = diverged_metrics(fit.loss, steps), job.diverged_at
                result.add(fit.epoch, metrics)
                yield EpochMetrics(consumer.point, consumer.role, fit.epoch, job.epochs, metrics)

    def replay(self, jobs: list[Job]) -> Iterator[EpochMetrics]:
        """The events of the epochs the jobs' consumers already have (restored from a checkpoint)."""
        for job in jobs:
            for c in job.consumers:
                result = self.results[c.point].get(c.role)
                if result is None:
                    continue
                metrics = {m: v for m, v in result.curves.items() if m != "epoch"}
                for i, epoch in enumerate(result.curves.get("epoch", [])):
                    yield EpochMetrics(c.point, c.role, epoch, job.epochs, {m: v[i] for m, v in metrics.items()})

    def state(self) -> dict:
        """The results so far as plain data (curves, divergence, test predictions), for a checkpoint."""
        return {
            point: {
                role: {"curves": r.curves, "diverged_at": r.diverged_at, "test_pred": r.test_pred}
                for role, r in roles.items()
            }
            for point, roles in self.results.items()
        }

    def restore(self, state: dict) -> None:
        for point, roles in state.items():
            for role, saved in roles.items():
                self.results[point][role] = RoleResult(saved["curves"], saved["diverged_at"], None, saved["test_pred"])

    def reference(self, point: int, role: str, values: dict[str, float]) -> EpochMetrics:
        metrics = reference_metrics(values)
        self.result(point, role).add(1, metrics)
        return EpochMetrics(point, role, 1, 1, metrics)

    def watching(self, point: int, role: str) -> bool:
        return any(role in watcher.roles for watcher in self.watchers.get(point, ()))

    def notify(self, point: int, role: str, epoch: int, learner: Learner) -> None:
        for watcher in self.watchers.get(point, ()):
            if role in watcher.roles:
                watcher.observe(role, epoch, learner)


def consumer_agreements(fits: list[Fit]) -> list[list[float]]:
    """Per fit, the share of test predictions it shares with each consumer's teacher (NaN without one)."""
    pairs = [
        (f, c, consumer.teacher_pred) for f, fit in enumerate(fits) for c, consumer in enumerate(fit.job.consumers)
    ]
    pairs = [pair for pair in pairs if pair[2] is not None]
    found = [[math.nan] * len(fit.job.consumers) for fit in fits]
    if pairs:
        mine = torch.stack([fits[f].test_pred for f, _, _ in pairs])
        theirs = torch.stack([teacher for _, _, teacher in pairs])
        for (f, c, _), value in zip(pairs, (mine == theirs).float().mean(1).tolist(), strict=True):
            found[f][c] = value
    return found
