"""The command line's progress: a bar with ETA on a terminal, plain lines (no control characters) elsewhere."""

import io

import engine.progress
from engine.events import EpochMetrics, PointFinished, PointStarted, RunFinished, RunStarted
from engine.progress import report
from tests.engine.helpers import tiny_config

FINAL = {r: {"test_error": 0.25} for r in ("teacher", "student", "baseline")}


def events(points: int = 3, status: str = "complete") -> list:
    """A run's events: each point trains teacher, student and baseline for 2 epochs; the last diverges."""
    out = [RunStarted("run.h5", points, "cpu", tiny_config().to_json())]
    for p in range(points):
        out.append(PointStarted(p, points, 0, {}))
        for role in ("teacher", "student", "baseline"):
            out += [EpochMetrics(p, role, e, 2, {"test_error": 0.3}) for e in (1, 2)]
        out.append(PointFinished(p, 0, {}, FINAL, diverged={"student": 2} if p == points - 1 else {}))
    return out + [RunFinished("run.h5", status, points, 1.5)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_line_per_point_and_no_control_characters():
    stream = io.StringIO()
    report(events(), stream)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[:2] == ["device: cpu", "writing run.h5 (3 points)"]
    assert lines[2] == "point 1/3 done: test error teacher 0.250  student 0.250  baseline 0.250"
    assert lines[4].endswith("(student diverged at epoch 2)")
    assert lines[-1] == "run complete in 1.5 s: run.h5" and len(lines) == 6


def test_a_terminal_gets_a_bar_with_points_role_epoch_elapsed_and_eta(monkeypatch):
    monkeypatch.setattr(engine.progress, "REDRAW_S", 0)
    stream = Terminal()
    report(events(), stream)
    text = stream.getvalue()
    drawn = [part for part in text.split("\r") if "points" in part]
    first_epoch = next(part for part in drawn if "point 1 teacher epoch 1/2" in part)
    assert first_epoch.startswith("  6%") and "0/3 points" in first_epoch
    assert any(part.startswith(" 33%") and "1/3 points" in part for part in drawn)
    assert "100%" in drawn[-1] and "3/3 points · complete" in drawn[-1] and "[00:00<00:00]" in drawn[-1]
    assert text.count("done: test error") == 3
    assert text.rstrip().endswith("run complete in 1.5 s: run.h5")


def test_quiet_prints_only_where_and_the_outcome():
    stream = Terminal()
    report(events(status="stopped"), stream, quiet=True)
    assert stream.getvalue().splitlines() == [
        "device: cpu",
        "writing run.h5 (3 points)",
        "run stopped in 1.5 s: run.h5",
    ]


def test_points_training_on_several_workers_at_once_advance_the_fraction_monotonically_to_one():
    """Two workers: point 0 and 1 interleave role by role, point 1 finishes first, then 2 and 3 interleave."""
    roles = ("teacher", "student", "baseline")

    def point(p: int) -> list:
        return [EpochMetrics(p, role, e, 2, {"test_error": 0.3}) for role in roles for e in (1, 2)]

    def interleaved(a: list, b: list) -> list:
        return [event for pair in zip(a, b, strict=True) for event in pair]

    stream = [PointStarted(0, 4, 0, {}), PointStarted(1, 4, 0, {})]
    stream += interleaved(point(0)[:4], point(1)[1:5]) + [point(1)[0], point(1)[5], PointFinished(1, 0, {}, FINAL)]
    stream += [PointStarted(2, 4, 0, {})] + interleaved(point(0)[4:], point(2)[:2]) + [PointFinished(0, 0, {}, FINAL)]
    stream += [PointStarted(3, 4, 0, {})] + interleaved(point(2)[2:], point(3)[:4]) + [PointFinished(2, 0, {}, FINAL)]
    stream += point(3)[4:] + [PointFinished(3, 0, {}, FINAL)]
    progress = engine.progress.Progress(tiny_config(), 4)
    fractions = []
    for event in stream:
        progress.update(event)
        fractions.append(progress.fraction())
    assert fractions == sorted(fractions), "the fraction never goes backwards"
    assert fractions[-1] == 1
    assert fractions.index(1) >= len(stream) - 2, "1 only once the last point's last role has its last epoch"
    halfway = stream.index(PointFinished(0, 0, {}, FINAL))
    assert 0.5 <= fractions[halfway] < 0.75, "two points done and two started: about half the work"
    assert progress.done == 4 and progress.training == 0
