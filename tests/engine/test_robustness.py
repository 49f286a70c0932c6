"""Nothing lost, nothing crashes: kills, resume, locks, divergence, full disks and GPU memory."""

import errno
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import OutputError, ResourceError, RunFileError
from engine.events import PointFinished
from engine.runfile import FORMAT_VERSION, RunLock, RunWriter, load_run
from engine.runner import resume, run
from tests.engine.helpers import fail_training, run_all, tiny_config

ROOT = Path(__file__).resolve().parents[2]
SWEEP = {"axis": "teacher.width", "values": [4, 6, 8, 10, 12], "seeds": [0]}
SWEEP_ARGS = [
    "--set",
    "data.dataset=moons",
    "--set",
    "data.n_train=120",
    "--set",
    "data.n_test=200",
    "--set",
    "data.n_unlabeled=300",
    "--set",
    "data.noise=0.2",
    "--set",
    "data.input_noise=0.1",
    "--set",
    "student.width=8",
    "--set",
    "train.epochs=3",
    "--set",
    "train.batch_size=32",
    "--set",
    "train.lr=0.01",
    "--set",
    "train.student_epochs=0",
    "--set",
    "train.equal_steps=false",
    "--set",
    "distill.mode=hard",
    "--set",
    "sweep.axis=teacher.width",
    "--set",
    "sweep.values=[4, 6, 8, 10, 12]",
    "--set",
    "sweep.seeds=[0]",
    "--device",
    "cpu",
]


def sweep_config(batch_models: bool = True):
    return tiny_config(distill={"mode": "hard"}, sweep=SWEEP, run={"batch_models": batch_models})


