"""Mid-group checkpoints: a group stopped or killed mid-training continues where it was and ends as if never interrupted."""

import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.checkpoint import MAGIC, GroupCheckpoint, checkpoint_paths
from engine.cli import main
from engine.events import EpochMetrics
from engine.outcomes import Ledger
from engine.runfile import load_run
from engine.runner import resume, run
from tests.engine.helpers import run_all, tiny_config

SWEEP = {"axis": "teacher.width", "values": [4, 8], "seeds": [0, 1]}


def stopped_at(cfg, path, role: str, epochs_seen: int) -> None:
    """Run `cfg` and press Stop once `role` has reported `epochs_seen` epochs (summed over points)."""
    seen = 0

    def stop():
        return seen >= epochs_seen

    for event in run(cfg, path, stop=stop):
        if isinstance(event, EpochMetrics) and event.role == role:
            seen += 1
    assert load_run(path).status == "stopped"


def assert_same_curves(a, b) -> None:
    assert [p.index for p in a.points] == [p.index for p in b.points]
    for x, y in zip(a.points, b.points, strict=True):
        assert x.curves.keys() == y.curves.keys()
        for role in x.curves:
            for metric, values in x.curves[role].items():
                np.testing.assert_allclose(values, y.curves[role][metric], rtol=1e-5, atol=1e-6, err_msg=role + metric)
        assert x.arrays.keys() == y.arrays.keys()
        for name, array in x.arrays.items():
            np.testing.assert_allclose(array, y.arrays[name], rtol=1e-5, atol=1e-6, err_msg=name)


def trained_epochs(monkeypatch) -> list[tuple[str, int]]:
    """(role, epoch) of every epoch trained from now on (replayed epochs are not trained)."""
    trained, record = [], Ledger.record

    def counting(self, fits):
        trained.extend((c.role, fit.epoch) for fit in fits for c in fit.job.consumers)
        return record(self, fits)

    monkeypatch.setattr(Ledger, "record", counting)
    return trained


def interrupted_then_resumed(cfg, tmp_path, monkeypatch, role: str, epochs_seen: int):
    """Stop a run mid-way, resume it; returns the epochs the resumed run trained and the events it yielded."""
    reference = tmp_path / "whole.h5"
    run_all(cfg, reference)
    path = tmp_path / "cut.h5"
    stopped_at(cfg, path, role, epochs_seen)
    assert len(checkpoint_paths(path)) == 1, "the stopped group left its checkpoint"
    trained = trained_epochs(monkeypatch)
    events = [e for e in resume(path) if isinstance(e, EpochMetrics)]
    assert load_run(path).status == "complete" and not checkpoint_paths(path)
    assert_same_curves(load_run(reference), load_run(path))
    return trained, events


@pytest.mark.parametrize(
    ("sections", "role", "stop_after", "done"),
    [
        ({"sweep": SWEEP}, "student", 5, 2),  # grouped: teachers restored whole, the students' buckets mid-way
        ({"sweep": SWEEP}, "teacher", 3, 1),  # grouped: the teachers' buckets mid-way
        ({"run": {"batch_models": False}}, "teacher", 2, 2),  # one model alone, mid-fit
        # the teacher's best-epoch weights so far are saved, and the student learns from them after resuming
        ({"sweep": SWEEP, "distill": {"teacher_checkpoint": "best"}}, "teacher", 17, 5),
        # each student's draw of teachers for its next mini-batch continues from the saved generator
        ({"distill": {"mode": "soft", "teachers": 3, "pool_labels": "per_batch"}, "sweep": SWEEP}, "student", 5, 2),
        # refined targets restored, and the NTK diagnostic's watchers with them
        ({"distill": {"mode": "self", "alpha": 0.5}, "sweep": SWEEP, "train": {"ntk_points": 30}}, "student", 5, 2),
    ],
    ids=["grouped-students", "grouped-teachers", "alone", "best-teacher", "per-batch-teachers", "self-distillation"],
)
def test_a_stopped_group_resumes_from_its_checkpoint_and_equals_an_uninterrupted_run(
    tmp_path, monkeypatch, sections, role, stop_after, done
):
    """Stop once `role` reported `stop_after` epochs (each model then has `done`); resume; compare."""
    sections = dict(sections)
    cfg = tiny_config(train={"epochs": 6, **sections.pop("train", {})}, **sections)
    trained, events = interrupted_then_resumed(cfg, tmp_path, monkeypatch, role, stop_after)
    assert (role, done) not in trained and (role, done + 1) in trained, "training went on from the checkpoint"
    if role == "student" and cfg.distill.mode != "self":
        assert "teacher" not in {r for r, _ in trained}, "finished teachers were restored, not retrained"
    points = len(load_run(tmp_path / "cut.h5").points)
    assert sum(e.role == role for e in events) == points * 6, "saved epochs are replayed, so the viewer sees all"


def test_a_damaged_checkpoint_is_ignored_and_its_group_trains_from_the_start(tmp_path, caplog):
    cfg = tiny_config(train={"epochs": 4}, sweep=SWEEP)
    run_all(cfg, tmp_path / "whole.h5")
    path = tmp_path / "cut.h5"
    stopped_at(cfg, path, "student", 3)
    (ckpt,) = checkpoint_paths(path)
    raw = bytearray(ckpt.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(raw))
    list(resume(path))
    assert "ignoring the damaged checkpoint" in caplog.text
    assert_same_curves(load_run(tmp_path / "whole.h5"), load_run(path))


