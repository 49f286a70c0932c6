"""A sweep's points trained as groups: each role's models of every point in one batched computation."""

import math
import time
from collections.abc import Callable, Iterator

import torch

from engine.batched import Job, train_together
from engine.budget import role_train
from engine.config import ExperimentConfig
from engine.diagnostics import after_point, watches
from engine.events import EpochMetrics, Event, PointStarted
from engine.metrics import METRICS, DeviceData, Labels, batch_metrics, evaluate
from engine.models import Targets, build_learner
from engine.models.nested import presolve
from engine.point import PointOutcome, role_seed, student_inputs, train_role
from engine.stacked import batchable

# Families that gain from training a sweep together (stacked MLPs and CNNs, nested random-features solves).
GROUPED_FAMILIES = {"mlp", "cnn", "random_features"}


def group_key(cfg: ExperimentConfig) -> str | None:
    """Points with the same key differ only in widths and seed and can train together; None: alone."""
    d = cfg.distill
    if (
        not cfg.run.batch_models
        or d.mode not in ("hard", "soft", "none")
        or d.teachers != 1
        or d.teacher_data != "full"
    ):
        return None  # resampled teachers (distill.teacher_data) train on their own data: alone
    if not GROUPED_FAMILIES & {cfg.teacher.model, cfg.student.model} or watches(cfg):
        return None
    neutral = {
        "teacher": cfg.teacher.model_copy(update={"width": 1}),
        "student": cfg.student.model_copy(update={"width": 1}),
    }
    return cfg.model_copy(update=neutral).model_dump_json(exclude={"sweep"})


def plan_groups(points: list) -> list[list]:
    """Points in run order, gathered into groups that train together (a group of one trains alone)."""
    groups: dict[str, list] = {}
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


def record_curves(curves: dict, events: Iterator[Event]):
    """Pass events through, appending their metrics to curves[point][role]; returns the generator's value."""
    result = None
    try:
        while True:
            event = next(events)
            role = curves[event.point].setdefault(event.role, {"epoch": []})
            role["epoch"].append(event.epoch)
            for metric, value in event.metrics.items():
                role.setdefault(metric, []).append(value)
            yield event
    except StopIteration as done:
        result = done.value
    return result


def train_jobs(role: str, jobs: list[Job], train, outcomes: dict, stop: Callable[[], bool], pool: bool = False):
    """MLP jobs train together; random-features fits share one factorization; the rest train in turn.

    Returns False if stopped. A job with several consumers (a shared baseline) is trained once.
    `pool`: the learners will label their data's pool afterwards (closed-form fits predict it at once).
    """
    if batchable(jobs[0].learner):
        return (yield from train_together(role, jobs, train, outcomes, stop, pool))
    evaluated = [[j.data.x_train, j.data.x_val, j.data.x_test, j.x, *([j.data.x_pool] if pool else [])] for j in jobs]
    presolve([j.learner for j in jobs], [j.x for j in jobs], [j.targets for j in jobs], evaluated)
    solved = [j for j in jobs if getattr(j.learner, "presolved", None) is not None]
    if solved and len({c[1] is None for j in solved for c in j.consumers}) == 1:
        yield from report_presolved(role, solved, outcomes)
        jobs = [j for j in jobs if j not in solved]
    for job in jobs:
        (first, teacher_pred), *others = job.consumers
        mine = outcomes[first]
        yield from train_role(role, job.learner, job.x, job.targets, job.data, teacher_pred, first, mine)
        for point, teacher_pred in others:
            yield from share(role, job, mine, outcomes[point], point, teacher_pred)
        if stop():
            return False
    return True


def report_presolved(role: str, jobs: list[Job], outcomes: dict) -> Iterator[EpochMetrics]:
    """Metrics of closed-form fits solved together, from their known logits, in one batched reduction."""
    pairs = [(job, point, teacher) for job in jobs for point, teacher in job.consumers]
    logits = {}
    for job in jobs:
        job.learner.beta = job.learner.presolved
        inputs = (job.data.x_train, job.data.x_val, job.data.x_test, job.x)
        logits[id(job)] = [job.learner.predict_logits(t) for t in inputs]
    n_classes = jobs[0].data.n_classes
    train_logits, val_logits, test_logits, fit_logits = (
        torch.stack([logits[id(job)][k] for job, _, _ in pairs]) for k in range(4)
    )
    labels = Labels.of([job.data for job, _, _ in pairs])
    teachers = None if pairs[0][2] is None else torch.stack([teacher for _, _, teacher in pairs])
    fit_labels = torch.stack([job.targets.labels(n_classes) for job, _, _ in pairs])
    train_pred, val_pred, fit_pred = train_logits.argmax(-1), val_logits.argmax(-1), fit_logits.argmax(-1)
    rows, test_pred = batch_metrics(train_pred, val_pred, test_logits, fit_pred, fit_labels, labels, teachers, "mse")
    for (job, point, _), row, pred in zip(pairs, rows, test_pred, strict=True):
        residual = logits[id(job)][3].to(torch.float64) - job.targets.distribution(n_classes)
        metrics = {"train_loss": float(0.5 * (residual**2).sum(1).mean()), **row, "steps": 0}
        outcome = outcomes[point]
        if not math.isfinite(metrics["train_loss"]):
            outcome.diverged[role] = 1
            yield EpochMetrics(
                point, role, 1, 1, dict.fromkeys(METRICS, math.nan) | {"train_loss": math.nan, "steps": 0}
            )
            continue
        outcome.final[role], outcome.learners[role], outcome.test_pred[role] = metrics, job.learner, pred
        yield EpochMetrics(point, role, 1, 1, metrics)


