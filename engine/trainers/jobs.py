"""A unit of training: a job (one model, its data and targets, who reports it) and its per-epoch fits."""

from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch

from engine.budget import steps_per_epoch
from engine.metrics import DeviceData
from engine.models import Learner, Targets
from engine.models.base import Refinement
from engine.seeds import torch_generator


@dataclass(frozen=True)
class Consumer:
    """A (point, role) that reports a job's model, and its teacher's test predictions for agreement."""

    point: int
    role: str
    teacher_pred: torch.Tensor | None = None


class TeacherDraws:
    """Per-batch teachers: every mini-batch is fit to the labels of one of m teachers, drawn afresh each time.

    The job's targets then hold the m teachers' targets end to end (teacher t's example i is row
    t·n + i). Draws come from their own named stream of the point's seed, so they are independent
    of the data, the initialization and the batch order, and a model draws the same teachers
    whether it trains alone or stacked with others (one draw per mini-batch, in order).
    """

    def __init__(self, teachers: int, n: int, seed: int):
        self.teachers, self.n = teachers, n
        self.generator = torch_generator(seed, "teacher-draw")

    def shift(self) -> int:
        """Draw the next mini-batch's teacher t; its target rows lie t·n past its example indices."""
        return int(torch.randint(self.teachers, (1,), generator=self.generator)) * self.n

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """The target rows of the mini-batch `idx`: its examples as labeled by the next teacher drawn."""
        return idx + self.shift()


@dataclass(eq=False)
class Job:
    """One model to train and the (point, role)s that report it.

    Attributes
    ----------
    learner : a freshly built learner of the role's family and budget
    data : the dataset its metrics are computed on
    x, targets : its training inputs and targets
    consumers : who reports it; a baseline shared by the points of a teacher-width sweep has several
    refine : self-distillation's label refinement, or None
    later : inputs a later role needs this model's logits on (a teacher labels the student's pool)
    keep_best : later roles learn from the weights of the epoch of lowest validation error, not the last
    watched : something reads the model after every epoch (a diagnostic, or keep_best's snapshot),
        so its weights must be current then
    draws : per-batch teachers (distill.pool_labels = 'per_batch'), or None
    diverged_at, later_logits, best, done : filled while training (done: trained, or restored from a checkpoint)
    """

    learner: Learner
    data: DeviceData
    x: torch.Tensor
    targets: Targets
    consumers: list[Consumer]
    refine: Refinement | None = None
    later: torch.Tensor | None = None
    keep_best: bool = False
    watched: bool = False
    draws: TeacherDraws | None = None
    diverged_at: int | None = None
    later_logits: torch.Tensor | None = None
    best: "BestEpoch | None" = None
    done: bool = False

    @property
    def epochs(self) -> int:
        return self.learner.train.epochs if self.learner.iterative else 1

    def fit_labels(self, n_classes: int) -> torch.Tensor:
        """The class each training input is fit to; with per-batch teachers, the teachers' plurality."""
        if self.draws is None:
            return self.targets.labels(n_classes)
        votes = self.targets.distribution(n_classes).reshape(self.draws.teachers, len(self.x), n_classes)
        return votes.sum(0).argmax(1)

    def steps(self, epoch: int) -> int:
        """Optimizer steps after `epoch` epochs (0 for closed-form and full-batch fits)."""
        if not self.learner.iterative:
            return 0
        return epoch * steps_per_epoch(len(self.x), self.learner.train.batch_size)


@dataclass(frozen=True)
class BestEpoch:
    """A model's weights and test predictions at its epoch of lowest validation error so far."""

    epoch: int
    val_error: float
    state: dict[str, torch.Tensor]
    test_pred: torch.Tensor


def keep_if_best(job: Job, epoch: int, val_error: float, test_pred: torch.Tensor) -> None:
    """Copy the job's current weights when this epoch's validation error is its lowest yet (the first on ties)."""
    if job.best is None or val_error < job.best.val_error:
        state = {k: v.detach().clone() for k, v in job.learner.module.state_dict().items()}
        job.best = BestEpoch(epoch, val_error, state, test_pred)


def restore_best(job: Job) -> None:
    """Put the best epoch's weights back and label the later role's inputs with them."""
    job.learner.module.load_state_dict(job.best.state)
    if job.later is not None:
        job.later_logits = job.learner.predict_logits(job.later)


@dataclass(frozen=True)
class Fit:
    """A job's state after one epoch: mean training loss, metrics (agreement aside), test predictions."""

    job: Job
    epoch: int
    loss: float
    metrics: dict[str, float]
    test_pred: torch.Tensor


def batch_shifts(jobs: list[Job], device: torch.device) -> torch.Tensor | int:
    """How far each job's next mini-batch's target rows lie from its example indices: (M, 1), or 0 for none.

    Only jobs with per-batch teachers draw (one draw per mini-batch each); the others shift by 0.
    """
    if all(j.draws is None for j in jobs):
        return 0
    return torch.tensor([[0 if j.draws is None else j.draws.shift()] for j in jobs], device=device)


def same_tensor(x: torch.Tensor) -> tuple:
    """A key equal for tensors holding the same elements of the same memory (a tensor and its full view)."""
    return (x.device, x.data_ptr(), tuple(x.shape), x.stride(), x.dtype)


class Saving:
    """Where trainers say an epoch ended, so that a checkpoint may be taken, and find a part to resume.

    A trainer calls `epoch_ended` after every epoch with a function returning its state so far (or
    None once its jobs are done), and `resumed_part(kind, jobs)` before it starts. This base saves
    nothing and resumes nothing; engine.checkpoint.GroupSaving does both.
    """

    def begin(self, jobs: list[Job]) -> bool:
        """Start a role's stage; True when a checkpoint had it under way (its jobs are then restored)."""
        return False

    def index(self, job: Job) -> int:
        """The job's position in its stage."""
        return 0

    def resumed_part(self, kind: str, jobs: list[Job]) -> dict | None:
        return None

    def restoring(self) -> AbstractContextManager:
        """Wraps a trainer's putting back of a resumed part (a failure there is the checkpoint's)."""
        return nullcontext()

    def epoch_ended(self, part: Callable[[], dict] | None = None) -> None:
        pass


@dataclass(frozen=True)
class Options:
    """How a run lets its models train: together by family (run.batch_models), compiled (run.compile),
    checkpointed and resumed (`saving`), in mixed precision where a family gains from it (run.amp)."""

    together: bool = True
    compile: str = "off"
    amp: bool = False
    saving: Saving = field(default_factory=Saving)

    @classmethod
    def of(cls, run) -> "Options":
        return cls(run.batch_models, run.compile, run.amp)


Fits = Generator[list[Fit], None, bool]
