"""Run files at scale: columnar rows, the journal of finished points, checkpoints and kills of long writers."""

import math
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.runfile import kill_and_reopen, open_writer, synthetic_point
from engine.cli import main
from engine.errors import RunFileError
from engine.journal import journal_path, read_journal
from engine.records import PointRecord
from engine.runfile import RunWriter, load_run, peek
from engine.runner import run
from tests.engine.helpers import tiny_config


def same(a: PointRecord, b: PointRecord) -> bool:
    curves = a.curves.keys() == b.curves.keys() and all(
        a.curves[r].keys() == b.curves[r].keys()
        and all(np.array_equal(a.curves[r][m], b.curves[r][m]) for m in b.curves[r])
        for r in b.curves
    )
    arrays = a.arrays.keys() == b.arrays.keys() and all(np.array_equal(a.arrays[n], b.arrays[n]) for n in b.arrays)
    return (a.index, a.seed, a.values, a.attrs, a.diverged) == (b.index, b.seed, b.values, b.attrs, b.diverged) and (
        curves and arrays
    )


def odd_points() -> list[PointRecord]:
    """Points whose tables disagree: a role that appears later, longer curves, other array shapes, divergence."""
    first, second, third = synthetic_point(0), synthetic_point(1), synthetic_point(2)
    second.curves["theory"] = {"epoch": np.array([1], dtype=np.int32), "excess_risk": np.array([0.25])}
    second.curves["teacher"] = {m: np.concatenate([v, v[:10]]) for m, v in second.curves["teacher"].items()}
    second.curves["teacher"]["epoch"] = np.arange(1, 61, dtype=np.int32)
    second.arrays["noise_transition"] = np.eye(3)
    second.arrays["regions_teacher"] = np.ones((4, 4), dtype=np.int8)
    third.curves["student"] = {m: v[:7] for m, v in third.curves["student"].items()}
    third.curves["student"]["train_loss"][-1] = math.inf
    third.diverged = {"student": 7}
    third.arrays = {}
    return [first, second, third]


def test_points_of_different_shapes_read_back_exactly(tmp_path):
    path = tmp_path / "odd.h5"
    writer = open_writer(path, 3, checkpoint=0.0)
    points = odd_points()
    for point in points:
        writer.add([point])
    writer.finish("complete")
    stored = load_run(path)
    assert [p.index for p in stored.points] == [0, 1, 2] and not stored.damaged
    for read, written in zip(stored.points, points, strict=True):
        assert same(read, written)
    with h5py.File(path) as f:  # the layout a reader without DDX sees
        assert f["points/roles/teacher/test_error"].shape == (3, 60)
        assert f["points/roles/student/diverged_epoch"][:].tolist() == [0, 0, 7]
        assert f["points/roles/theory"].attrs["kind"] == "reference"


def written(path, points: list[PointRecord], rows_per_rewrite: int) -> int:
    """Write `points`, moving them into the table every `rows_per_rewrite`; the size before the final write."""
    writer = open_writer(path, len(points), checkpoint=3600.0)
    writer.descriptions = {"test_error": "error on the test set"}
    for start in range(0, len(points), rows_per_rewrite):
        writer.add(points[start : start + rows_per_rewrite])
        writer.checkpoint()
    running = path.stat().st_size
    writer.finish("complete")
    return running


def test_a_slow_sweep_rewriting_its_table_for_every_point_keeps_the_file_small(tmp_path):
    """One point a minute moves one row at a time into the table: the file stays near the size of one write."""
    points = [synthetic_point(i) for i in range(60)] + odd_points()[1:]
    points[-2:] = [replace(p, index=60 + k) for k, p in enumerate(points[-2:])]
    written(tmp_path / "once.h5", points, len(points))
    once = (tmp_path / "once.h5").stat().st_size
    running = written(tmp_path / "slow.h5", points, 1)
    assert running < 2 * once and (tmp_path / "slow.h5").stat().st_size < 1.2 * once
    stored = load_run(tmp_path / "slow.h5")
    assert all(same(a, b) for a, b in zip(stored.points, points, strict=True)) and not stored.damaged
    with h5py.File(tmp_path / "slow.h5") as f:  # what a reader without DDX sees is kept too
        assert f["points/roles/teacher/test_error"].attrs["description"] == "error on the test set"
        assert f["points/roles/theory"].attrs["kind"] == "reference" and f.attrs["status"] == "complete"


def test_a_checkpoint_moves_the_journal_into_the_table(tmp_path):
    path = tmp_path / "run.h5"
    writer = open_writer(path, 4, checkpoint=3600.0)
    writer.add([synthetic_point(0), synthetic_point(1)])
    assert len(read_journal(journal_path(path))[0]) == 2, "finished points are in the journal at once"
    assert [p.index for p in load_run(path).points] == [0, 1] and peek(path)["points_done"] == 2
    writer.checkpoint_seconds = 0.0
    writer.add([synthetic_point(2)])
    assert not journal_path(path).exists()
    with h5py.File(path) as f:
        assert f["points/index"][:].tolist() == [0, 1, 2] and f.attrs["status"] == "running"
    writer.finish("stopped")
    assert [p.index for p in load_run(path).points] == [0, 1, 2]


