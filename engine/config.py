"""The experiment config: one validated model with defaults, descriptions and ranges for every knob."""

import math
import re
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.axes import Axis, sweep_axes
from engine.datasets import DATASETS, NOISE_KINDS
from engine.datasets.image_files import LAYOUTS
from engine.distill import MODES
from engine.errors import ConfigError
from engine.models import FAMILIES

SCHEMA_VERSION = 1
MAX_SWEEP_SEED = 2**31 - 1
SECTIONS = ("data", "teacher", "student", "distill", "train", "sweep", "run")
# Run and preset names become file names: no folders, no control characters, not too long for a file system.
PLAIN_NAME = re.compile(r"[^\W_][\w .+-]{0,99}")
PLAIN_NAME_RULE = (
    "start with a letter or digit, then use letters, digits, spaces, '-', '_', '.' or '+' "
    "(at most 100 characters, no slashes or control characters)"
)

IMAGE_DATASETS = tuple(LAYOUTS)
DatasetName = Literal[DATASETS.names()]  # type: ignore[valid-type]
FamilyName = Literal[FAMILIES.names()]  # type: ignore[valid-type]
ModeName = Literal[MODES.names()]  # type: ignore[valid-type]
NoiseKind = Literal[NOISE_KINDS]  # type: ignore[valid-type]


