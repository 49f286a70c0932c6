"""Train many MLPs or CNNs at once: zero-padded weights stacked per width bucket, one step for all.

Each model keeps its own initialization (copied from the module it would train alone), its own
mini-batch order, its own loss normalization, its own optimizer state (Adam and SGD act
elementwise, so a stacked tensor is the same as M separate ones) and its own label refinement.
Padded weights start at zero and stay there: a padded unit's pre-activation is 0, ReLU's gradient
at 0 is 0, so no gradient reaches it. Training together therefore gives what training alone gives,
up to float summation order.
"""

import itertools
import logging
from collections.abc import Callable

import torch

from engine.budget import steps_per_epoch
from engine.metrics import Labels, batch_metrics
from engine.models import Targets
from engine.models.augment import Augment
from engine.models.base import objective
from engine.models.neural import make_optimizer
from engine.trainers.compiling import compile_pays
from engine.trainers.jobs import Fit, Fits, Job, Options, Saving, batch_shifts, same_tensor
from engine.trainers.stacking import hidden_width, stack, step_flops

# One optimizer step of a bucket costs about this many flops of fixed overhead (kernel launches,
# Python): measured on a 2-core CPU (≈2 ms at ≈50 GFLOP/s) and estimated for a GPU (≈0.3 ms at 30 TFLOP/s).
STEP_OVERHEAD_FLOPS = {"cpu": 1e8, "cuda": 1e10}
THROUGHPUT = {"cpu": 5e10, "cuda": 3e13}  # flop/s the estimates above assume

log = logging.getLogger(__name__)


