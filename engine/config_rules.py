"""What a config may not combine, and the keys a sweep may vary: rules that read the whole config model."""

import typing
from typing import Literal

from pydantic import ValidationError

from engine.axes import SweptValue, format_value
from engine.config import IMAGE_DATASETS, SECTIONS, DistillConfig, ExperimentConfig, SweepConfig, explain, validate
from engine.distill import MODES
from engine.models import FAMILIES


def cross_field_problems(cfg: ExperimentConfig):
    """Yield a message for each combination of values that cannot run together."""
    d = cfg.distill
    if MODES[d.mode].needs_teacher_labels and d.student_data == "pool" and cfg.data.n_unlabeled == 0:
        yield (
            f"distill.mode = '{d.mode}' trains the student on the unlabeled pool, but data.n_unlabeled = 0; "
            "set data.n_unlabeled > 0 or distill.student_data = 'labeled'"
        )
    if d.mode == "soft" and d.chi < 1 and d.student_data == "pool":
        yield "distill.chi < 1 mixes in true labels, which the pool lacks; set distill.student_data to 'labeled' or 'both'"
    if d.mode == "self" and not FAMILIES[cfg.student.model].gradient:
        gradient = ", ".join(n for n in FAMILIES.names() if FAMILIES[n].gradient)
        yield f"distill.mode = 'self' refines labels during training; student.model must be one of: {gradient}"
    if d.teacher_checkpoint == "best" and MODES[d.mode].needs_teacher_labels and cfg.data.n_val == 0:
        yield "distill.teacher_checkpoint = 'best' picks the teacher's epoch on the validation split; set data.n_val > 0"
    if per_batch_teachers(d) and not FAMILIES[cfg.student.model].gradient:
        gradient = ", ".join(n for n in FAMILIES.names() if FAMILIES[n].gradient)
        yield f"distill.pool_labels = 'per_batch' draws a teacher per mini-batch; student.model must be one of: {gradient}"
    if cfg.train.equal_steps and cfg.train.baseline_epochs:
        yield "train.equal_steps sets the baseline's budget from the student's; leave train.baseline_epochs at 0"
    if cfg.data.dataset == "file" and not cfg.data.path:
        yield "data.dataset = 'file' needs data.path: an .npz or .h5 file with X and y"
    yield from image_problems(cfg)
    yield from sweep_problems(cfg)


def image_problems(cfg: ExperimentConfig):
    """Knobs that only image datasets read, set for another dataset or set together inconsistently."""
    image = cfg.data.dataset in IMAGE_DATASETS
    if cfg.data.noise_file and cfg.data.noise > 0:
        yield "data.noise_file fixes the noisy labels; set data.noise = 0 (the file's noise rate is measured from it)"
    for key, on in (("data.noise_file", cfg.data.noise_file), ("data.pool_file", cfg.data.pool_file)):
        if on and not image:
            yield f"{key} is read by the image datasets only ({', '.join(IMAGE_DATASETS)})"
    if cfg.train.augment and not image:
        yield f"train.augment crops and flips images; data.dataset must be one of: {', '.join(IMAGE_DATASETS)}"
    for role in ("teacher", "student"):
        if getattr(cfg, role).model == "resnet18" and not image:
            yield f"{role}.model = 'resnet18' needs images; data.dataset must be one of: {', '.join(IMAGE_DATASETS)}"


def teacher_count(distill: DistillConfig) -> int:
    """How many teachers a point trains: none for self-distillation (its student refines S's labels
    itself), one with pool_labels = 'single', else distill.teachers."""
    if distill.mode == "self":
        return 0
    return 1 if distill.pool_labels == "single" else distill.teachers


def per_batch_teachers(distill: DistillConfig) -> bool:
    """Whether the student's mini-batches are each labeled by a teacher drawn afresh."""
    return distill.pool_labels == "per_batch" and distill.teachers > 1 and MODES[distill.mode].needs_teacher_labels


def sweep_problems(cfg: ExperimentConfig):
    s = cfg.sweep
    for axis, values, name in ((s.axis, s.values, "sweep.axis"), (s.axis2, s.values2, "sweep.axis2")):
        if not axis:
            if values:
                yield f"{name} is empty but its values are set; name a key such as teacher.width"
            continue
        if axis not in sweepable_keys():
            yield f"{name} = {axis!r} is not a config key a sweep can vary; allowed: {', '.join(sweepable_keys())}"
            continue
        if not values:
            yield f"{name} = {axis!r} needs at least one value in {name.replace('axis', 'values')}"
        if len(set(values)) < len(values):
            yield f"{name.replace('axis', 'values')} repeats a value; each point of {axis} must differ"
        for value in values:
            problem = value_problem(cfg, axis, value)
            if problem:
                yield f"{name.replace('axis', 'values')} holds {format_value(value)}, invalid for {axis}: {problem}"
    if s.axis2 and s.axis2 == s.axis:
        yield "sweep.axis2 must differ from sweep.axis"
    if s.axis2 and not s.axis:
        yield "sweep.axis2 is set but sweep.axis is empty; set the first axis first"


def numeric_keys() -> list[str]:
    """Dotted names of every int or float field a sweep may vary."""
    return [key for key in config_keys() if field_type(key) in (int, float)]


def choices(key: str) -> tuple[str, ...]:
    """The names a categorical (choice) key allows; () for any other key."""
    kind = field_type(key)
    if typing.get_origin(kind) is not Literal:
        return ()
    return tuple(v for v in typing.get_args(kind) if isinstance(v, str))


def categorical_keys() -> list[str]:
    """Dotted names of every choice field a sweep may vary (distill.mode, teacher.model, …)."""
    return [key for key in config_keys() if choices(key)]


def sweepable_keys() -> list[str]:
    return numeric_keys() + categorical_keys()


def config_keys() -> list[str]:
    """Dotted names of every field outside the sweep and run sections."""
    return [
        f"{section}.{name}"
        for section in SECTIONS
        if section not in ("sweep", "run")
        for name in ExperimentConfig.model_fields[section].annotation.model_fields
    ]


def field_type(key: str) -> type:
    section, name = key.split(".", 1)
    return ExperimentConfig.model_fields[section].annotation.model_fields[name].annotation


def value_problem(cfg: ExperimentConfig, key: str, value: SweptValue) -> str | None:
    """Why `value` is not allowed for `key`, or None when it is."""
    allowed = choices(key)
    if allowed and value not in allowed:
        return "must be one of " + ", ".join(allowed)
    if not allowed and isinstance(value, str):
        return "must be a number"
    if field_type(key) is int and value != int(value):
        return "must be a whole number"
    section, name = key.split(".", 1)
    part = getattr(cfg, section)
    try:
        changed = type(part).model_validate({**part.model_dump(), name: coerce(key, value)})
    except ValidationError as exc:
        return explain(exc.errors()[0])
    # the value may not go with the rest of the config (distill.mode = 'self' with a k-NN student)
    point = cfg.model_copy(update={section: changed, "sweep": SweepConfig()})
    return next(cross_field_problems(point), None)


def coerce(key: str, value: SweptValue) -> int | float | str:
    if isinstance(value, str):
        return value
    return int(value) if field_type(key) is int else float(value)


def with_values(cfg: ExperimentConfig, values: dict[str, SweptValue]) -> ExperimentConfig:
    """A copy of `cfg` with dotted keys set (values are coerced to each field's type)."""
    raw = cfg.model_dump()
    for key, value in values.items():
        section, name = key.split(".", 1)
        raw[section][name] = coerce(key, value)
    return validate(raw, "sweep point")