class Section(BaseModel):
    # infinities and NaN are refused by every number field, with the key named (never an overflow later)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DataConfig(Section):
    """Which data, how much of it, and how its training labels are corrupted."""

    dataset: DatasetName = Field("mnist1d", description="data generator or 'file'")
    n_train: int = Field(1000, ge=1, le=10_000_000, description="labeled training examples (the set S)")
    n_test: int = Field(2000, ge=1, le=10_000_000, description="clean-labeled test examples")
    n_unlabeled: int = Field(10000, ge=0, le=100_000_000, description="unlabeled pool U that the teacher labels")
    n_val: int = Field(
        500,
        ge=0,
        le=10_000_000,
        description="validation examples, labeled with the training noise; best epochs are chosen on them (0 = none)",
    )
    noise: float = Field(0.15, ge=0, lt=1, description="label noise rate on the training labels")
    noise_kind: NoiseKind = Field("symmetric", description="symmetric (uniform other class) or pairflip (c → c+1)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="data seed; each sweep seed adds to it")
    dim: int = Field(200, ge=1, le=100_000, description="input dimension d (Gaussian mixture, regression, clusters)")
    rho: float = Field(0.2, gt=0, lt=1, description="share ρ of class 1 in the Gaussian mixture")
    delta: float = Field(1.0, gt=0, le=100, description="noise variance Δ of the Gaussian mixture")
    signal: float = Field(
        1.0, ge=0, le=100, description="norm r of the linear regression's coefficients ‖β‖ or of the two-scale mean ‖μ‖"
    )
    target_noise: float = Field(0.5, ge=0, le=100, description="std σ of the linear regression's target noise")
    input_noise: float = Field(
        0.1, ge=0, le=10, description="std of Gaussian input noise (2-D datasets) or around each cluster's centre"
    )
    n_classes: int = Field(3, ge=2, le=20, description="number of classes (spiral arms, cluster classes)")
    clusters_per_class: int = Field(6, ge=1, le=1000, description="Gaussian blobs per class (clusters)")
    informative_dim: int = Field(8, ge=1, le=100_000, description="coordinates that hold the clusters' centres")
    cluster_spread: float = Field(2.5, gt=0, le=1000, description="std of the clusters' centres")
    nuisance_std: float = Field(2.0, ge=0, le=1000, description="std of the clusters' uninformative coordinates")
    slow_dim: int = Field(10, ge=0, le=100_000, description="coordinates in the slow block (two_scales): the last ones")
    slow_scale: float = Field(0.05, gt=0, le=1, description="factor on the slow block's coordinates (two_scales)")
    slow_share: float = Field(0.8, ge=0, le=1, description="share of ‖μ‖² in the slow block (two_scales)")
    path: str = Field("", description="path of an .npz or .h5 file with X, y (dataset 'file')")
    root: str = Field(
        "",
        description="folder holding torchvision's dataset folders (image datasets); empty = $DDX_DATA_ROOT or ~/data",
    )
    pool_file: str = Field(
        "",
        description="unlabeled pool images as .npy (memory-mapped) or .npz with X, uint8; a relative path is "
        "read under the data root (data.root); empty = training images",
    )
    noise_file: str = Field(
        "",
        description="fixed noisy labels, one per training image (.npy, .npz or text); a relative path is read "
        "under the data root (data.root); needs data.noise = 0",
    )


class ModelConfig(Section):
    """A model family and its size knob; fields a family does not read are ignored."""

    model: FamilyName = Field("mlp", description="model family")
    width: int = Field(64, ge=1, le=1_000_000, description="size knob: hidden units, channels, features or centres")
    depth: int = Field(2, ge=0, le=16, description="hidden layers of an MLP (0: a linear model)")
    k: int = Field(
        1, ge=0, le=100_000, description="neighbours of a k-NN vote; 0 = √n of its training set (grows with the data)"
    )
    kernel: Literal["rbf", "laplace"] = Field("rbf", description="kernel of a kernel machine")
    bandwidth: float = Field(0.0, ge=0, le=1e6, description="kernel length scale; 0 = median pairwise distance")
    ridge: float = Field(0.0, ge=0, le=1e6, description="L2 penalty of closed-form and linear fits; 0 = ridgeless")
    trainable_fraction: float = Field(1.0, gt=0, le=1, description="share η of a linear model's weights that train")
    stem: Literal["cifar", "imagenet"] = Field(
        "cifar", description="ResNet stem: 3×3 stride-1 conv, no max-pool (cifar) or 7×7 stride-2 + max-pool"
    )


class DistillConfig(Section):
    """How the student learns from the teacher(s)."""

    mode: ModeName = Field("hard", description="hard, soft, self (label refinement) or none")
    temperature: float = Field(1.0, gt=0, le=100, description="softmax temperature T of soft targets")
    chi: float = Field(1.0, ge=0, le=1, description="χ: weight of the teacher term; 1 − χ goes to true labels")
    alpha: float = Field(0.5, ge=0, le=1, description="self-distillation: weight a of the model's own predictions")
    refine: Literal["fixed", "cumulative"] = Field(
        "fixed", description="self-distillation: mix predictions with the given labels (fixed) or the last target"
    )
    teachers: int = Field(1, ge=1, le=64, description="number m of independently trained teachers")
    pool_labels: Literal["random", "per_batch", "ensemble", "single"] = Field(
        "random",
        description=(
            "with m > 1: a random teacher per example, a random teacher per mini-batch drawn each time it is seen "
            "(gradient-trained students), or the mean of their logits; single: one teacher (ignores distill.teachers)"
        ),
    )
    student_data: Literal["pool", "labeled", "both"] = Field(
        "pool", description="inputs the student trains on: the pool U, the labeled set S, or both"
    )
    teacher_data: Literal["full", "bootstrap", "split"] = Field(
        "full", description="each of the m teachers sees all of S, its own bootstrap resample, or its own 1/m of S"
    )
    teacher_checkpoint: Literal["final", "best"] = Field(
        "final",
        description="the teacher weights the student learns from: the last epoch's, or the epoch of lowest "
        "validation error (early stopping)",
    )


class TrainConfig(Section):
    """Optimization of gradient-trained families (mlp, cnn)."""

    epochs: int = Field(30, ge=1, le=100_000, description="passes over the training set (the teachers' budget)")
    student_epochs: int = Field(
        0, ge=0, le=100_000, description="passes of the student over its data; 0 = train.epochs"
    )
    baseline_epochs: int = Field(0, ge=0, le=100_000, description="passes of the baseline over S; 0 = train.epochs")
    equal_steps: bool = Field(
        False, description="the baseline takes as many optimizer steps as the student (whole epochs, rounded)"
    )
    batch_size: int = Field(128, ge=1, le=1_000_000, description="examples per mini-batch")
    lr: float = Field(1e-3, gt=0, le=10, description="learning rate")
    optimizer: Literal["adam", "sgd"] = Field("adam", description="optimizer")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 weight decay of the optimizer")
    loss: Literal["cross_entropy", "mse"] = Field("cross_entropy", description="training loss")
    augment: bool = Field(
        False, description="random crop (4-pixel padding) and horizontal flip of every mini-batch (image datasets)"
    )
    ntk_points: int = Field(
        0, ge=0, le=2000, description="training inputs of the empirical-NTK diagnostic of the baseline; 0 = off"
    )


class SweepConfig(Section):
    """Which config keys vary across the run's points, and over which seeds."""

    axis: str = Field(
        "", description="key swept: numeric (teacher.width) or a choice (distill.mode); empty = one point"
    )
    values: list[float | str] = Field(
        default_factory=list, description="values of the swept key: numbers, or a choice key's names"
    )
    axis2: str = Field("", description="optional second swept key (a grid with the first)")
    values2: list[float | str] = Field(default_factory=list, description="values of the second swept key")
    seeds: list[int] = Field(
        default_factory=lambda: [0], min_length=1, description="seeds; each point runs once per seed"
    )

    @property
    def axes(self) -> list["Axis"]:
        return sweep_axes(self.model_dump())

    @field_validator("values", "values2", mode="before")
    @classmethod
    def finite(cls, values):
        # checked before the union of number and name, which would report the bad item twice
        for i, value in enumerate(values if isinstance(values, list) else ()):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"item {i} is {value}; values must be finite numbers or a choice's names")
        return values

    @field_validator("seeds")
    @classmethod
    def seeds_non_negative(cls, seeds: list[int]) -> list[int]:
        if any(not 0 <= s <= MAX_SWEEP_SEED for s in seeds):
            raise ValueError(f"seeds must be integers from 0 to {MAX_SWEEP_SEED}")
        return seeds


