"""The sweep plot draws what it claims: mean ± std bands inside the view, on linear and log x."""

import numpy as np
import pytest

from engine.runner import run
from gui.views import SweepView
from tests.gui.conftest import open_runs, tiny_config


@pytest.fixture(scope="module")
def two_seed_run(tmp_path_factory):
    """The tiny sweep over two seeds, so each value has a spread."""
    path = tmp_path_factory.mktemp("runs") / "tiny.h5"
    for _ in run(tiny_config("sweep.seeds=[0, 1]", "train.epochs=2"), path):
        pass
    return path


@pytest.fixture
def sweep(window, qtbot, two_seed_run):
    open_runs(window, qtbot, two_seed_run)
    view = next(v for v in window.views if isinstance(v, SweepView))
    window.tabs.setCurrentWidget(view)
    view.refresh()
    return view


@pytest.mark.parametrize("log_x", [True, False])
def test_bands_are_drawn_inside_the_view(sweep, log_x):
    sweep.log_x.setChecked(log_x)
    sweep.refresh()
    assert sweep.bands, "no mean ± std band was drawn"
    (x_low, x_high), (y_low, y_high) = sweep.plot.getViewBox().viewRange()
    for fill in sweep.bands:
        rect = fill.path().boundingRect()
        assert rect.width() > 0 and rect.height() > 0
        assert x_low <= rect.left() and rect.right() <= x_high
        assert y_low <= rect.top() and rect.bottom() <= y_high
    xs = sweep.curves()["tiny.teacher.test_error_mean"][0]
    expected = np.log10(xs) if log_x else xs
    assert rect.left() == pytest.approx(expected.min()) and rect.right() == pytest.approx(expected.max())


def test_log_ticks_are_few_and_labelled():
    from gui.views.sweep import log_ticks

    many = [20, 50, 100, 140, 170, 190, 210, 230, 260, 300, 400, 600, 1000, 2000]
    ticks = log_ticks(many)
    assert 2 <= len(ticks) <= 8
    assert [label for _, label in ticks][:2] == ["20", "50"]
    assert [label for _, label in log_ticks([4, 8, 16])] == ["4", "8", "16"]


def test_metric_chooser_redraws_another_metric(sweep):
    assert sweep.current_metric() == "test_error" and sweep.metric.currentText() == "test error"
    sweep.metric.setCurrentIndex(sweep.metric.findData("train_error"))
    sweep.refresh()
    assert "tiny.teacher.train_error_mean" in sweep.curves()
    assert "final train error" in sweep.plot.getAxis("left").labelText
