"""Property-based checks: random configs and random file damage never produce a traceback."""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.errors import DDXError, RunFileError
from engine.runfile import load_run
from engine.runner import run
from tests.engine.helpers import run_all, tiny_config

BAD = st.sampled_from([-1, 0, 10**9, "x", None, [1], 1.5, True])
SMALL = {
    "data": {
        "dataset": st.sampled_from(["moons", "spirals", "gaussian_mixture", "mnist1d", "moons", "file"]),
        "n_train": st.integers(2, 60),
        "n_test": st.integers(1, 40),
        "n_unlabeled": st.integers(0, 80),
        "noise": st.floats(0, 0.99),
        "noise_kind": st.sampled_from(["symmetric", "pairflip"]),
        "seed": st.integers(0, 5),
        "dim": st.integers(1, 8),
        "n_classes": st.integers(2, 5),
    },
    "teacher": {
        "model": st.sampled_from(["mlp", "cnn", "random_features", "kernel", "knn", "linear"]),
        "width": st.integers(1, 16),
        "depth": st.integers(1, 3),
        "k": st.integers(1, 5),
        "ridge": st.sampled_from([0.0, 1e-3, 1.0]),
        "trainable_fraction": st.floats(0.05, 1.0),
    },
    "distill": {
        "mode": st.sampled_from(["hard", "soft", "self", "none"]),
        "temperature": st.floats(0.1, 5),
        "chi": st.floats(0, 1),
        "teachers": st.integers(1, 3),
        "pool_labels": st.sampled_from(["random", "per_batch", "ensemble", "single"]),
        "student_data": st.sampled_from(["pool", "labeled", "both"]),
    },
    "train": {
        "epochs": st.integers(1, 2),
        "batch_size": st.integers(1, 64),
        "lr": st.sampled_from([1e-3, 0.1, 10.0]),
        "optimizer": st.sampled_from(["adam", "sgd"]),
        "loss": st.sampled_from(["cross_entropy", "mse"]),
    },
}
SMALL["student"] = SMALL["teacher"]


@st.composite
def raw_configs(draw):
    """Mostly small valid values, sometimes a bad value or an unknown key."""
    raw = {"run": {"device": "cpu"}}
    for section, fields in SMALL.items():
        table = raw.setdefault(section, {})
        for name in draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields))):
            table[name] = draw(BAD) if draw(st.integers(0, 59)) == 0 else draw(fields[name])
        if draw(st.integers(0, 49)) == 0:
            table["no_such_key"] = 1
    raw["data"].setdefault("n_train", 30)
    raw["data"].setdefault("n_test", 20)
    raw["data"].setdefault("n_unlabeled", 40)
    for role in ("teacher", "student"):
        raw[role].setdefault("width", 8)
    raw["train"].setdefault("epochs", 1)
    axis = draw(st.sampled_from(["", "teacher.width", "student.width", "distill.mode"]))
    if axis == "distill.mode":  # a choice axis: each point its own mode
        modes = draw(st.lists(st.sampled_from(["hard", "soft", "self", "none"]), min_size=2, max_size=3, unique=True))
        raw["sweep"] = {"axis": axis, "values": modes, "seeds": [0]}
    elif axis:  # sweeps exercise points trained together
        widths = draw(st.lists(st.integers(1, 16), min_size=2, max_size=3, unique=True))
        raw["sweep"] = {"axis": axis, "values": widths, "seeds": draw(st.sampled_from([[0], [0, 1]]))}
    return raw


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=raw_configs())
def test_random_configs_either_run_or_are_rejected_clearly(raw):
    from engine.config import validate

    folder = Path(tempfile.mkdtemp())
    try:
        cfg = validate(raw, "random.toml")
        events = list(run(cfg, folder / "run.h5"))
        assert events[-1].status == "complete"
        assert load_run(folder / "run.h5").status == "complete"
        event("ran")
    except DDXError as exc:
        event(f"rejected: {type(exc).__name__}")
        message = str(exc)
        assert message and "Traceback" not in message
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def intact_run_file(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("intact") / "run.h5"
    run_all(tiny_config(sweep={"axis": "teacher.width", "values": [4, 8]}), path)
    return path.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_run_files_load_what_is_intact_or_fail_clearly(intact_run_file, data, tmp_path):
    damaged = bytearray(intact_run_file)
    if data.draw(st.booleans(), label="truncate"):
        damaged = damaged[: data.draw(st.integers(0, len(damaged) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 40), label="edits")):
            position = data.draw(st.integers(0, len(damaged) - 1))
            damaged[position] = data.draw(st.integers(0, 255))
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(damaged))
    try:
        stored = load_run(path)
        assert len(stored.points) + len(stored.damaged) <= 2
    except RunFileError as exc:
        assert "damaged.h5" in str(exc)
    assert main(["show", str(path)]) in (0, 2)
