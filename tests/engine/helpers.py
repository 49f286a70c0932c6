"""Tiny configs and a run helper for engine tests."""

import engine.runner
from engine.config import ExperimentConfig, validate
from engine.runner import run


def tiny_config(**sections) -> ExperimentConfig:
    """A few-second moons experiment; keyword arguments override whole sections' keys."""
    raw = {
        "data": {"dataset": "moons", "n_train": 120, "n_test": 200, "n_unlabeled": 300, "noise": 0.2},
        "teacher": {"model": "mlp", "width": 16},
        "student": {"model": "mlp", "width": 8},
        "train": {"epochs": 3, "batch_size": 32, "lr": 0.01},
        "run": {"name": "tiny", "device": "cpu"},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return validate(raw, "test config")


def run_all(cfg: ExperimentConfig, path, **kwargs) -> list:
    return list(run(cfg, path, **kwargs))


def fail_training(monkeypatch, error: BaseException) -> None:
    """Make every group of points raise `error` as soon as it starts training."""

    def raising(*args, **kwargs):
        raise error
        yield

    monkeypatch.setattr(engine.runner, "train_group", raising)
