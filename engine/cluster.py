"""Sweeps beyond one process: each group of points is a Dask task, and results stream back to the one writer.

`--workers N` starts N local worker processes (spawned, one thread each; on a machine with GPUs,
worker i sees GPU i mod G alone through CUDA_VISIBLE_DEVICES, so `run.device = "auto"` picks
it); `--scheduler tcp://host:8786` uses an existing Dask scheduler's workers. Workers never open
the run file: a task builds its points' data, trains the group and returns plain-numpy records;
its epoch metrics reach the client through a Dask event topic while it trains. Only the client
writes the run file. Without a cluster option nothing here imports Dask.
"""

import logging
import os
import pickle
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ClusterError
from engine.events import Event

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10
RETRIES = 2  # a task that raises is tried this many more times; one lost with its worker runs again anyway
EVENT_FLUSH_S = 0.2  # a worker sends its events at most this often (and when its task ends)
STOP_POLL_S = 0.5  # a worker asks whether the run is stopping at most this often
STOP_WAIT_S = 15  # how long stopping waits for running tasks to save their checkpoint and return
LOOPBACK = "127.0.0.1"  # a local cluster listens on this machine only


@dataclass(frozen=True)
class Cluster:
    """Where a run's groups train: in this process (the default), N local workers, or a scheduler's."""

    workers: int = 0
    scheduler: str = ""

    @property
    def in_process(self) -> bool:
        return not self.workers and not self.scheduler

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        return "in-process" if self.in_process else f"{self.workers} local Dask worker process(es)"


IN_PROCESS = Cluster()


def connect(cluster: Cluster):
    """A Dask client for `cluster`; one clear ClusterError when Dask is missing or the scheduler unreachable."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--workers and --scheduler need Dask distributed, which is not installed: pip install 'ddx[cluster]'"
        ) from None
    # the local scheduler and nannies run in this process; their INFO lines (each worker's start and
    # stop, every client connection) would bury the run's own output
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if cluster.scheduler:
        try:
            return Client(cluster.scheduler, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # Dask raises many kinds: OSError, ValueError, TypeError (tls:// without TLS set up)
            raise ClusterError(
                f"cannot reach the Dask scheduler at {cluster.scheduler!r} ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker <address>`, or check the address "
                "(tcp://host:8786)"
            ) from None
    try:
        with interrupts_ignored():
            return Client(local_cluster(cluster.workers))
    except (OSError, TimeoutError, RuntimeError) as exc:
        raise ClusterError(f"could not start {cluster.workers} local Dask worker process(es): {exc}") from None


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore SIGINT while local workers start, so that they start ignoring it too.

    Ctrl+C in a terminal reaches the whole process group, local workers included; a worker it
    interrupted would die with a traceback, and its task would not save its checkpoint. An ignored
    signal stays ignored through spawn (fork and exec), and Python keeps it so; a blocked one
    would not, as the spawn resets the mask. The cost: Ctrl+C does nothing for the few seconds the
    workers take to start. Only the main thread may change a handler; elsewhere (the app's run
    thread) the workers' preload (engine.local_worker) alone ignores it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


def local_cluster(workers: int):
    """N spawned worker processes of one thread; worker i gets GPU i mod G when there are G GPUs."""
    import torch
    from distributed import Nanny, Scheduler, SpecCluster

    gpus = torch.cuda.device_count()
    threads = max(1, (os.cpu_count() or 1) // workers)

    def spec(i: int) -> dict:
        env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        options = {"nthreads": 1, "env": env, "memory_limit": 0, "host": LOOPBACK, "silence_logs": logging.ERROR}
        options["preload"] = ["engine.local_worker"]  # a worker the nanny starts again too
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = str(i % gpus)
            options["resources"] = {"GPU": 1}
        return {"cls": Nanny, "options": options}

    # no dashboard; the scheduler's HTTP server (health checks) takes a free loopback port, not 8787
    scheduler = {
        "cls": Scheduler,
        "options": {"dashboard": False, "dashboard_address": f"{LOOPBACK}:0", "host": LOOPBACK},
    }
    return SpecCluster(workers={i: spec(i) for i in range(workers)}, scheduler=scheduler, silence_logs=logging.ERROR)


def device_label(client) -> str:
    workers = client.scheduler_info().get("workers", {})
    return f"Dask: {len(workers)} worker(s)"


def train_there(client, cfg, points, writer, stop: Callable[[], bool]) -> Iterator:
    """Submit every group as a task and yield the events and finished groups as they stream back.

    Returns True once every group finished, False if stopped. A task that fails stops the others
    and raises ClusterError with the worker's message; the finished points are already written.
    The client (and the local cluster it started) is closed at the end.
    """
    from distributed import Event as DaskEvent
    from distributed import as_completed, wait

    from engine.checkpoint import checkpoint_path
    from engine.protocol import plan_groups
    from engine.runner import GroupDone

    run_id = f"ddx-{uuid.uuid4().hex}"
    events: queue.Queue = queue.Queue()
    client.subscribe_topic(run_id, lambda event: events.put(event[1]))
    stopping = DaskEvent(f"{run_id}-stop", client=client)
    total, path = int(writer.attrs["total_points"]), str(writer.path)
    groups = plan_groups(points)
    note_idle_workers(len(groups), len(client.scheduler_info().get("workers", {})))
    futures = {
        client.submit(
            train_task,
            cfg,
            group,
            total,
            path,
            run_id,
            key=f"{run_id}-group-{group[0].index}",
            pure=False,
            retries=RETRIES,
        ): group
        for group in groups
    }
    finished = as_completed(list(futures))
    stopped, failure = False, None
    try:
        while not finished.is_empty() or not events.empty():
            yield from drained(events)
            if not stopped and (stop() or failure is not None):
                stopped = True
                stopping.set()  # running tasks save their checkpoint and return; queued ones return at once
            for future in finished.next_batch(block=False) if finished.has_ready() else ():
                records, error = outcome(future)
                first = futures.pop(future)[0].index
                future.release()  # else a worker dying later would make the scheduler train it again
                failure = failure or error
                if records is not None:
                    yield from drained(events)
                    yield GroupDone(records, checkpoint_path(path, first))
            time.sleep(0.02)
        if failure is not None:
            raise failure
        return not stopped
    finally:
        stopping.set()  # on Ctrl+C or a closed generator too: give running tasks a moment to save
        try:
            wait(list(futures), timeout=STOP_WAIT_S)
        except TimeoutError:
            log.warning("some Dask tasks did not stop within %s s; cancelling them", STOP_WAIT_S)
        client.cancel(list(futures))
        client.unsubscribe_topic(run_id)
        closing(client)


def note_idle_workers(groups: int, workers: int) -> None:
    """Warn when some workers will have nothing to train: a group of points is one task on one worker."""
    if 0 < groups < workers:
        log.warning(
            "%d group(s) of points for %d Dask workers, so %d worker(s) stay idle: points that train together "
            "(run.batch_models = true) are one task; see 'When workers pay' in docs/cluster.md",
            groups,
            workers,
            workers - groups,
        )


def drained(events: queue.Queue) -> Iterator[Event]:
    """The events the workers sent so far, unpickled, in the order they arrived."""
    while True:
        try:
            batch = events.get_nowait()
        except queue.Empty:
            return
        yield from pickle.loads(batch)


def outcome(future) -> tuple[list | None, ClusterError | None]:
    """A finished task's records (None: it stopped), or the ClusterError naming what failed on the worker.

    The other tasks are then stopped and their finished groups still written before the error is raised.
    """
    if future.status == "cancelled":
        return None, None
    try:
        return future.result(), None
    except Exception as exc:  # the task raised, or its result was lost with a worker and could not be made again
        message = f"a task failed on a Dask worker: {type(exc).__name__}: {exc}. "
        return None, ClusterError(message + "Every finished point is kept; continue the run with --resume")


def closing(client) -> None:
    """Close the client, and the local cluster it started, without waiting on a dead one."""
    cluster = client.cluster
    client.close(timeout=5)
    if cluster is not None:
        cluster.close(timeout=5)


class Sender:
    """A worker's events for the client, pickled and sent in batches at most every EVENT_FLUSH_S."""

    def __init__(self, topic: str):
        from distributed import get_worker

        self.worker, self.topic = get_worker(), topic
        self.pending: list[Event] = []
        self.sent = time.monotonic()

    def send(self, event: Event) -> None:
        self.pending.append(event)
        if time.monotonic() - self.sent >= EVENT_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.worker.log_event(self.topic, pickle.dumps(self.pending))
            self.pending = []
        self.sent = time.monotonic()


