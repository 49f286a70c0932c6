"""Sweeps on Dask workers: the same file as in-process, nothing lost when a worker dies, clear errors."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from distributed import LocalCluster  # noqa: E402

import engine.cluster  # noqa: E402
from engine.checkpoint import checkpoint_paths  # noqa: E402
from engine.cli import main  # noqa: E402
from engine.cluster import Cluster  # noqa: E402
from engine.errors import ClusterError  # noqa: E402
from engine.events import EpochMetrics, RunFinished  # noqa: E402
from engine.runfile import load_run  # noqa: E402
from engine.runner import resume, run  # noqa: E402
from tests.engine.helpers import run_all, tiny_config  # noqa: E402

SWEEP = {"axis": "teacher.width", "values": [4, 8], "seeds": [0, 1]}


@pytest.fixture(scope="module")
def scheduler():
    """Two spawned worker processes on loopback, shared by the tests that pass --scheduler."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as c:
        yield c.scheduler_address


def assert_same_points(a, b) -> None:
    assert sorted(p.index for p in a.points) == sorted(p.index for p in b.points), "every point exactly once"
    theirs = {p.index: p for p in b.points}
    for mine in a.points:
        other = theirs[mine.index]
        assert mine.curves.keys() == other.curves.keys()
        for role, curves in mine.curves.items():
            for metric, values in curves.items():
                np.testing.assert_allclose(values, other.curves[role][metric], rtol=1e-5, atol=1e-6)


def test_two_local_workers_give_the_in_process_file_and_stream_every_epoch(tmp_path):
    cfg = tiny_config(sweep=SWEEP, run={"batch_models": False})
    run_all(cfg, tmp_path / "here.h5")
    events = list(run(cfg, tmp_path / "there.h5", cluster=Cluster(workers=2)))
    assert events[-1] == RunFinished(str(tmp_path / "there.h5"), "complete", 4, events[-1].elapsed, "")
    epochs = {(e.point, e.role, e.epoch) for e in events if isinstance(e, EpochMetrics)}
    assert len(epochs) == 4 * 3 * cfg.train.epochs, "each point's every role and epoch reached the client live"
    there = load_run(tmp_path / "there.h5")
    assert there.attrs["device"].startswith("Dask: 2 worker")
    assert_same_points(there, load_run(tmp_path / "here.h5"))
    assert "distributed" in sys.modules  # this test imported it; the default path must not (next test)


def test_the_default_run_does_not_import_dask():
    code = "import sys; import engine.runner, engine.cli; print('distributed' in sys.modules or 'dask' in sys.modules)"
    assert os.popen(f'{sys.executable} -c "{code}"').read().strip() == "False"


