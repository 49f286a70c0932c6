"""Runs the engine's event generator in one superqt worker thread, with pause, stop and progress."""

import threading
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from engine.cluster import IN_PROCESS, Cluster
from engine.config import ExperimentConfig, validate
from engine.events import RunFinished, RunStarted
from engine.progress import Progress
from engine.runfile import load_run
from engine.runner import resume, run
from gui.state import RunState


class RunController(QObject):
    """Owns at most one running experiment.

    Signals
    -------
    started(RunState) : a run began; its state fills as events arrive.
    progressed(Progress) : after each event.
    paused_changed(bool) : the worker paused or resumed.
    failed(Exception) : the engine raised; the run file is marked 'failed'.
    finished(str, str) : the worker ended, with the run file path and its status.
    """

    started = Signal(object)
    progressed = Signal(object)
    paused_changed = Signal(bool)
    failed = Signal(object)
    finished = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker: GeneratorWorker | None = None
        self.stop_requested = threading.Event()
        self.state: RunState | None = None
        self.progress: Progress | None = None
        self.cfg: ExperimentConfig | None = None
        self.path = ""
        self.status = ""

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def paused(self) -> bool:
        return self.worker is not None and self.worker.is_paused

    def start(self, cfg: ExperimentConfig, path: Path, cluster: Cluster = IN_PROCESS) -> None:
        """Start `cfg` writing `path` (its groups training on `cluster`); a second start while one runs is refused."""
        self.launch(cfg, path, RunState.from_config(cfg.model_dump()), partial(run, cluster=cluster), cfg, path)

    def resume(self, path: str | Path, cluster: Cluster = IN_PROCESS) -> None:
        """Continue the stopped, failed or interrupted run file `path` from its stored config.

        Raises
        ------
        RunFileError, ConfigError
            The file cannot be read or its stored config no longer validates.
        """
        data = load_run(path)
        cfg = validate(data.config, f"{path} (stored config)")
        self.launch(cfg, Path(path), RunState.from_run(data), partial(resume, cluster=cluster), path)

    def launch(self, cfg: ExperimentConfig, path: Path, state: RunState, generator, *args) -> None:
        """Run `generator(*args, stop=...)` in the worker, folding its events into `state`."""
        if self.running:
            raise RuntimeError("a run is already in progress")
        self.stop_requested.clear()
        self.path, self.status = str(path), "running"
        self.state = state
        self.progress = Progress(cfg, 0)
        self.cfg = cfg
        handlers = {
            "yielded": self.on_event,
            "errored": self.on_error,  # given here, so superqt does not re-raise in the GUI thread
            "paused": self.on_paused,
            "resumed": lambda: self.paused_changed.emit(False),
            "finished": self.on_finished,
        }
        stop = self.stop_requested.is_set
        worker = create_worker(generator, *args, stop=stop, _start_thread=False, _connect=handlers)
        self.worker = worker
        self.started.emit(self.state)
        worker.start()

    def toggle_pause(self) -> None:
        if self.worker is not None:
            self.worker.toggle_pause()

    def stop(self) -> None:
        """Ask the engine to stop at the next epoch boundary (resuming a paused worker to get there)."""
        self.stop_requested.set()
        if self.worker is not None and self.worker.is_paused:
            self.worker.resume()

    def wait(self, timeout: float = 2.0) -> bool:
        """Process events until the worker has finished or `timeout` seconds passed; True if it finished."""
        deadline = time.perf_counter() + timeout
        while self.running and time.perf_counter() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        return not self.running

    def on_paused(self) -> None:
        # Pause pressed during a long step takes effect at the next yield; if Stop came in between,
        # the worker must not sleep there forever
        if self.stop_requested.is_set():
            self.worker.resume()
            return
        self.paused_changed.emit(True)

    def on_event(self, event) -> None:
        if isinstance(event, RunStarted):
            self.progress = Progress(self.cfg, event.total_points, event.points_done)
        elif isinstance(event, RunFinished):
            self.status = event.status
        self.state.apply(event)
        self.progress.update(event)
        self.progressed.emit(self.progress)

    def on_error(self, exc: Exception) -> None:
        self.status = "failed"
        self.failed.emit(exc)

    def on_finished(self) -> None:
        self.worker = None
        self.finished.emit(self.path, self.status)