def run_and_kill(path: Path, delay: float) -> int:
    """Start a CLI sweep, SIGKILL it `delay` s after it created its run file; return points reported done."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run", "quickstart", "--out", str(path), *SWEEP_ARGS],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    started, reported = threading.Event(), []

    def read():
        for line in proc.stderr:
            started.set() if line.startswith("writing") else None
            reported.extend([line] if "done:" in line else [])
        started.set()

    reader = threading.Thread(target=read)
    reader.start()
    started.wait(timeout=120)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    return len(reported)


def test_sigkill_at_random_moments_never_loses_a_finished_point_and_resume_completes(tmp_path):
    reference = tmp_path / "reference.h5"
    run_all(sweep_config(), reference)
    expected = load_run(reference)
    rng = random.Random(7)
    for attempt in range(4):
        path = tmp_path / f"killed-{attempt}.h5"
        reported = run_and_kill(path, delay=rng.uniform(0.0, 3.0))
        stored = load_run(path)
        assert stored.status in ("running", "stopped", "complete")
        assert len(stored.points) >= reported, "every point reported finished is in the file"
        if stored.status != "complete":
            list(resume(path))
        resumed = load_run(path)
        assert resumed.status == "complete"
        assert [p.index for p in resumed.points] == [p.index for p in expected.points]
        for got, want in zip(resumed.points, expected.points, strict=True):
            for role in want.curves:
                assert np.allclose(got.curves[role]["test_error"], want.curves[role]["test_error"])
        assert not Path(f"{path}.lock").exists()


def test_resume_after_stop_equals_an_uninterrupted_run(tmp_path):
    stopped = tmp_path / "stopped.h5"
    finished = []
    for event in run(sweep_config(batch_models=False), stopped, stop=lambda: len(finished) >= 2):
        if isinstance(event, PointFinished):
            finished.append(event)
    assert load_run(stopped).status == "stopped" and len(load_run(stopped).points) == 2
    events = list(resume(stopped))
    assert events[0].points_done == 2
    straight = tmp_path / "straight.h5"
    run_all(sweep_config(batch_models=False), straight)
    a, b = load_run(stopped), load_run(straight)
    assert a.status == "complete" and len(a.points) == len(b.points) == 5
    for pa, pb in zip(a.points, b.points, strict=True):
        assert pa.values == pb.values and pa.seed == pb.seed
        for role in pb.curves:
            for metric in pb.curves[role]:
                assert np.allclose(pa.curves[role][metric], pb.curves[role][metric], equal_nan=True)


def test_resume_refuses_a_complete_run(tmp_path):
    path = tmp_path / "done.h5"
    run_all(tiny_config(), path)
    with pytest.raises(RunFileError, match="already complete"):
        list(resume(path))


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    path = tmp_path / "shared.h5"
    writer = RunWriter.create(path, tiny_config().to_json(), "cpu", 1, [])
    with pytest.raises(OutputError, match="being written by another DDX run"):
        run_all(tiny_config(), path, force=True)
    writer.finish("stopped")
    assert load_run(path).status == "stopped", "the refused run did not touch the file"

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    Path(f"{path}.lock").write_text(dead.stdout.strip())
    run_all(tiny_config(), path, force=True)
    assert load_run(path).status == "complete" and not RunLock(path).path.exists()


def test_existing_file_is_never_overwritten_without_force(tmp_path):
    path = tmp_path / "keep.h5"
    run_all(tiny_config(), path)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="already exists"):
        run_all(tiny_config(), path)
    assert path.read_bytes() == before


def test_divergence_is_recorded_and_the_sweep_goes_on(tmp_path):
    cfg = tiny_config(
        train={"optimizer": "sgd", "lr": 10.0, "momentum": 0.99, "loss": "mse", "epochs": 4},
        teacher={"width": 64, "depth": 4},
        sweep={"axis": "teacher.width", "values": [32, 64]},
    )
    events = run_all(cfg, tmp_path / "diverged.h5")
    finished = [e for e in events if isinstance(e, PointFinished)]
    assert len(finished) == 2 and events[-1].status == "complete"
    stored = load_run(tmp_path / "diverged.h5")
    for point in stored.points:
        epoch = point.diverged["teacher"]
        assert 1 <= epoch <= 4 and len(point.curves["teacher"]["epoch"]) == epoch
        assert "student" not in point.curves, "no student is distilled from a diverged teacher"
        assert "baseline" in point.curves


def test_a_full_disk_keeps_the_last_good_file_and_says_so(tmp_path, monkeypatch):
    import engine.journal
    import engine.runfile

    path = tmp_path / "full.h5"
    real_replace, real_append, calls = os.replace, engine.journal.Journal.append, []

    def full() -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def replace(src, dst):
        calls.append(dst)
        if len(calls) > 1:  # the file is created; then the disk is full
            raise full()
        real_replace(src, dst)

    def append(journal, points):
        calls.append(points)
        if len(calls) > 2:  # the first point lands in the journal; then the disk is full
            raise full()
        real_append(journal, points)

    monkeypatch.setattr(engine.runfile.os, "replace", replace)
    monkeypatch.setattr(engine.journal.Journal, "append", append)
    with pytest.raises(OutputError, match="No space left on device"):
        run_all(sweep_config(batch_models=False), path)
    stored = load_run(path)
    assert len(stored.points) == 1 and stored.status == "running"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"


def test_cuda_out_of_memory_becomes_a_clear_message_with_advice(tmp_path, monkeypatch):
    fail_training(monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    with pytest.raises(ResourceError, match="smaller batch size"):
        run_all(tiny_config(), tmp_path / "oom.h5")
    stored = load_run(tmp_path / "oom.h5")
    assert stored.status == "failed" and "out of memory" in stored.attrs["error"]


def test_an_unwritable_folder_is_refused_before_training(tmp_path):
    with pytest.raises(OutputError, match="cannot write"):
        run_all(tiny_config(), Path("/proc/ddx-run.h5"))


def test_resume_refuses_a_file_from_an_older_format_and_leaves_it_untouched(tmp_path):
    import h5py

    path = tmp_path / "old.h5"
    assert run_all(sweep_config(), path, stop=lambda: True)[-1].status == "stopped"
    with h5py.File(path, "a") as f:  # as DDX 0.2 wrote it, before the random streams were made independent
        f.attrs["format_version"] = 2
    before = path.read_bytes()
    with pytest.raises(RunFileError, match="older DDX .* start a new run"):
        list(resume(path))
    assert path.read_bytes() == before and load_run(path).config


def as_format_3(path) -> None:
    """Rewrite a run file's points in the layout DDX 0.3 wrote: one group per point, swept values and
    divergence as the point's attributes."""
    import h5py

    stored = load_run(path)
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 3
        del f["points"]
        for point in stored.points:
            group = f.create_group(f"points/{point.index}")
            attrs = {"index": point.index, "seed": point.seed, **point.values, **point.attrs}
            attrs |= {f"diverged_{role}": epoch for role, epoch in point.diverged.items()}
            group.attrs.update(attrs)
            for role, curves in point.curves.items():
                for metric, values in curves.items():
                    group.create_dataset(f"{role}/{metric}", data=values)
            for name, array in point.arrays.items():
                group.create_dataset(f"arrays/{name}", data=array)


def test_a_format_3_file_reads_as_the_same_points_and_resumes_in_the_current_format(tmp_path):
    cfg = tiny_config(
        train={"optimizer": "sgd", "lr": 10.0, "momentum": 0.99, "loss": "mse", "epochs": 2},
        sweep={"axis": "teacher.width", "values": [32, 64]},
        run={"batch_models": False},
    )
    path = tmp_path / "old.h5"
    seen = []
    for event in run(cfg, path, stop=lambda: any(isinstance(e, PointFinished) for e in seen)):
        seen.append(event)
    new = load_run(path)
    assert len(new.points) == 1 and new.points[0].diverged, "the point's teacher diverged"
    as_format_3(path)
    old = load_run(path)
    assert [(p.values, p.diverged, p.attrs.keys(), p.curves.keys()) for p in old.points] == [
        (p.values, p.diverged, p.attrs.keys(), p.curves.keys()) for p in new.points
    ]
    list(resume(path))
    done = load_run(path)
    assert done.status == "complete" and int(done.attrs["format_version"]) == FORMAT_VERSION
    assert len(done.points) == 2
    assert all(p.values["teacher.width"] in (32, 64) and p.diverged for p in done.points)