def remote_stop(name: str) -> Callable[[], bool]:
    """Whether the client asked the run to stop, asked of the scheduler at most every STOP_POLL_S."""
    from distributed import Event as DaskEvent

    flag, state = DaskEvent(name), {"at": 0.0, "set": False}
    lock = threading.Lock()

    def stop() -> bool:
        with lock:
            if not state["set"] and time.monotonic() - state["at"] >= STOP_POLL_S:
                state["set"], state["at"] = flag.is_set(), time.monotonic()
            return state["set"]

    return stop


CACHES: dict = {}


def train_task(run_cfg, group, total: int, run_path: str, run_id: str):
    """A Dask task: train one group of points on this worker; their records, or None if the run stopped.

    The checkpoint goes beside the run file when the worker sees its folder (a local cluster or a
    shared file system); elsewhere the group trains without one.
    """
    from engine.protocol import train_group
    from engine.runner import DataCache, group_checkpoint, resolve_device

    stop = remote_stop(f"{run_id}-stop")
    if stop():
        return None
    cfg = group[0].config
    device = resolve_device(cfg.run.device)
    cache = CACHES.setdefault(device, DataCache(device, size=max(4, len(group))))
    datasets = {p.index: cache.get(p.config, p.seed) for p in group}
    checkpoint = group_checkpoint(run_cfg, group, run_path, device) if Path(run_path).parent.is_dir() else None
    sender = Sender(run_id)
    training = train_group(group, datasets, device, total, stop, checkpoint)
    try:
        while True:
            try:
                sender.send(next(training))
            except StopIteration as done:
                results = done.value
                break
    finally:
        sender.flush()
    return None if results is None else [result.record for result in results]
