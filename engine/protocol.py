"""The experiment protocol: a group of points trained role by role — teachers, students, baselines, diagnostics.

A lone point is a group of one. Points that differ only in widths and seed form a group, so each
role's models can train together (engine.trainers picks how, by family); `run.batch_models = false`
makes every point a group of one and every model train alone. The unit of work is plain data in
(points: index, seed, swept values, config) and run-file records out, so it can run anywhere.
"""

import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

import numpy as np
import torch

from engine.budget import role_train
from engine.checkpoint import CheckpointMismatch, GroupCheckpoint, GroupSaving, remove_checkpoint
from engine.config import ExperimentConfig
from engine.config_rules import per_batch_teachers, teacher_count
from engine.datasets import Dataset
from engine.diagnostics import after_point, watchers
from engine.distill import pool_logits, student_targets
from engine.events import PointStarted
from engine.metrics import DeviceData
from engine.models import FAMILIES, Learner, Targets, build_learner
from engine.models.base import Refinement
from engine.outcomes import Findings, Ledger, RoleResult
from engine.roles import MAIN_ROLES, teacher_role
from engine.runfile import PointRecord
from engine.seeds import stream_seed, torch_generator
from engine.trainers import Consumer, Job, Options
from engine.trainers.jobs import TeacherDraws
from engine.trainers.stacked import concat_targets

log = logging.getLogger(__name__)

REGION_GRID = 120


@dataclass(frozen=True)
class TrainedPoint:
    """A trained point: its run-file record (plain numpy, picklable) and its roles' results (models included)."""

    record: PointRecord
    roles: dict[str, RoleResult]


@dataclass(frozen=True)
class Point:
    """One (sweep values, seed) combination and the config it runs with."""

    index: int
    seed: int
    values: dict[str, float | str]
    config: ExperimentConfig


def group_key(cfg: ExperimentConfig) -> str | None:
    """Points with the same key differ only in widths and seed and train together; None: a group of one.

    Grouping pays when a family's trainer shares work between models (stacked or nested); points
    whose families all train alone gain nothing and are better finished one at a time.
    """
    families = {cfg.teacher.model, cfg.student.model}
    if not cfg.run.batch_models or all(FAMILIES[f].trainer == "alone" for f in families):
        return None
    neutral = {
        "teacher": cfg.teacher.model_copy(update={"width": 1}),
        "student": cfg.student.model_copy(update={"width": 1}),
    }
    return cfg.model_copy(update=neutral).model_dump_json(exclude={"sweep"})


def plan_groups(points: list[Point]) -> list[list[Point]]:
    """Points in run order, gathered into the groups that train together."""
    groups: dict[str, list[Point]] = {}
    planned = []
    for point in points:
        key = group_key(point.config)
        if key is None:
            planned.append([point])
        elif key in groups:
            groups[key].append(point)
        else:
            groups[key] = [point]
            planned.append(groups[key])
    return planned


def role_seed(seed: int, role: str) -> int:
    """An independent, reproducible seed per role; the student and baseline share theirs (and so their init)."""
    return stream_seed(seed, f"role/{role}")


class Group:
    """The points of one group, their data and the learners they need."""

    def __init__(self, points: list[Point], datasets: dict[int, tuple[Dataset, DeviceData]], device):
        self.points, self.datasets, self.device = points, datasets, device
        self.cfg = points[0].config
        self.data = {p.index: datasets[p.index][1] for p in points}
        self.inputs: dict[int, tuple[torch.Tensor, int]] = {}
        self.ledger = Ledger(
            [p.index for p in points], {p.index: watchers(p.config, self.data[p.index]) for p in points}
        )

    def learner(self, point: Point, spec: str, role: str) -> Learner:
        """A fresh learner of the teacher's or student's spec, with `role`'s budget, seeded as `spec`'s role."""
        data, cfg = self.data[point.index], point.config
        seed_role = role if spec == "teacher" else "student"
        train = role_train(cfg, role)
        dim = data.x_train.shape[1]
        return build_learner(
            getattr(cfg, spec), train, dim, data.n_classes, role_seed(point.seed, seed_role), self.device
        )

    def student_x(self, point: Point) -> tuple[torch.Tensor, int]:
        """The student's inputs, one tensor per dataset, so that the models fitting them can share work."""
        data = self.data[point.index]
        if id(data) not in self.inputs:
            self.inputs[id(data)] = student_x(point.config.distill, data)
        return self.inputs[id(data)]

    def teacher_pred(self, point: Point) -> torch.Tensor | None:
        """The first teacher's test predictions (its last finite epoch's), or None without a teacher."""
        result = self.ledger.results[point.index].get("teacher")
        return None if result is None else result.test_pred

    def teacher_diverged(self, point: Point) -> bool:
        results = self.ledger.results[point.index]
        return any(results[teacher_role(m)].diverged_at is not None for m in range(teachers_of(point.config)))