def rewrite_checkpoint(path, change) -> None:
    """Change the state a checkpoint holds, keeping its key and a valid checksum (as another DDX might write it)."""
    raw = path.read_bytes()
    saved = torch.load(io.BytesIO(raw[len(MAGIC) + 32 :]), weights_only=True)
    change(saved["state"])
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    payload = buffer.getvalue()
    path.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)


def extra_teacher(state) -> None:
    state["stages"][0]["jobs"].append(state["stages"][0]["jobs"][0])


def narrower_weights(state) -> None:
    part = state["stages"][-1]["part"]
    net = part["buckets"][0]["net"] if part["kind"] == "stacked" else part["session"]["module"]
    name = next(iter(net))
    net[name] = net[name][..., :1]


def another_point(state) -> None:
    state["results"][99] = state["results"][0]


@pytest.mark.parametrize(
    ("change", "batch_models"),
    [(extra_teacher, True), (narrower_weights, True), (narrower_weights, False), (another_point, True)],
)
def test_a_checkpoint_that_does_not_fit_its_group_is_replaced_and_the_group_trains_from_the_start(
    tmp_path, caplog, capsys, change, batch_models
):
    """Checksum and key pass but the state is not this group's: one warning, exit 0, the run ends whole."""
    cfg = tiny_config(train={"epochs": 4}, sweep=SWEEP, run={"batch_models": batch_models})
    run_all(cfg, tmp_path / "whole.h5")
    path = tmp_path / "cut.h5"
    stopped_at(cfg, path, "student", 3)
    (ckpt,) = checkpoint_paths(path)
    rewrite_checkpoint(ckpt, change)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert main(["run", "--resume", str(path), "--quiet"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and str(ckpt) in warnings[0] and "does not fit" in warnings[0]
    assert "Traceback" not in capsys.readouterr().err
    assert load_run(path).status == "complete" and not checkpoint_paths(path)
    assert_same_curves(load_run(tmp_path / "whole.h5"), load_run(path))


def test_a_checkpoint_of_another_ddx_version_is_ignored(tmp_path, monkeypatch):
    checkpoint = GroupCheckpoint(tmp_path / "run.h5", [0], "key", 60)
    checkpoint.save({"stages": []})
    monkeypatch.setattr("engine.checkpoint.__version__", "0.0.1")
    assert GroupCheckpoint(tmp_path / "run.h5", [0], "key", 60).load(torch.device("cpu")) is None


def test_a_run_killed_mid_group_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    """SIGKILL once a checkpoint exists; the resumed file equals an uninterrupted run."""
    args = ["--set", "train.epochs=40", "--set", "run.checkpoint_seconds=1", "--set", "data.n_train=400"]
    args += ["--set", "sweep.axis=teacher.width", "--set", "sweep.values=[16, 32]"]
    path = tmp_path / "killed.h5"
    command = [sys.executable, "main.py", "run", "mlp-moons", "--out", str(path), "--set", "run.device=cpu", *args]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not checkpoint_paths(path) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    time.sleep(1.5)  # one more checkpoint interval: the kill lands mid-way between two saves
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert checkpoint_paths(path), "a checkpoint was written before the kill"
    trained = trained_epochs(monkeypatch)
    list(resume(path))
    assert ("teacher", 1) not in trained, "the group went on from its checkpoint instead of starting again"
    reference = tmp_path / "whole.h5"
    assert subprocess.run([*command[:4], "--out", str(reference), *command[6:]], check=False).returncode == 0
    assert_same_curves(load_run(reference), load_run(path))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_checkpoint_file_loads_whole_or_not_at_all(tmp_path, data):
    """Truncation or flipped bytes anywhere: `load` gives the saved state exactly, or None, never an error."""
    checkpoint = GroupCheckpoint(tmp_path / "run.h5", [3, 4], "key", 60)
    state = {"stages": [{"jobs": [], "part": None}], "results": {3: {"x": torch.arange(50.0)}}, "watchers": {}}
    checkpoint.save(state)
    original = checkpoint.path.read_bytes()
    raw = bytearray(original)
    cut = data.draw(st.integers(0, len(raw)))
    flips = data.draw(st.lists(st.integers(0, len(raw) - 1), max_size=3))
    for i in flips:
        raw[i] ^= 0xFF
    checkpoint.path.write_bytes(bytes(raw[:cut]))
    loaded = checkpoint.load(torch.device("cpu"))
    if bytes(raw[:cut]) == original:
        assert torch.equal(loaded["results"][3]["x"], state["results"][3]["x"])
    else:
        assert loaded is None
    assert GroupCheckpoint(tmp_path / "run.h5", [3, 4], "other key", 60).load(torch.device("cpu")) is None


@pytest.mark.parametrize("batch_models", [True, False])
def test_augmented_training_resumes_with_its_crops_and_flips_where_they_were(tmp_path, monkeypatch, batch_models):
    """Each model's augmentation generator is saved with it, so the resumed epochs see the same batches."""
    from tests.engine.image_fixtures import write_mnist

    write_mnist(tmp_path, n_train=96, n_test=32)
    data = {"dataset": "mnist", "root": str(tmp_path), "n_train": 64, "n_val": 8, "n_test": 32, "n_unlabeled": 24}
    cfg = tiny_config(
        data=data,
        train={"epochs": 4, "augment": True},
        sweep={"axis": "teacher.width", "values": [4, 8]},
        run={"batch_models": batch_models},
    )
    trained, _ = interrupted_then_resumed(cfg, tmp_path, monkeypatch, "teacher", 2)
    not_started = 0 if batch_models else 1  # alone, the second point is a group of its own, not begun
    assert trained.count(("teacher", 1)) == not_started and ("teacher", 3) in trained
