"""Training budgets per role: how many epochs each role trains and the optimizer steps they amount to.

Teachers train `train.epochs`; the student `train.student_epochs` and the baseline
`train.baseline_epochs` (0 = `train.epochs`). With `train.equal_steps` the baseline takes as many
mini-batch steps as the student, rounded to whole epochs over S, so a student trained on a pool
ten times the size of S is not compared with a baseline that took a tenth of its steps.
"""

import math

from engine.config import ExperimentConfig, TrainConfig


def steps_per_epoch(examples: int, batch_size: int) -> int:
    """Mini-batches in one pass over `examples` (the last batch may be smaller)."""
    return math.ceil(examples / batch_size)


def student_examples(cfg: ExperimentConfig) -> int:
    """How many inputs the student trains on (distill.student_data; S itself for self-distillation)."""
    data = cfg.data
    if cfg.distill.mode == "self":
        return data.n_train
    return {"pool": data.n_unlabeled, "labeled": data.n_train, "both": data.n_train + data.n_unlabeled}[
        cfg.distill.student_data
    ]


def role_epochs(cfg: ExperimentConfig, role: str) -> int:
    """Epochs of `role` ('teacher…', 'student' or 'baseline')."""
    train = cfg.train
    student = train.student_epochs or train.epochs
    if role == "student":
        return student
    if role != "baseline":
        return train.epochs
    if train.equal_steps and cfg.distill.mode != "none":
        steps = student * steps_per_epoch(student_examples(cfg), train.batch_size)
        return max(1, round(steps / steps_per_epoch(cfg.data.n_train, train.batch_size)))
    return train.baseline_epochs or train.epochs


def role_train(cfg: ExperimentConfig, role: str) -> TrainConfig:
    """The training section `role` trains with: `train` with that role's epochs."""
    return cfg.train.model_copy(update={"epochs": role_epochs(cfg, role)})
