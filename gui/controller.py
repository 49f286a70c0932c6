"""Runs the engine's event generator in one superqt worker thread, with pause, stop and progress."""

import threading
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from engine.config import ExperimentConfig, validate
from engine.events import EpochMetrics, PointFinished, PointStarted, RunFinished, RunStarted
from engine.roles import is_model_role
from engine.runfile import load_run
from engine.runner import resume, run
from gui.state import RunState


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA —"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"ETA {minutes}:{secs:02d}"


class Progress:
    """Points done of the total, the current epoch, and an ETA from the work fraction done so far.

    Only model roles count as work: closed-form reference roles (theory, Bayes errors) take no time.
    """

    def __init__(self, cfg: ExperimentConfig, total: int, done: int = 0):
        self.total = total
        teachers = 0 if cfg.distill.mode == "self" else cfg.distill.teachers  # self-distillation trains none
        self.roles = teachers + (cfg.distill.mode != "none") + 1
        self.done = self.resumed_at = done
        self.roles_done = 0
        self.training = 0
        self.diverged: list[str] = []
        self.role = ""
        self.epoch = self.epochs = 0
        self.began = time.perf_counter()

    def update(self, event) -> None:
        if isinstance(event, PointStarted):
            if not self.training:
                self.roles_done, self.role, self.epoch = 0, "", 0
            self.training += 1
        elif isinstance(event, EpochMetrics) and is_model_role(event.role):
            if event.role != self.role:
                self.roles_done += bool(self.role)
                self.role = event.role
            self.epoch, self.epochs = event.epoch, event.epochs
        elif isinstance(event, PointFinished):
            self.done += 1
            self.training = max(0, self.training - 1)
            if not self.training:
                self.roles_done, self.role, self.epoch = 0, "", 0
            self.diverged += [
                f"point {event.index + 1}: {role} diverged at epoch {epoch}" for role, epoch in event.diverged.items()
            ]

    def fraction(self) -> float:
        """Share of the work done; points trained together advance together."""
        within = (self.roles_done + (self.epoch / self.epochs if self.epochs else 0)) / self.roles
        return min(1.0, (self.done + self.training * min(within, 1.0)) / max(1, self.total))

    def eta(self) -> float | None:
        """Seconds left, from the pace of the points trained in this session (a resumed run skips some)."""
        skipped = self.resumed_at / max(1, self.total)
        fraction = (self.fraction() - skipped) / max(1e-9, 1 - skipped)
        if fraction <= 0:
            return None
        elapsed = time.perf_counter() - self.began
        return elapsed / fraction - elapsed

    def text(self, status: str = "") -> str:
        warning = f" · {self.diverged[-1]}" if self.diverged else ""
        if status:
            return f"{self.done}/{self.total} points · {status}{warning}"
        epoch = f"{self.role} epoch {self.epoch}/{self.epochs}" if self.role else "starting point"
        if self.training > 1:
            epoch = f"{self.training} points together · {epoch}"
        return f"{self.done}/{self.total} points · {epoch} · {format_eta(self.eta())}{warning}"


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

    def start(self, cfg: ExperimentConfig, path: Path) -> None:
        """Start `cfg` writing `path`; a second start while one runs is refused."""
        self.launch(cfg, path, RunState.from_config(cfg.model_dump()), run, cfg, path)

    def resume(self, path: str | Path) -> None:
        """Continue the stopped, failed or interrupted run file `path` from its stored config.

        Raises
        ------
        RunFileError, ConfigError
            The file cannot be read or its stored config no longer validates.
        """
        data = load_run(path)
        cfg = validate(data.config, f"{path} (stored config)")
        self.launch(cfg, Path(path), RunState.from_run(data), resume, path)

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