class RunConfig(Section):
    """Where and how the run executes."""

    name: str = Field(
        "experiment", description="short name, used in the default file name: letters, digits, spaces, - _ . + (≤ 100)"
    )
    description: str = Field("", description="what this experiment shows and what to look for")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="auto, cpu, cuda or cuda:N")
    batch_models: bool = Field(
        True, description="train a sweep's MLPs together in one batched computation (same results, faster)"
    )
    checkpoint_seconds: float = Field(
        60.0,
        ge=1,
        le=86400,
        description="finished points reach the run file's table, and training groups their checkpoint, at least this often",
    )
    amp: bool = Field(
        True, description="ResNets on CUDA train in bfloat16 mixed precision, channels-last; the CPU stays float32"
    )
    compile: Literal["auto", "on", "off"] = Field(
        "auto",
        description="torch.compile the stacked training step: auto = on CUDA with Triton, for runs long enough to repay it",
    )

    @field_validator("name")
    @classmethod
    def plain_name(cls, name: str) -> str:
        if not PLAIN_NAME.fullmatch(name):
            raise ValueError(f"must be usable as a file name: {PLAIN_NAME_RULE}")
        return name


class ExperimentConfig(BaseModel):
    """A whole experiment: data, teacher, student, distillation, training, sweep and run settings."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, description="config format version")
    data: DataConfig = Field(default_factory=DataConfig)
    teacher: ModelConfig = Field(default_factory=lambda: ModelConfig(width=256))
    student: ModelConfig = Field(default_factory=lambda: ModelConfig(width=32))
    distill: DistillConfig = Field(default_factory=DistillConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @model_validator(mode="after")
    def consistent(self) -> "ExperimentConfig":
        from engine.config_rules import cross_field_problems  # the rules read this module's classes

        for problem in cross_field_problems(self):
            raise ValueError(problem)
        return self

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump())

    def to_json(self) -> str:
        return self.model_dump_json()


def explain(error: dict) -> str:
    """A plain-words version of one pydantic error, naming what is allowed."""
    ctx = error.get("ctx", {})
    bounds = {
        "greater_than_equal": "≥ {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "≤ {le}",
        "less_than": "< {lt}",
    }
    if error["type"] in bounds:
        return "must be " + bounds[error["type"]].format(**ctx)
    return error["msg"].removeprefix("Value error, ").replace("Input should be", "must be")


def allowed_keys(loc: tuple) -> str:
    if len(loc) == 1:
        return ", ".join(["schema_version", *SECTIONS])
    model = ExperimentConfig.model_fields.get(loc[0])
    if model is None:
        return ", ".join(SECTIONS)
    return ", ".join(model.annotation.model_fields)


def describe(exc: ValidationError, source: str) -> str:
    """One message listing every problem in `source`, each with its key, value and what is allowed."""
    lines = []
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        key = ".".join(loc)
        if error["type"] == "extra_forbidden":
            where = f"[{loc[0]}]" if len(loc) > 1 else "the top level"
            lines.append(f"unknown key {key!r}; allowed keys in {where}: {allowed_keys(loc)}")
        elif not loc:
            lines.append(explain(error))
        else:
            lines.append(f"{key} = {error['input']!r}: {explain(error)}")
    return f"invalid config in {source}:\n  " + "\n  ".join(lines)


def validate(raw: dict, source: str) -> ExperimentConfig:
    """Validate a raw nested dict into an ExperimentConfig, or raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid config in {source}: expected a table of sections")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ConfigError(
            f"{source} has schema_version {version}, made by a newer DDX; this version reads up to {SCHEMA_VERSION}"
        )
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe(exc, source)) from None
