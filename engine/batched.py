"""Train many MLPs or CNNs at once: zero-padded weights stacked per width bucket, one step for all.

Each model keeps its own initialization (copied from the module it would train alone), its own
mini-batch order, its own loss normalization and its own optimizer state (Adam and SGD act
elementwise, so a stacked tensor is the same as M separate ones). Padded weights start at zero and
stay there: a padded unit's pre-activation is 0, ReLU's gradient at 0 is 0, so no gradient reaches
it. Training together therefore gives what training alone gives, up to float summation order.
"""

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from engine.budget import steps_per_epoch
from engine.events import EpochMetrics
from engine.metrics import METRICS, DeviceData, Labels, batch_metrics
from engine.models import Targets
from engine.models.base import objective
from engine.models.neural import GradientLearner, make_optimizer
from engine.stacked import hidden_width, stack, step_flops

# One optimizer step of a bucket costs about this many flops of fixed overhead (kernel launches,
# Python): measured on a 2-core CPU (≈2 ms at ≈50 GFLOP/s) and estimated for a GPU (≈0.3 ms at 30 TFLOP/s).
STEP_OVERHEAD_FLOPS = {"cpu": 1e8, "cuda": 1e10}


@dataclass
class Job:
    """One model to train and the points that report its metrics.

    Attributes
    ----------
    learner : a freshly built MLP; its module is the initialization, its seed the mini-batch order
    data : the dataset its metrics are computed on
    x, targets : its training inputs and targets
    consumers : (point index, the teacher's test predictions or None) for every point this model
        belongs to; a baseline shared by the points of a teacher-width sweep has several
    """

    learner: GradientLearner
    data: DeviceData
    x: torch.Tensor
    targets: Targets
    consumers: list[tuple[int, torch.Tensor | None]]


