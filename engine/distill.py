"""Distillation modes: how the student's training set and targets come from the teacher(s)."""

from dataclasses import dataclass

import torch

from engine.models import Targets
from engine.registry import Registry
from engine.seeds import torch_generator

MODES: Registry = Registry("distill mode")


@dataclass(frozen=True)
class Mode:
    """A distillation mode and the `distill.*` knobs it reads."""

    name: str
    fields: tuple[str, ...]
    needs_teacher_labels: bool
    description: str


for mode in (
    Mode(
        "hard",
        ("teachers", "pool_labels", "student_data", "teacher_checkpoint"),
        True,
        "student fits the teacher's argmax labels",
    ),
    Mode(
        "soft",
        ("temperature", "chi", "teachers", "pool_labels", "student_data", "teacher_checkpoint"),
        True,
        "student fits the teacher's probabilities at temperature T, mixed with true labels by χ",
    ),
    Mode(
        "self",
        ("alpha", "temperature", "refine"),
        False,
        "self-distillation: labels refined by the model's own predictions",
    ),
    Mode("none", (), False, "teacher and baseline only"),
):
    MODES.register(mode.name)(mode)


def pool_logits(teacher_logits: list[torch.Tensor], how: str, seed: int) -> torch.Tensor:
    """Combine m teachers' logits on the student's inputs: per-example random teacher, or their mean."""
    if len(teacher_logits) == 1:
        return teacher_logits[0]
    stacked = torch.stack(teacher_logits)
    if how == "ensemble":
        return stacked.mean(0)
    gen = torch_generator(seed, "teacher-pick")
    pick = torch.randint(len(teacher_logits), (stacked.shape[1],), generator=gen).to(stacked.device)
    return stacked[pick, torch.arange(stacked.shape[1], device=stacked.device)]


def student_targets(distill, logits: torch.Tensor, labels: torch.Tensor, n_labeled: int) -> Targets:
    """Targets for the student's inputs, whose first `n_labeled` rows are the labeled set.

    `logits` are the (combined) teacher's logits on those inputs; `labels` the noisy labels of the
    labeled rows. Hard mode fits the argmax; soft mode fits softmax(logits/T), and on labeled rows
    mixes in the true label with weight 1 − χ.
    """
    n = len(logits)
    hard = torch.full((n,), -1, dtype=torch.long, device=logits.device)
    if distill.mode == "hard":
        return Targets(logits.argmax(1))
    hard[:n_labeled] = labels
    weight = torch.ones(n, device=logits.device)
    weight[:n_labeled] = distill.chi
    soft = torch.softmax(logits.to(torch.float64) / distill.temperature, 1)
    return Targets(hard, soft, weight, distill.temperature)