def share(role: str, job: Job, trained: PointOutcome, outcome: PointOutcome, point: int, teacher_pred):
    """Report a closed-form job already trained for another point, with agreement against this point's teacher."""
    if role in trained.diverged:
        outcome.diverged[role] = trained.diverged[role]
        yield EpochMetrics(point, role, 1, 1, trained.final.get(role, {}))
        return
    fit_labels = job.targets.labels(job.data.n_classes)
    metrics, outcome.test_pred[role] = evaluate(job.learner, job.data, job.x, fit_labels, teacher_pred)
    metrics = {"train_loss": trained.final[role]["train_loss"], **metrics, "steps": trained.final[role]["steps"]}
    outcome.final[role], outcome.learners[role] = metrics, job.learner
    yield EpochMetrics(point, role, 1, 1, metrics)


def shared_baseline(learner) -> bool:
    """Whether one baseline may serve every point of its seed: trained together, or in closed form."""
    return batchable(learner) or not learner.iterative


def train_group(points: list, datasets: dict, total: int, device, stop: Callable[[], bool]):
    """Yield the events of a group's points; return (outcomes, curves, seconds per point), or None if stopped.

    `datasets` maps a point index to its (Dataset, DeviceData). Teachers train first, then the
    students on their own teacher's pool labels, then the baselines; a baseline shared by several
    points (a teacher-width sweep) trains once and reports its agreement with each point's teacher.
    """
    began = time.perf_counter()
    cfg = points[0].config
    outcomes = {p.index: PointOutcome() for p in points}
    curves: dict[int, dict] = {p.index: {} for p in points}
    for p in points:
        yield PointStarted(p.index, total, p.seed, p.values)

    def stage(role: str, jobs: list[Job], pool: bool = False):
        return record_curves(curves, train_jobs(role, jobs, role_train(cfg, role), outcomes, stop, pool))

    teachers = [labeled_job(fresh(p, "teacher", datasets, device), datasets[p.index][1], p.index) for p in points]
    if not (yield from stage("teacher", teachers, pool=cfg.distill.mode != "none")):
        return None
    teacher_pred = {p.index: teacher_test_pred(outcomes[p.index], job) for p, job in zip(points, teachers, strict=True)}
    if cfg.distill.mode != "none":
        students = [
            student_job(p, fresh(p, "student", datasets, device), job, datasets[p.index][1], teacher_pred[p.index])
            for p, job in zip(points, teachers, strict=True)
            if "teacher" not in outcomes[p.index].diverged
        ]
        if students and not (yield from stage("student", students)):
            return None
    if not (yield from stage("baseline", baseline_jobs(points, datasets, device, teacher_pred))):
        return None
    for p in points:
        yield from record_curves(curves, after_point(p.config, datasets[p.index][1], p.index, outcomes[p.index]))
    return outcomes, curves, (time.perf_counter() - began) / len(points)


def fresh(point, role: str, datasets: dict, device):
    """A new, untrained learner for `role` of `point` with that role's budget, seeded as when trained alone.

    The baseline is the student's architecture from the student's initialization.
    """
    data = datasets[point.index][1]
    model = "teacher" if role == "teacher" else "student"
    spec, train = getattr(point.config, model), role_train(point.config, role)
    return build_learner(spec, train, data.x_train.shape[1], data.n_classes, role_seed(point.seed, model), device)


def labeled_job(learner, data: DeviceData, point: int, teacher_pred=None) -> Job:
    """A job fitting the noisy labeled set S."""
    return Job(learner, data, data.x_train, Targets(data.y_train), [(point, teacher_pred)])


def baseline_jobs(points: list, datasets: dict, device, teacher_pred: dict) -> list[Job]:
    """One baseline per seed and student width where it can be shared, else one per point.

    A group's points share the student's family, so the first learner says whether baselines share.
    """
    first = fresh(points[0], "baseline", datasets, device)
    shared = shared_baseline(first)
    baselines: dict[tuple, Job] = {}
    for p in points:
        key = (p.seed, p.config.student.width) if shared else (p.index,)
        if key in baselines:
            baselines[key].consumers.append((p.index, teacher_pred[p.index]))
        else:
            learner = first if p is points[0] else fresh(p, "baseline", datasets, device)
            baselines[key] = labeled_job(learner, datasets[p.index][1], p.index, teacher_pred[p.index])
    return list(baselines.values())


def teacher_test_pred(outcome: PointOutcome, job: Job) -> torch.Tensor:
    """The teacher's last test predictions (recomputed only for a diverged teacher, which kept none)."""
    if "teacher" in outcome.test_pred:
        return outcome.test_pred["teacher"]
    return job.learner.predict_logits(job.data.x_test).argmax(1)


def student_job(point, learner, teacher: Job, data: DeviceData, teacher_pred: torch.Tensor) -> Job:
    """The student's job: its teacher's labels (hard or soft) on the configured student inputs."""
    x, targets = student_inputs(point.config, data, [teacher.learner], point.seed)
    return Job(learner, data, x, targets, [(point.index, teacher_pred)])