def stack_unique(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack the distinct tensors of a list (by identity) and map each entry to its row."""
    rows: dict[int, int] = {}
    unique = []
    for t in tensors:
        if id(t) not in rows:
            rows[id(t)] = len(unique)
            unique.append(t)
    slot = torch.tensor([rows[id(t)] for t in tensors], device=tensors[0].device)
    return torch.stack(unique), slot


def plan_buckets(jobs: list[Job], batch: int, device: torch.device) -> list[list[int]]:
    """Group jobs into width buckets so that padding wastes less than a bucket's fixed overhead costs.

    Start with one bucket per distinct width and merge neighbours while the merged bucket is
    cheaper than the two apart: small widths share one bucket, the widest stay on their own.
    """
    overhead = STEP_OVERHEAD_FLOPS.get(device.type, STEP_OVERHEAD_FLOPS["cuda"])
    order = sorted(range(len(jobs)), key=lambda j: step_flops(jobs[j].learner, batch))
    buckets: list[list[int]] = []
    for j in order:
        if buckets and hidden_width(jobs[buckets[-1][0]].learner) == hidden_width(jobs[j].learner):
            buckets[-1].append(j)
        else:
            buckets.append([j])

    def cost(bucket: list[int]) -> float:
        widest = max(step_flops(jobs[j].learner, batch) for j in bucket)
        return overhead + len(bucket) * widest

    while len(buckets) > 1:
        savings = [cost(a) + cost(b) - cost(a + b) for a, b in itertools.pairwise(buckets)]
        best = max(range(len(savings)), key=savings.__getitem__)
        if savings[best] <= 0:
            break
        buckets[best : best + 2] = [buckets[best] + buckets[best + 1]]
    return buckets


class Bucket:
    """Jobs of similar width trained as one stacked module with one optimizer."""

    def __init__(self, jobs: list[Job], train):
        self.jobs = jobs
        self.net = stack([j.learner for j in jobs])
        self.optimizer = make_optimizer(self.net.parameters(), train, fused=True)
        self.orders = [j.learner.batch_order() for j in jobs]
        self.loss = jobs[0].learner.loss
        self.n = len(jobs[0].x)
        self.fit_x, self.fit_slot = stack_unique([j.x for j in jobs])
        self.train_x, self.train_slot = stack_unique([j.data.x_train for j in jobs])
        self.val_x, self.val_slot = stack_unique([j.data.x_val for j in jobs])
        self.test_x, self.test_slot = stack_unique([j.data.x_test for j in jobs])
        self.fits_train = all(j.x is j.data.x_train for j in jobs)
        self.targets = concat_targets([j.targets for j in jobs])
        n_classes = jobs[0].data.n_classes
        self.fit_labels = torch.stack([j.targets.labels(n_classes) for j in jobs])
        self.offsets = torch.arange(len(jobs), device=self.fit_x.device).unsqueeze(1) * self.n
        self.labels = Labels.of([j.data for j in jobs])

    def shuffle(self) -> None:
        device = self.fit_x.device
        self.perm = torch.stack([torch.randperm(self.n, generator=g) for g in self.orders]).to(device)

    def step(self, start: int, size: int) -> torch.Tensor:
        """One optimizer step of every model on its own next mini-batch; returns each model's summed loss."""
        idx = self.perm[:, start : start + size]
        logits = self.net(self.fit_x[self.fit_slot.unsqueeze(1), idx])
        flat = (self.offsets + idx).reshape(-1)
        per = objective(logits.reshape(-1, logits.shape[-1]), self.targets, flat, self.loss).reshape(idx.shape)
        sums = per.sum(1)
        self.optimizer.zero_grad(set_to_none=True)
        (sums.sum() / idx.shape[1]).backward()
        self.optimizer.step()
        return sums.detach()

    def evaluate(self) -> tuple[list[dict[str, float]], torch.Tensor]:
        train_pred = self.net.outputs(self.train_x, self.train_slot).argmax(-1)
        val_pred = self.net.outputs(self.val_x, self.val_slot).argmax(-1)
        test_logits = self.net.outputs(self.test_x, self.test_slot)
        fit_pred = train_pred if self.fits_train else self.net.outputs(self.fit_x, self.fit_slot).argmax(-1)
        return batch_metrics(train_pred, val_pred, test_logits, fit_pred, self.fit_labels, self.labels, None, self.loss)


def concat_targets(parts: list[Targets]) -> Targets:
    """The targets of M jobs end to end; job m's example i is row m·n + i."""
    soft = None if parts[0].soft is None else torch.cat([t.soft for t in parts])
    weight = None if parts[0].weight is None else torch.cat([t.weight for t in parts])
    return Targets(torch.cat([t.hard for t in parts]), soft, weight, parts[0].temperature)


def train_together(
    role: str, jobs: list[Job], train, outcomes: dict, stop: Callable[[], bool], pool: bool = False
) -> Iterator[EpochMetrics]:
    """Train `jobs` as one batched computation, yielding every consumer's metrics after each epoch.

    Fills each consumer point's outcome (final metrics, learner, divergence) like `train_role`.
    With `pool`, the trained models label their data's pool in one batched pass (remembered by
    each learner). Returns False if `stop` asked to end (checked after every epoch).
    """
    device = jobs[0].x.device
    plan = plan_buckets(jobs, train.batch_size, device)
    buckets = [Bucket([jobs[j] for j in bucket], train) for bucket in plan]
    order = [j for bucket in plan for j in bucket]
    diverged: dict[int, int] = {}
    n, size = len(jobs[0].x), train.batch_size
    per_epoch = steps_per_epoch(n, size)
    for epoch in range(1, train.epochs + 1):
        for bucket in buckets:
            bucket.shuffle()
        totals = [torch.zeros(len(b.jobs), device=device) for b in buckets]
        for start in range(0, n, size):
            for bucket, total in zip(buckets, totals, strict=True):
                total += bucket.step(start, size)
        losses = (torch.cat(totals) / max(n, 1)).tolist()
        results = [bucket.evaluate() for bucket in buckets]
        test_pred = torch.cat([pred for _, pred in results])
        rows = [row for bucket_rows, _ in results for row in bucket_rows]
        for row in rows:
            row["steps"] = epoch * per_epoch
        yield from report(role, jobs, order, rows, losses, test_pred, (epoch, train.epochs), diverged, outcomes)
        if stop():
            return False
    position = {j: i for i, j in enumerate(order)}
    for bucket, members in zip(buckets, plan, strict=True):
        if pool:
            pool_x, slot = stack_unique([jobs[j].data.x_pool for j in members])
            pool_logits = bucket.net.outputs(pool_x, slot)
            for m, j in enumerate(members):
                jobs[j].learner.remember(jobs[j].data.x_pool, pool_logits[m])
        for m, j in enumerate(members):
            bucket.net.unstack(m, jobs[j].learner.module)
            if j not in diverged:
                for point, _ in jobs[j].consumers:
                    outcomes[point].learners[role] = jobs[j].learner
                    outcomes[point].test_pred[role] = test_pred[position[j]]
    return True


def report(role, jobs, order, rows, losses, test_pred, progress, diverged: dict, outcomes: dict):
    """One epoch's EpochMetrics for every consumer of every job still training; marks new divergences."""
    epoch, epochs = progress
    agreement = consumer_agreement(jobs, order, test_pred)
    for position, j in enumerate(order):
        if j in diverged:
            continue
        loss = losses[position]
        if not math.isfinite(loss):
            diverged[j] = epoch
            rows[position] = dict.fromkeys(METRICS, math.nan) | {"steps": rows[position]["steps"]}
        for c, (point, _) in enumerate(jobs[j].consumers):
            metrics = {**rows[position], "train_loss": loss}
            if j not in diverged:
                metrics["agreement"] = agreement[j][c]
                outcomes[point].final[role] = metrics
            else:
                outcomes[point].diverged[role] = epoch
            yield EpochMetrics(point, role, epoch, epochs, metrics)


def consumer_agreement(jobs: list[Job], order: list[int], test_pred: torch.Tensor) -> dict[int, list[float]]:
    """Per job, the share of test predictions it shares with each consumer's teacher (NaN without one)."""
    row = {j: position for position, j in enumerate(order)}
    pairs = [(j, c, teacher) for j in order for c, (_, teacher) in enumerate(jobs[j].consumers) if teacher is not None]
    found: dict[int, list[float]] = {j: [math.nan] * len(jobs[j].consumers) for j in order}
    if pairs:
        mine = test_pred[torch.tensor([row[j] for j, _, _ in pairs], device=test_pred.device)]
        theirs = torch.stack([teacher for _, _, teacher in pairs])
        for (j, c, _), value in zip(pairs, (mine == theirs).float().mean(1).tolist(), strict=True):
            found[j][c] = value
    return found