def test_a_journal_point_already_in_the_table_is_read_once(tmp_path):
    path = tmp_path / "twice.h5"
    writer = open_writer(path, 2, checkpoint=3600.0)
    writer.add([synthetic_point(0)])
    journal = journal_path(path).read_bytes()
    writer.finish("stopped")
    journal_path(path).write_bytes(journal)  # killed between the rename and emptying the journal
    assert [p.index for p in load_run(path).points] == [0]


def test_the_run_browser_counts_a_point_in_both_the_table_and_the_journal_once(tmp_path):
    path = tmp_path / "twice.h5"
    writer = open_writer(path, 5, checkpoint=3600.0)
    writer.add([synthetic_point(i) for i in range(3)])
    journal = journal_path(path).read_bytes()
    writer.checkpoint()
    journal_path(path).write_bytes(journal)  # killed between the rename and emptying the journal
    assert peek(path)["points_done"] == len(load_run(path).points) == 3
    writer.add([synthetic_point(3)])  # the run goes on: a new point in the journal only
    assert peek(path)["points_done"] == len(load_run(path).points) == 4
    writer.finish("stopped")


def test_copies_left_by_writers_killed_mid_rewrite_are_removed_when_the_run_is_resumed(tmp_path):
    path = tmp_path / "run.h5"
    writer = open_writer(path, 4, checkpoint=0.0)
    writer.add([synthetic_point(0), synthetic_point(1)])
    writer.finish("stopped")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        pids = (int(gone.stdout), f"{int(gone.stdout)}-compact", alive.pid)
        left = [tmp_path / f".run.h5.{pid}.tmp" for pid in pids]
        for copy in left:
            shutil.copyfile(path, copy)
        other = tmp_path / f".other.h5.{int(gone.stdout)}.tmp"
        shutil.copyfile(path, other)
        RunWriter.resume(load_run(path), "cpu").finish("stopped")
        alive.kill()
    assert not left[0].exists() and not left[1].exists(), "the copies of a writer that is gone are removed"
    assert left[2].exists() and other.exists(), "a live process's copy and another run's are kept"
    assert [p.index for p in load_run(path).points] == [0, 1]


def test_a_torn_last_record_loses_only_the_point_it_was_writing(tmp_path):
    path = tmp_path / "torn.h5"
    writer = open_writer(path, 3, checkpoint=3600.0)
    writer.add([synthetic_point(0), synthetic_point(1)])
    writer.journal.close()
    data = journal_path(path).read_bytes()
    journal_path(path).write_bytes(data[: len(data) - 100])
    assert [p.index for p in load_run(path).points] == [0]
    writer.lock.release()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_journal_loads_a_prefix_of_its_points(tmp_path, data):
    path = tmp_path / "damaged.h5"
    writer = open_writer(path, 4, checkpoint=3600.0)
    points = [synthetic_point(i) for i in range(4)]
    writer.add(points)
    writer.journal.close()
    writer.lock.release()
    damaged = bytearray(journal_path(path).read_bytes())
    for _ in range(data.draw(st.integers(1, 20), label="edits")):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    journal_path(path).write_bytes(bytes(damaged))
    try:
        stored = load_run(path)
    except RunFileError as exc:
        pytest.fail(f"a damaged journal must not make the file unreadable: {exc}")
    read = stored.points
    assert [p.index for p in read] == list(range(len(read))), "the records before the first damaged one"
    assert all(same(a, b) for a, b in zip(read, points, strict=False))


def test_writers_of_thousands_of_points_killed_at_random_moments_lose_no_reported_point(tmp_path):
    found = kill_and_reopen(tmp_path, kills=3, points=3000, checkpoint=1.0, seed=7)
    assert found["reported"] > 0 and found["lost"] == 0


def test_points_still_training_are_saved_as_in_progress_and_a_kill_keeps_them(tmp_path, capsys):
    """A viewer opening the file mid-run sees the long group's curves so far, marked as in progress."""
    cfg = tiny_config(
        train={"epochs": 400}, sweep={"axis": "teacher.width", "values": [4, 8]}, run={"checkpoint_seconds": 1}
    )
    path = tmp_path / "long.h5"
    training = run(cfg, path)
    midway, looked = None, time.monotonic()
    for _ in training:
        if time.monotonic() - looked > 0.5:
            midway, looked = load_run(path), time.monotonic()  # the writer is paused here, as a kill would leave it
            if len(midway.in_progress) == 2 and len(midway.in_progress[1].curves["teacher"]["epoch"]) > 1:
                break
    assert not midway.points and {p.index for p in midway.in_progress} == {0, 1}
    teacher = midway.in_progress[0].curves["teacher"]
    assert 1 <= len(teacher["epoch"]) < 400 and np.isfinite(teacher["test_error"]).all()
    assert main(["show", str(path)]) == 0 and "in progress: 2 point(s)" in capsys.readouterr().out
    training.close()
    assert load_run(path).status == "stopped"
