"""Trainers: how a role's models are fitted, chosen by what their family can do.

A family's registry entry names its trainer (`FamilyInfo.trainer`):

- "alone": each model fits on its own, one after another (k-NN, linear, kernels);
- "stacked": models of one family train as one zero-padded stacked module, one step for all (MLP, CNN);
- "nested": closed-form fits share one factorization across a width sweep (random features);
- "grouped": networks with BatchNorm of one width train as one network with models folded into its
  channels (resnet18).

Every trainer yields, after every epoch, one `Fit` per job still training, and returns False when
`stop` asked it to end. Whoever reads the fits marks a diverged job (`Job.diverged_at`); trainers
then neither train nor report it again. With `run.batch_models = false`, or a single job, every
family trains alone: that is the reference every other trainer must equal.
"""

from collections.abc import Callable

from engine.models import FAMILIES
from engine.trainers.alone import train_alone
from engine.trainers.grouped import train_grouped
from engine.trainers.jobs import Consumer, Fit, Fits, Job, Options, Saving
from engine.trainers.nested import train_nested
from engine.trainers.stacked import train_stacked

__all__ = ["TRAINERS", "Consumer", "Fit", "Fits", "Job", "Options", "Saving", "train"]

TRAINERS = {"alone": train_alone, "stacked": train_stacked, "nested": train_nested, "grouped": train_grouped}


def train(jobs: list[Job], options: Options, stop: Callable[[], bool]) -> Fits:
    """Train `jobs`, each with its family's trainer when `options.together` (else alone); False if stopped.

    Jobs already `done` (restored from a checkpoint) are skipped.
    """
    by_trainer: dict[str, list[Job]] = {}
    for job in (j for j in jobs if not j.done):
        if options.amp:
            job.learner.use_amp()
        name = FAMILIES[job.learner.family].trainer if options.together and len(jobs) > 1 else "alone"
        by_trainer.setdefault(name, []).append(job)
    for name, members in by_trainer.items():
        if not (yield from TRAINERS[name](members, options, stop)):
            return False
    return True