def stack_unique(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack the distinct tensors of a list (the same memory counts once) and map each entry to its row."""
    rows: dict[tuple, int] = {}
    unique = []
    for t in tensors:
        if same_tensor(t) not in rows:
            rows[same_tensor(t)] = len(unique)
            unique.append(t)
    slot = torch.tensor([rows[same_tensor(t)] for t in tensors], device=tensors[0].device)
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
        return bucket_flops(jobs, bucket, batch, overhead)

    while len(buckets) > 1:
        savings = [cost(a) + cost(b) - cost(a + b) for a, b in itertools.pairwise(buckets)]
        best = max(range(len(savings)), key=savings.__getitem__)
        if savings[best] <= 0:
            break
        buckets[best : best + 2] = [buckets[best] + buckets[best + 1]]
    return buckets


def bucket_flops(jobs: list[Job], bucket: list[int], batch: int, overhead: float) -> float:
    """Flops of one training step of a bucket: every model padded to the widest, plus the fixed overhead."""
    return overhead + len(bucket) * max(step_flops(jobs[j].learner, batch) for j in bucket)


def eager_seconds(jobs: list[Job], plan: list[list[int]]) -> float:
    """About how long the buckets of `plan` take to train without compiling, from their flops."""
    train, device = jobs[0].learner.train, jobs[0].x.device
    overhead = STEP_OVERHEAD_FLOPS.get(device.type, STEP_OVERHEAD_FLOPS["cuda"])
    per_step = sum(bucket_flops(jobs, bucket, train.batch_size, overhead) for bucket in plan)
    return per_step * steps_per_epoch(len(jobs[0].x), train.batch_size) * train.epochs / THROUGHPUT[device.type]


class Bucket:
    """Jobs of similar width trained as one stacked module with one optimizer."""

    def __init__(self, jobs: list[Job], compiled: bool = False):
        self.jobs = jobs
        self.net = stack([j.learner for j in jobs])
        self.optimizer = make_optimizer(self.net.parameters(), jobs[0].learner.train, fused=True)
        self.orders = [j.learner.batch_order() for j in jobs]
        self.loss = jobs[0].learner.loss
        self.n = len(jobs[0].x)
        self.fit_x, self.fit_slot = stack_unique([j.x for j in jobs])
        self.train_x, self.train_slot = stack_unique([j.data.x_train for j in jobs])
        self.val_x, self.val_slot = stack_unique([j.data.x_val for j in jobs])
        self.test_x, self.test_slot = stack_unique([j.data.x_test for j in jobs])
        self.fits_train = all(same_tensor(j.x) == same_tensor(j.data.x_train) for j in jobs)
        self.parts = [j.targets for j in jobs]
        self.targets = concat_targets(self.parts)
        n_classes = jobs[0].data.n_classes
        self.fit_labels = torch.stack([j.fit_labels(n_classes) for j in jobs])
        self.refined = [m for m, j in enumerate(jobs) if j.refine is not None]
        starts = [0, *itertools.accumulate(len(t) for t in self.parts)][:-1]  # per-batch teachers hold m·n rows
        self.offsets = torch.tensor(starts, device=self.fit_x.device).unsqueeze(1)
        self.labels = Labels.of([j.data for j in jobs])
        self.losses = torch.compile(batch_losses) if compiled else batch_losses
        self.augment = Augment.of([j.learner for j in jobs], self.fit_x.shape[-1])

    def shuffle(self) -> None:
        device = self.fit_x.device
        self.perm = torch.stack([torch.randperm(self.n, generator=g) for g in self.orders]).to(device)

    def step(self, start: int, size: int) -> torch.Tensor:
        """One optimizer step of every model on its own next mini-batch; returns each model's summed loss.

        A compiled step that fails to build (a broken compiler, an unsupported operation) is logged and
        replaced by the eager one before any weight changed.
        """
        try:
            return self.step_with(self.losses, start, size)
        except Exception as exc:  # torch.compile raises many kinds of errors while building
            if self.losses is batch_losses or isinstance(exc, torch.cuda.OutOfMemoryError):
                raise
            log.warning("compiling the training step failed (%s); training eagerly", exc)
            self.losses = batch_losses
            return self.step_with(batch_losses, start, size)

    def step_with(self, losses, start: int, size: int) -> torch.Tensor:
        idx = self.perm[:, start : start + size]
        x = self.fit_x[self.fit_slot.unsqueeze(1), idx]
        if self.augment is not None:
            x = self.augment(x)
        sums = losses(self.net, x, idx, self.offsets + batch_shifts(self.jobs, idx.device), self.targets, self.loss)
        self.optimizer.zero_grad(set_to_none=True)
        (sums.sum() / idx.shape[1]).backward()
        self.optimizer.step()
        return sums.detach()

    def evaluate(self) -> tuple[list[dict[str, float]], torch.Tensor]:
        train_logits = self.net.outputs(self.train_x, self.train_slot)
        fit_logits = train_logits if self.fits_train else self.net.outputs(self.fit_x, self.fit_slot)
        self.refine(fit_logits)
        val_pred = self.net.outputs(self.val_x, self.val_slot).argmax(-1)
        test_logits = self.net.outputs(self.test_x, self.test_slot)
        train_pred, fit_pred = train_logits.argmax(-1), fit_logits.argmax(-1)
        return batch_metrics(train_pred, val_pred, test_logits, fit_pred, self.fit_labels, self.labels, self.loss)

    def refine(self, fit_logits: torch.Tensor) -> None:
        """Next epoch's targets of the self-distilled models, from their logits on their own inputs."""
        if not self.refined:
            return
        for m in self.refined:
            self.parts[m] = self.jobs[m].refine.next(self.parts[m], fit_logits[m])
        self.targets = concat_targets(self.parts)

    def state(self) -> dict:
        return {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "orders": [g.get_state() for g in self.orders],
            "augment": None if self.augment is None else self.augment.state(),
            "targets": [vars(t) for t in self.parts],
        }

    def restore(self, state: dict) -> None:
        """Continue from `state` (see `state`), as this bucket was when it was saved."""
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        for g, saved in zip(self.orders, state["orders"], strict=True):
            g.set_state(saved.cpu())
        if self.augment is not None:
            self.augment.restore(state["augment"])
        self.parts = [Targets(**t) for t in state["targets"]]
        self.targets = concat_targets(self.parts)
        self.sync()

    def sync(self, watched: bool = True) -> None:
        """Copy the trained weights back into each (watched) model's own module."""
        for m, job in enumerate(self.jobs):
            if job.watched or not watched:
                self.net.unstack(m, job.learner.module)

    def label_later(self) -> None:
        """Every model's logits on the inputs a later role needs, in one batched pass."""
        later = [m for m, job in enumerate(self.jobs) if job.later is not None]
        if later:
            x, slot = stack_unique([self.jobs[m].later for m in later])
            logits = self.net.outputs(x, slot)
            for row, m in enumerate(later):
                self.jobs[m].later_logits = logits[row]


def batch_losses(net, x: torch.Tensor, idx: torch.Tensor, offsets: torch.Tensor, targets: Targets, loss: str):
    """Each model's summed loss on its mini-batch: x (M, B, n_in) gathered by idx (M, B) from its inputs."""
    logits = net(x)
    flat = (offsets + idx).reshape(-1)
    return objective(logits.reshape(-1, logits.shape[-1]), targets, flat, loss).reshape(idx.shape).sum(1)


def concat_targets(parts: list[Targets]) -> Targets:
    """The targets of M jobs end to end; job m's example i is row m·n + i."""
    soft = None if parts[0].soft is None else torch.cat([t.soft for t in parts])
    weight = None if parts[0].weight is None else torch.cat([t.weight for t in parts])
    return Targets(torch.cat([t.hard for t in parts]), soft, weight, parts[0].temperature)


def train_stacked(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Train `jobs` as stacked computations, yielding every running job's Fit after each epoch.

    Jobs with the same budget, number of training inputs and depth train together, in width buckets;
    False if `stop` asked to end (checked after every epoch).
    """
    parts: dict[tuple, list[Job]] = {}
    for job in jobs:
        # stacked modules need equal depth: a linear MLP (depth 0) never pads into a deeper one
        layers = sum(1 for _ in job.learner.module.modules())
        parts.setdefault((job.learner.train.model_dump_json(), len(job.x), layers), []).append(job)
    for part in parts.values():
        if not (yield from train_part(part, options, stop)):
            return False
    return True


def train_part(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Jobs sharing budget and data size: their width buckets trained in one loop; False if stopped."""
    train, device = jobs[0].learner.train, jobs[0].x.device
    plan = plan_buckets(jobs, train.batch_size, device)
    compiled = compile_pays(options.compile, eager_seconds(jobs, plan), device)
    buckets = [Bucket([jobs[j] for j in b], compiled) for b in plan]
    return (yield from train_buckets(jobs, buckets, options.saving, stop))


def train_buckets(jobs: list[Job], buckets: list[Bucket], saving: Saving, stop: Callable[[], bool]) -> Fits:
    """One loop over epochs and mini-batches for buckets sharing budget and data size; False if stopped.

    From a checkpoint's part the buckets continue where they were; all jobs are `done` at the end.
    """
    resumed = saving.resumed_part("stacked", jobs)
    if resumed is not None:
        with saving.restoring():
            for bucket, state in zip(buckets, resumed["buckets"], strict=True):
                bucket.restore(state)
    train = jobs[0].learner.train
    n, size = buckets[0].n, train.batch_size
    for epoch in range(1 if resumed is None else resumed["epoch"] + 1, train.epochs + 1):
        for bucket in buckets:
            bucket.shuffle()
        totals = [torch.zeros(len(b.jobs), device=b.fit_x.device) for b in buckets]
        for start in range(0, n, size):
            for bucket, total in zip(buckets, totals, strict=True):
                total += bucket.step(start, size)
        losses = (torch.cat(totals) / max(n, 1)).tolist()
        fits, position = [], 0
        for bucket in buckets:
            rows, test_pred = bucket.evaluate()
            bucket.sync()
            for m, job in enumerate(bucket.jobs):
                if job.diverged_at is None:
                    fits.append(Fit(job, epoch, losses[position + m], rows[m], test_pred[m]))
            position += len(bucket.jobs)
        yield fits
        if epoch < train.epochs:
            saving.epoch_ended(lambda e=epoch: part_state(jobs, buckets, e, saving))
            if stop():
                return False
    for bucket in buckets:
        bucket.label_later()
        bucket.sync(watched=False)
    for job in jobs:
        job.done = True
    saving.epoch_ended()
    return not stop()


def part_state(jobs: list[Job], buckets: list[Bucket], epoch: int, saving) -> dict:
    """What continuing a part needs: each bucket's weights, optimizer, batch orders and targets, and the epoch."""
    return {
        "kind": "stacked",
        "jobs": [saving.index(j) for j in jobs],
        "epoch": epoch,
        "buckets": [bucket.state() for bucket in buckets],
    }
