"""What the sweep shows of its axes: the interpolation threshold on teacher sizes only, one curve per
value of a second axis (screen and publication figure), and the validation-picked test error."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from gui.figures import sweep_axes
from gui.state import RunState
from gui.views import SweepView
from tests.gui.conftest import synthetic_run


def shown_sweep(qtbot, data) -> SweepView:
    view = SweepView()
    qtbot.addWidget(view)
    view.show_states([("synthetic", RunState.from_run(data))])
    view.refresh()
    return view


def legend_texts(view: SweepView) -> list[str]:
    return [label.text for _, label in view.plot.legend.items]


def role_curves(view: SweepView) -> list:
    """The mean curves drawn (not the bands' helper curves, not the marker lines)."""
    return [item for item in view.plot.listDataItems() if item.name()]


@pytest.mark.parametrize(
    ("axis", "dataset", "drawn"),
    [
        ("teacher.width", "moons", True),
        ("data.dim", "linear_regression", True),
        ("data.n_unlabeled", "moons", False),
        ("distill.alpha", "moons", False),
        ("data.dim", "gaussian_mixture", False),
    ],
)
def test_interpolation_threshold_only_on_a_teacher_size_axis(qtbot, axis, dataset, drawn):
    view = shown_sweep(qtbot, synthetic_run(axis, [4, 8, 16], dataset))
    assert (view.threshold in view.plot.items) is drawn
    assert ("interpolation threshold" in legend_texts(view)) is drawn
    if drawn:
        assert view.threshold.value() == pytest.approx(np.log10(8))


@pytest.mark.parametrize(("axis", "drawn"), [("teacher.width", True), ("data.n_unlabeled", False)])
def test_publication_figure_draws_the_threshold_only_on_a_teacher_size_axis(axis, drawn):
    ax = Figure().add_subplot()
    sweep_axes(ax, synthetic_run(axis, [4, 8, 16]))
    assert ("interpolation threshold" in ax.get_legend_handles_labels()[1]) is drawn
