"""The reference trainer: each model fits on its own, one after another, and is evaluated after every epoch."""

from collections.abc import Callable

from engine.metrics import evaluate
from engine.trainers.jobs import Fit, Fits, Job, Options, Saving


def train_alone(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Fit every job in turn, yielding its Fit after each epoch; False if `stop` asked to end."""
    for job in jobs:
        if not (yield from fit_alone(job, options.saving, stop)):
            return False
    return True


def fit_alone(job: Job, saving: Saving, stop: Callable[[], bool]) -> Fits:
    """Fit one job (from where a checkpoint left it, if one did); it is `done` once its later logits exist."""
    learner, data = job.learner, job.data
    fit_labels = job.fit_labels(data.n_classes)
    resumed = saving.resumed_part("alone", [job])
    # only gradient learners take these (config checks refine and per-batch teachers go to one)
    extra = {"refine": job.refine, "rows": job.draws and job.draws.rows}
    extra["session"] = None if resumed is None else resumed["session"]
    with saving.restoring():  # a gradient learner puts a resumed session back here, before its first epoch
        fits = learner.fit(job.x, job.targets, **{k: v for k, v in extra.items() if v is not None})
    start = 0 if resumed is None else resumed["session"]["epoch"]
    for epoch, loss in enumerate(fits, start=start + 1):
        metrics, test_pred = evaluate(learner, data, job.x, fit_labels)
        yield [Fit(job, epoch, loss, metrics, test_pred)]
        if job.diverged_at is not None:
            break
        if epoch < job.epochs:  # only gradient fits have epochs to come
            saving.epoch_ended(lambda: {"kind": "alone", "jobs": [saving.index(job)], "session": session_of(learner)})
            if stop():
                return False
    else:
        if job.later is not None:
            job.later_logits = learner.predict_logits(job.later)
    job.done = True
    saving.epoch_ended()
    return not stop()


def session_of(learner) -> dict:
    return learner.session.state(learner.module)
