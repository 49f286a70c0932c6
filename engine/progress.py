"""Progress through a run's events: the share of the work done and an ETA (shared by the GUI's status bar
and the command line), and the command line's report: a progress bar on a terminal, plain lines elsewhere."""

import json
import sys
import time

from tqdm import tqdm

from engine.config import ExperimentConfig, validate
from engine.config_rules import teacher_count
from engine.events import EpochMetrics, PointFinished, PointStarted, RunFinished, RunStarted
from engine.roles import MAIN_ROLES, is_model_role

# The bar counts points (fractions of points while they train); the text after it says which.
BAR_FORMAT = "{percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {desc}"
REDRAW_S = 0.2  # the bar redraws at most this often: epochs of small models take a millisecond


def format_eta(seconds: float | None) -> str:
    """'ETA m:ss', or 'ETA —' before any work is done."""
    if seconds is None:
        return "ETA —"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"ETA {minutes}:{secs:02d}"


class Progress:
    """Points done of the total, the latest epoch, and an ETA from the work fraction done so far.

    Work is counted per point and per role, so events of points that train together, or on several
    workers at once, may interleave in any order: the fraction only grows, and reaches 1 when every
    point has finished. Only model roles count as work: closed-form reference roles (theory, Bayes
    errors) take no time.
    """

    def __init__(self, cfg: ExperimentConfig, total: int, done: int = 0):
        self.total = total
        teachers = teacher_count(cfg.distill)
        self.roles = teachers + (cfg.distill.mode != "none") + 1
        self.done = self.resumed_at = done
        self.started: dict[int, dict[str, float]] = {}  # point → model role → share of its epochs done
        self.diverged: list[str] = []
        self.role = ""
        self.current = -1
        self.epoch = self.epochs = 0
        self.began = time.perf_counter()

    @classmethod
    def from_event(cls, event: RunStarted) -> "Progress":
        """The progress of the run that `event` starts (its config, total and resumed points)."""
        cfg = validate(json.loads(event.config_json), f"{event.path} (config)")
        return cls(cfg, event.total_points, event.points_done)

    @property
    def training(self) -> int:
        """Points started and not yet finished."""
        return len(self.started)

    def update(self, event) -> None:
        if isinstance(event, PointStarted):
            if not self.started:
                self.role, self.epoch = "", 0
            self.started.setdefault(event.index, {})  # a task run again keeps what its point had done
        elif isinstance(event, EpochMetrics) and is_model_role(event.role):
            shares = self.started.setdefault(event.point, {})
            share = event.epoch / event.epochs if event.epochs else 1.0
            shares[event.role] = max(shares.get(event.role, 0.0), min(share, 1.0))
            self.role, self.current, self.epoch, self.epochs = event.role, event.point, event.epoch, event.epochs
        elif isinstance(event, PointFinished):
            self.started.pop(event.index, None)
            self.done += 1
            if not self.started:
                self.role, self.epoch = "", 0
            self.diverged += [
                f"point {event.index + 1}: {role} diverged at epoch {epoch}" for role, epoch in event.diverged.items()
            ]

    def fraction(self) -> float:
        """Share of the work done: finished points, and the epochs done of the points still training."""
        training = sum(min(1.0, sum(shares.values()) / self.roles) for shares in self.started.values())
        return min(1.0, (self.done + training) / max(1, self.total))

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


def finished_line(event: PointFinished, total: int) -> str:
    """A finished point's test error per main role, and the roles that diverged."""
    tests = "  ".join(f"{r} {v['test_error']:.3f}" for r, v in event.final.items() if r in MAIN_ROLES)
    diverged = "".join(f"  ({role} diverged at epoch {at})" for role, at in event.diverged.items())
    return f"point {event.index + 1}/{total} done: test error {tests}{diverged}"


class ProgressBar:
    """A tqdm bar over a run's points that advances with the work fraction of `Progress`.

    tqdm's ETA uses the average pace since the bar began (smoothing 0), as `Progress.eta` does.
    """

    def __init__(self, progress: Progress, stream):
        self.progress = progress
        total = max(1, progress.total)
        self.bar = tqdm(
            total=total,
            initial=progress.fraction() * total,
            file=stream,
            bar_format=BAR_FORMAT,
            dynamic_ncols=True,
            mininterval=REDRAW_S,
            smoothing=0,
        )

    def show(self) -> None:
        """Move the bar to the work done and name the point, role and epoch (redrawn every REDRAW_S at most)."""
        p = self.progress
        training = f" · point {p.current + 1} {p.role} epoch {p.epoch}/{p.epochs}" if p.role else ""
        self.bar.set_description_str(f"{p.done}/{p.total} points{training}", refresh=False)
        self.bar.update(p.fraction() * self.bar.total - self.bar.n)

    def write(self, line: str) -> None:
        """Print `line` above the bar, which stays on the last line."""
        self.bar.write(line, file=self.bar.fp)

    def close(self, status: str = "") -> None:
        if status:
            self.bar.set_description_str(f"{self.progress.done}/{self.progress.total} points · {status}", refresh=False)
        self.bar.close()


def report(events, stream=None, quiet: bool = False, live: bool | None = None) -> None:
    """Write the device, a progress bar (only when `live`), one line per finished point and the outcome.

    Parameters
    ----------
    events : the run's event stream (engine.runner.run or resume)
    stream : where to write (default sys.stderr)
    quiet : only the device, the file and the outcome: no bar and no line per point
    live : draw the bar; default: when `stream` is a terminal. Otherwise no control characters are written.
    """
    stream = stream or sys.stderr
    live = (stream.isatty() if live is None else live) and not quiet
    progress, bar = None, None
    try:
        for event in events:
            if progress is not None:
                progress.update(event)
            if bar is not None:
                bar.show()
            if isinstance(event, RunStarted):
                progress = Progress.from_event(event)
                print(f"device: {event.device}", file=stream)
                resumed = f", {event.points_done} already done" if event.points_done else ""
                print(f"writing {event.path} ({event.total_points} points{resumed})", file=stream, flush=True)
                bar = ProgressBar(progress, stream) if live else None
                if bar is not None:
                    bar.show()
            elif isinstance(event, PointFinished) and not quiet:
                line = finished_line(event, progress.total)
                if bar is None:
                    print(line, file=stream, flush=True)
                else:
                    bar.write(line)
            elif isinstance(event, RunFinished):
                if bar is not None:
                    bar.close(event.status)
                    bar = None
                print(f"run {event.status} in {event.elapsed:.1f} s: {event.path}", file=stream)
    finally:
        if bar is not None:
            bar.close()
