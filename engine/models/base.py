"""The learner contract shared by every model family, and the training targets they fit."""

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.registry import Registry

FAMILIES: Registry = Registry("model family")
EVAL_CHUNK = 8192


@dataclass(frozen=True)
class Targets:
    """What a model is fit to: hard labels, soft probabilities, or a per-example mix of both.

    Attributes
    ----------
    hard : (n,) int64 labels; -1 where an example has none (the unlabeled pool)
    soft : (n, C) probabilities from a teacher, or None
    weight : (n,) share of the soft term per example (χ on the labeled set, 1 on the pool), or None
    temperature : the student's logits are divided by it in the soft term
    """

    hard: torch.Tensor
    soft: torch.Tensor | None = None
    weight: torch.Tensor | None = None
    temperature: float = 1.0

    def __len__(self) -> int:
        return len(self.hard)

    def distribution(self, n_classes: int) -> torch.Tensor:
        """The target as one probability vector per example: (1 − w)·onehot(hard) + w·soft."""
        onehot = F.one_hot(self.hard.clamp(min=0), n_classes).to(torch.float64)
        onehot = onehot * (self.hard >= 0).unsqueeze(1)
        if self.soft is None:
            return onehot
        w = self.weight.to(torch.float64).unsqueeze(1)
        return (1 - w) * onehot + w * self.soft.to(torch.float64)

    def labels(self, n_classes: int) -> torch.Tensor:
        """The hard class each example is fit to (argmax of the distribution)."""
        return self.distribution(n_classes).argmax(1)


def objective(logits: torch.Tensor, targets: Targets, idx: torch.Tensor | slice, loss: str) -> torch.Tensor:
    """Per-example training loss on the examples `idx` of `targets`.

    Cross-entropy mixes the hard term (1 − w)·CE(y, softmax(q)) with the soft term
    w·CE(soft, softmax(q/T)); squared loss fits the logits to the target distribution.
    """
    hard = targets.hard[idx]
    if loss == "mse":
        goal = targets_slice_distribution(targets, idx, logits.shape[1]).to(logits.dtype)
        return 0.5 * ((logits - goal) ** 2).sum(1)
    per = F.cross_entropy(logits, hard.clamp(min=0), reduction="none") * (hard >= 0)
    if targets.soft is None:
        return per
    w = targets.weight[idx].to(logits.dtype)
    soft_ce = -(targets.soft[idx].to(logits.dtype) * F.log_softmax(logits / targets.temperature, 1)).sum(1)
    return (1 - w) * per + w * soft_ce


@dataclass(frozen=True)
class Refinement:
    """Self-distillation as label refinement: after each epoch the targets mix in the model's own predictions.

    'fixed' keeps (1 − alpha)·onehot(y) in every target; 'cumulative' mixes into the previous target,
    (1 − alpha)·target_e + alpha·softmax(f_e/T), so the given (possibly wrong) labels fade as (1 − alpha)^e.
    """

    alpha: float
    temperature: float
    rule: str

    def next(self, targets: Targets, logits: torch.Tensor) -> Targets:
        """Next epoch's targets from this epoch's `targets` and the model's logits on the same inputs."""
        probs = torch.softmax(logits.to(torch.float64) / self.temperature, 1)
        a, n, device = self.alpha, len(logits), logits.device
        if self.rule == "cumulative":
            mixed = (1 - a) * targets.distribution(probs.shape[1]) + a * probs
            return Targets(torch.full_like(targets.hard, -1), mixed, torch.ones(n, device=device), 1.0)
        return Targets(targets.hard, probs, torch.full((n,), a, device=device), 1.0)


def targets_slice_distribution(targets: Targets, idx, n_classes: int) -> torch.Tensor:
    part = Targets(
        targets.hard[idx],
        None if targets.soft is None else targets.soft[idx],
        None if targets.weight is None else targets.weight[idx],
        targets.temperature,
    )
    return part.distribution(n_classes)


class Learner:
    """A trainable classifier of one model family.

    Subclasses implement `fit`, a generator that yields the training loss once per epoch (closed-form
    families yield once), and `logits`. `loss` names the loss used for train and test loss metrics.
    """

    family: str = ""  # its registered name, set by `register_family`
    loss: str = "cross_entropy"
    iterative: bool = False

    def fit(self, x: torch.Tensor, targets: Targets) -> Iterator[float]:
        raise NotImplementedError

    def use_amp(self) -> None:
        """Train in mixed precision where the family and device gain from it (run.amp); most families do not."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def predict_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for any number of inputs, computed in chunks to bound memory."""
        # an empty input (no validation split) still goes through the model once, for its output shape
        return torch.cat([self.logits(x[i : i + EVAL_CHUNK]) for i in range(0, max(len(x), 1), EVAL_CHUNK)])


@dataclass(frozen=True)
class FamilyInfo:
    """What the config, the GUI and the protocol need to know about a family.

    Attributes
    ----------
    fields : the model knobs it reads
    gradient : trained by gradient descent (epochs, optimizer, NTK)
    trainer : how several of its models train (engine.trainers): "alone" one after another,
        "stacked" as one batched module, "nested" by one closed-form solve shared across widths
    """

    build: type
    fields: tuple[str, ...]
    gradient: bool
    description: str
    trainer: str = "alone"


def register_family(name: str, fields: tuple[str, ...], gradient: bool, description: str, trainer: str = "alone"):
    """Class decorator registering a Learner subclass as model family `name`."""

    def decorate(cls):
        cls.family = name
        FAMILIES.register(name)(FamilyInfo(cls, fields, gradient, description, trainer))
        return cls

    return decorate
