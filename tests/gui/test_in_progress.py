"""A run file opened mid-run: the points still training show as far as they got, marked in progress."""

from dataclasses import replace

import numpy as np
import pytest

from engine.runfile import RunWriter, load_run
from gui.views import LearningCurvesView, SweepView
from tests.gui.conftest import open_runs


@pytest.fixture
def mid_run_file(tmp_path, run_file):
    """The tiny run as a kill leaves it: point 1 finished, point 2 saved after 2 of its 3 epochs."""
    stored = load_run(run_file)
    path = tmp_path / "running.h5"
    writer = RunWriter.create(path, stored.attrs["config"], "cpu", len(stored.points), stored.axes)
    writer.add(stored.points[:1])
    second = stored.points[1]
    curves = {role: {m: v[:2] for m, v in c.items()} for role, c in second.curves.items()}
    writer.save_progress([replace(second, curves=curves, arrays={}, attrs={})])
    writer.journal.close()
    writer.lock.release()
    return path


def legend(view: LearningCurvesView) -> list[str]:
    """The legend's names of the curves drawn now."""
    drawn = [item for item in view.items.values() if item.getOriginalDataset()[0] is not None]
    drawn = [item for item in drawn if len(item.getOriginalDataset()[0])]
    return [view.plot.legend.getLabel(item).text for item in drawn]


def test_a_run_file_opened_mid_run_shows_its_point_in_progress_apart_from_the_finished(
    window, qtbot, mid_run_file, run_file
):
    open_runs(window, qtbot, mid_run_file)
    curves = next(v for v in window.views if isinstance(v, LearningCurvesView))
    curves.refresh()
    assert "point 2/2 in progress" in curves.plot.titleLabel.text
    names = legend(curves)
    assert names and all(name.endswith("(in progress)") for name in names)
    x, _ = curves.items["teacher", "test"].getOriginalDataset()
    assert list(x) == [1, 2], "its curves as far as they got"
    message = window.statusBar().currentMessage()
    assert "1 point in progress" in message and "1 finished" in message

    sweep = next(v for v in window.views if isinstance(v, SweepView))
    sweep.refresh()
    x, y = sweep.curves()["running.teacher.test_error_mean"]
    assert len(x) == 1 and np.isfinite(y).all(), "the sweep counts only the finished point"

    open_runs(window, qtbot, run_file)  # a finished run after it: nothing is marked any more
    curves.refresh()
    assert "in progress" not in curves.plot.titleLabel.text and not any("in progress" in n for n in legend(curves))
    assert window.statusBar().currentMessage() == ""