def test_a_worker_killed_mid_task_loses_and_repeats_no_point(tmp_path, scheduler, monkeypatch):
    """SIGKILL a worker while its group trains: the task runs again (from its checkpoint), nothing twice."""
    cfg = tiny_config(
        sweep={"axis": "teacher.width", "values": [4, 8, 16, 32]},
        train={"epochs": 30},
        data={"n_train": 300},
        run={"batch_models": False, "checkpoint_seconds": 1},
    )
    clients = []
    connect = engine.cluster.connect
    monkeypatch.setattr(engine.runner, "connect", lambda c: clients.append(connect(c)) or clients[-1])
    killed = False
    for event in run(cfg, tmp_path / "killed.h5", cluster=Cluster(scheduler=scheduler)):
        if not killed and isinstance(event, EpochMetrics) and event.epoch >= 3:
            pid = next(iter(clients[0].run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed = True
    assert killed
    done = load_run(tmp_path / "killed.h5")
    assert done.status == "complete"
    run_all(cfg, tmp_path / "here.h5")
    assert_same_points(done, load_run(tmp_path / "here.h5"))


def test_an_unreachable_scheduler_is_one_clear_error_before_any_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(engine.cluster, "CONNECT_TIMEOUT_S", 1)
    out = tmp_path / "never.h5"
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"):
        list(run(tiny_config(), out, cluster=Cluster(scheduler="tcp://127.0.0.1:9")))
    assert not out.exists()
    argv = ["run", "quickstart", "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err and not out.exists()
    for malformed in ("tls://127.0.0.1:1", "ucx://127.0.0.1:1", "tcp://", "nonsense://x"):
        assert main([*argv[:-1], malformed]) == 2, malformed
        err = capsys.readouterr().err
        assert f"cannot reach the Dask scheduler at {malformed!r}" in err and "Traceback" not in err


def test_a_task_failing_on_a_worker_fails_the_run_keeping_finished_points_and_resumes(tmp_path, capfd):
    """A data error that only the second point meets (too few images for its n_train) fails on the worker.

    One worker trains the groups in order, so the first point has finished when the second fails.
    """
    from engine.datasets.images import cached_images
    from tests.engine.image_fixtures import write_mnist

    write_mnist(tmp_path, n_train=96, n_test=32)
    toml = tmp_path / "failing.toml"
    toml.write_text(
        f'[data]\ndataset = "mnist"\nroot = "{tmp_path}"\nn_train = 40\nn_val = 8\nn_test = 32\nn_unlabeled = 8\n'
        '[teacher]\nmodel = "mlp"\nwidth = 16\n[student]\nmodel = "mlp"\nwidth = 8\n'
        '[train]\nepochs = 3\nbatch_size = 32\n[sweep]\naxis = "data.n_train"\nvalues = [40, 500]\n'
        '[run]\nname = "failing"\ndevice = "cpu"\nbatch_models = false\n'
    )
    path = tmp_path / "failing.h5"
    assert main(["run", str(toml), "--workers", "1", "--out", str(path)]) == 2
    err = capfd.readouterr().err
    assert "point 1/2 done" in err
    assert err.count("error: a task failed on a Dask worker: DataFileError: ") == 1 and "too few" in err
    assert "Compute Failed" not in err and "Traceback" not in err, "one message, not the workers' tracebacks"
    assert "INFO" not in err and "dashboard" not in err, "no Dask chatter"
    stored = load_run(path)
    assert stored.status == "failed" and "too few" in stored.attrs["error"]
    assert [p.index for p in stored.points] == [0], "the point finished before the failure is kept"
    write_mnist(tmp_path, n_train=600, n_test=32)  # the data fixed
    cached_images.cache_clear()  # as a new process would read it: this one keeps the images it read
    assert main(["run", "--resume", str(path), "--quiet"]) == 0
    resumed = load_run(path)
    assert resumed.status == "complete" and sorted(p.index for p in resumed.points) == [0, 1]


def test_stop_leaves_a_stopped_file_that_resumes_to_the_uninterrupted_run(tmp_path, scheduler, caplog):
    cfg = tiny_config(sweep=SWEEP, train={"epochs": 150}, data={"n_train": 300})
    path = tmp_path / "stopped.h5"
    seen = []
    for event in run(cfg, path, stop=lambda: len(seen) >= 6, cluster=Cluster(scheduler=scheduler)):
        if isinstance(event, EpochMetrics):
            seen.append(event)
    assert "1 group(s) of points for 2 Dask workers, so 1 worker(s) stay idle" in caplog.text, "the sweep is one task"
    stopped = load_run(path)
    assert stopped.status == "stopped" and len(stopped.points) < 4
    began = time.monotonic()
    list(resume(path, cluster=Cluster(scheduler=scheduler)))
    assert time.monotonic() - began < 60 and not checkpoint_paths(path)
    run_all(cfg, tmp_path / "here.h5")
    assert_same_points(load_run(path), load_run(tmp_path / "here.h5"))


def test_closing_the_run_as_ctrl_c_does_leaves_a_stopped_file_and_a_checkpoint(tmp_path, scheduler, monkeypatch):
    cfg = tiny_config(sweep=SWEEP, train={"epochs": 150}, data={"n_train": 300})
    clients = []
    connect = engine.cluster.connect
    monkeypatch.setattr(engine.runner, "connect", lambda c: clients.append(connect(c)) or clients[-1])
    events = run(cfg, tmp_path / "closed.h5", cluster=Cluster(scheduler=scheduler))
    for event in events:
        if isinstance(event, EpochMetrics):
            break
    events.close()  # what Ctrl+C (KeyboardInterrupt) does to the generator
    assert load_run(tmp_path / "closed.h5").status == "stopped"
    assert clients[0].status == "closed" and checkpoint_paths(tmp_path / "closed.h5"), "the task saved and returned"


def test_ctrl_c_in_a_terminal_stops_the_run_and_leaves_the_workers_to_save_their_checkpoints(tmp_path):
    """Ctrl+C reaches the whole process group, local workers included: they ignore it and the client stops them."""
    out = tmp_path / "interrupted.h5"
    small = ["data.n_train=200", "data.n_val=50", "data.n_test=200", "data.n_unlabeled=300", "sweep.seeds=[0]"]
    small += ["sweep.values=[4,8]", "run.batch_models=false", "train.epochs=100000", "run.checkpoint_seconds=1"]
    argv = [sys.executable, str(Path(__file__).parents[2] / "main.py"), "run", "quickstart", "--device", "cpu"]
    argv += [*(arg for key in small for arg in ("--set", key)), "--workers", "2", "--quiet", "--out", str(out)]
    cli = subprocess.Popen(
        argv,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job would ignore it
    )
    try:
        deadline = time.monotonic() + 120
        while not checkpoint_paths(out) and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        saved = max(path.stat().st_mtime_ns for path in checkpoint_paths(out))  # both groups train
        os.killpg(cli.pid, signal.SIGINT)
        err = cli.communicate(timeout=120)[1]
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    assert cli.returncode == 130 and "interrupted: the run file keeps every finished point" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, "no worker died of the Ctrl+C"
    assert load_run(out).status == "stopped"
    assert max(path.stat().st_mtime_ns for path in checkpoint_paths(out)) > saved, "a checkpoint saved on the stop"


def ignores_sigint() -> bool:
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_a_local_worker_started_again_after_a_death_ignores_ctrl_c_too():
    client = engine.cluster.connect(Cluster(workers=1))
    try:
        first = client.run(os.getpid)
        os.kill(next(iter(first.values())), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while set(client.scheduler_info()["workers"]) in (set(), set(first)) and time.monotonic() < deadline:
            time.sleep(0.2)  # until the nanny has a new worker process up
        assert list(client.run(os.getpid).values()) != list(first.values()), "a new worker process"
        assert list(client.run(ignores_sigint).values()) == [True]
    finally:
        engine.cluster.closing(client)