def teachers_of(cfg: ExperimentConfig) -> int:
    """How many teachers a point trains (see `teacher_count`)."""
    return teacher_count(cfg.distill)


def train_group(
    points: list[Point],
    datasets: dict,
    device,
    total: int,
    stop: Callable[[], bool],
    checkpoint: GroupCheckpoint | None = None,
) -> Generator:
    """Yield the events of a group's points; return their results, or None if stopped first.

    `datasets` maps a point index to its (Dataset, DeviceData); `total` is the run's number of points.
    With a `checkpoint`, training continues from the state it holds and saves to it as it goes. A
    checkpoint whose state does not fit the group is removed, and the group trains from the start.
    """
    saved = None if checkpoint is None else checkpoint.load(device)
    try:
        return (yield from train_group_from(saved, points, datasets, device, total, stop, checkpoint))
    except CheckpointMismatch as exc:
        if saved is None:
            raise
        log.warning(
            "ignoring %s: its state does not fit this group (%s); it trains from the start", checkpoint.path, exc
        )
        remove_checkpoint(checkpoint.path)
    return (yield from train_group_from(None, points, datasets, device, total, stop, checkpoint))


def train_group_from(saved: dict | None, points, datasets, device, total, stop, checkpoint) -> Generator:
    """`train_group` from the checkpointed state `saved`, or from the start when None."""
    began = time.perf_counter()
    group = Group(points, datasets, device)
    options = replace(Options.of(group.cfg.run), saving=GroupSaving(checkpoint, group.ledger, saved, stop))
    for p in points:
        yield PointStarted(p.index, total, p.seed, p.values)
    teachers = {p.index: teacher_jobs(group, p) for p in points}
    if not (yield from group.ledger.stage([j for js in teachers.values() for j in js], options, stop)):
        return None
    if group.cfg.distill.mode != "none":
        students = [student_job(group, p, teachers[p.index]) for p in points if not group.teacher_diverged(p)]
        if students and not (yield from group.ledger.stage(students, options, stop)):
            return None
    if not (yield from group.ledger.stage(baseline_jobs(group), options, stop)):
        return None
    results = []
    for p in points:
        findings = yield from diagnose(group, p)
        record = point_record(group, p, findings, (time.perf_counter() - began) / len(points))
        results.append(TrainedPoint(record, group.ledger.results[p.index]))
    return results


def teacher_jobs(group: Group, point: Point) -> list[Job]:
    """One job per teacher, each on its own share of S (distill.teacher_data); they label the student's inputs."""
    cfg, data = point.config, group.data[point.index]
    later = group.student_x(point)[0] if cfg.distill.mode in ("hard", "soft") else None
    jobs = []
    for m in range(teachers_of(cfg)):
        role = teacher_role(m)
        own = teacher_subset(cfg, len(data.x_train), m, point.seed, data.x_train.device)
        # all of S is S itself: trainers share work between models fitting the same tensor
        x, y = (data.x_train, data.y_train) if own is None else (data.x_train[own], data.y_train[own])
        consumer = Consumer(point.index, role)
        learner = group.learner(point, "teacher", role)
        best = cfg.distill.teacher_checkpoint == "best" and learner.iterative
        jobs.append(Job(learner, data, x, Targets(y), [consumer], later=later, keep_best=best))
    return jobs


def student_job(group: Group, point: Point, teachers: list[Job]) -> Job:
    """The student's job: its teachers' labels (hard or soft) on its inputs, or S refined by itself."""
    cfg, data = point.config, group.data[point.index]
    d = cfg.distill
    consumer = [Consumer(point.index, "student", group.teacher_pred(point))]
    learner = group.learner(point, "student", "student")
    if d.mode == "self":
        refine = Refinement(d.alpha, d.temperature, d.refine)
        return Job(learner, data, data.x_train, Targets(data.y_train), consumer, refine=refine)
    x, n_labeled = group.student_x(point)
    labels, logits = data.y_train[:n_labeled], [t.later_logits for t in teachers]
    if per_batch_teachers(d):
        # every teacher's targets end to end; each mini-batch is fit to one teacher's rows, drawn afresh
        targets = concat_targets([student_targets(d, each, labels, n_labeled) for each in logits])
        return Job(learner, data, x, targets, consumer, draws=TeacherDraws(len(logits), len(x), point.seed))
    targets = student_targets(d, pool_logits(logits, d.pool_labels, point.seed), labels, n_labeled)
    return Job(learner, data, x, targets, consumer)


