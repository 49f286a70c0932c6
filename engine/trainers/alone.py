"""The reference trainer: each model fits on its own, one after another, and is evaluated after every epoch."""

from collections.abc import Callable

from engine.metrics import evaluate
from engine.trainers.jobs import Fit, Fits, Job, Options


def train_alone(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Fit every job in turn, yielding its Fit after each epoch; False if `stop` asked to end."""
    for job in jobs:
        if not (yield from fit_alone(job, stop)):
            return False
    return True


def fit_alone(job: Job, stop: Callable[[], bool]) -> Fits:
    learner, data = job.learner, job.data
    fit_labels = job.targets.labels(data.n_classes)
    fits = learner.fit(job.x, job.targets, job.refine) if job.refine else learner.fit(job.x, job.targets)
    for epoch, loss in enumerate(fits, start=1):
        metrics, test_pred = evaluate(learner, data, job.x, fit_labels)
        yield [Fit(job, epoch, loss, metrics, test_pred)]
        if job.diverged_at is not None:
            return True
        if stop():
            return False
    if job.later is not None:
        job.later_logits = learner.predict_logits(job.later)
    return True
