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
    fit_labels = job.fit_labels(data.n_classes)
    # only gradient learners take these (config checks refine and per-batch teachers go to one)
    extra = {"refine": job.refine, "rows": job.draws and job.draws.rows}
    fits = learner.fit(job.x, job.targets, **{k: v for k, v in extra.items() if v is not None})
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