def baseline_jobs(group: Group) -> list[Job]:
    """One baseline per seed and student width where models train together, else one per point.

    A baseline depends only on the student's spec, the seed and S, so in a teacher-width sweep one
    model serves every point of its seed and reports its agreement with each point's own teacher.
    Families trained alone by gradient descent are not shared: those points do not group anyway.
    """
    family = FAMILIES[group.cfg.student.model]
    shared = family.trainer != "alone" or not family.gradient
    baselines: dict[tuple, Job] = {}
    for p in group.points:
        consumer = Consumer(p.index, "baseline", group.teacher_pred(p))
        key = (p.seed, p.config.student.width) if shared else (p.index,)
        if key in baselines:
            baselines[key].consumers.append(consumer)
        else:
            data = group.data[p.index]
            learner = group.learner(p, "student", "baseline")
            baselines[key] = Job(learner, data, data.x_train, Targets(data.y_train), [consumer])
    return list(baselines.values())


def teacher_subset(cfg: ExperimentConfig, n: int, m: int, seed: int, device) -> torch.Tensor | None:
    """Indices of the labeled set that teacher m trains on (distill.teacher_data); None: all of it.

    Identically trained teachers of a deterministic family (k-NN, kernels) would be copies, so m
    independent teachers each get their own bootstrap resample or their own 1/m share of S. A single
    teacher gets the same treatment (a resample, or all of S for 'split'), so a sweep over the number
    of teachers changes only the number of teachers, not the data each one sees.
    """
    how = cfg.distill.teacher_data
    if how == "full":
        return None
    if how == "bootstrap":
        return torch.randint(n, (n,), generator=torch_generator(seed, f"teacher-data/{m}")).to(device)
    return (
        torch.randperm(n, generator=torch_generator(seed, "teacher-data")).tensor_split(teachers_of(cfg))[m].to(device)
    )


def student_x(distill, data: DeviceData) -> tuple[torch.Tensor, int]:
    """The student's inputs (distill.student_data) and how many of its first rows are the labeled set."""
    parts = {"pool": [data.x_pool], "labeled": [data.x_train], "both": [data.x_train, data.x_pool]}
    chosen = parts[distill.student_data]
    x = chosen[0] if len(chosen) == 1 else torch.cat(chosen)
    return x, len(data.x_train) if distill.student_data != "pool" else 0


def diagnose(group: Group, point: Point) -> Generator:
    """Run the point's diagnostics, yielding its reference roles' events; returns everything they found."""
    data, ledger = group.data[point.index], group.ledger
    findings = [w.findings() for w in ledger.watchers[point.index]]
    findings += after_point(point.config, data, ledger.results[point.index])
    for found in findings:
        for role, values in found.references.items():
            yield ledger.reference(point.index, role, values)
    return findings


def point_record(group: Group, point: Point, findings: list[Findings], seconds: float) -> PointRecord:
    """The run-file record of a finished point."""
    dataset, device_data = group.datasets[point.index]
    roles: dict[str, RoleResult] = group.ledger.results[point.index]
    attrs = {"elapsed_s": seconds}
    if dataset.bayes_error is not None:
        attrs["bayes_error"] = dataset.bayes_error
    arrays = {"noise_transition": dataset.transition}
    if dataset.dim == 2:
        main = {r: roles[r].learner for r in MAIN_ROLES if r in roles and roles[r].learner is not None}
        arrays |= decision_regions(main, device_data.x_train) | training_points(dataset)
    for found in findings:
        attrs |= found.attrs
        arrays |= found.arrays
    curves = {role: result.arrays() for role, result in roles.items()}
    diverged = {role: result.diverged_at for role, result in roles.items() if result.diverged_at is not None}
    return PointRecord(point.index, point.seed, point.values, curves, arrays, attrs, diverged)


def training_points(data: Dataset) -> dict[str, np.ndarray]:
    return {"train_x": data.x_train, "train_y_noisy": data.y_train, "train_y_clean": data.y_train_clean}


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
