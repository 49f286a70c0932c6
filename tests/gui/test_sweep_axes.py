"""What the sweep shows of its axes: the interpolation threshold on teacher sizes only, one curve per
value of a second axis (screen and publication figure), and the validation-picked test error."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from gui.figures import draw_sweep
from gui.state import RunState
from gui.views import SweepView
from tests.gui.conftest import TEST_ERROR, synthetic_run


def shown_sweep(qtbot, data) -> SweepView:
    view = SweepView()
    qtbot.addWidget(view)
    view.show_states([("synthetic", RunState.from_run(data))])
    view.refresh()
    return view


def settled_sweep(qtbot, data) -> SweepView:
    """The view once every curve is drawn (the sweep adds a few curves per event-loop turn)."""
    view = shown_sweep(qtbot, data)
    view.settle()
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
    view = settled_sweep(qtbot, synthetic_run(axis, [4, 8, 16], dataset))
    assert (view.threshold in view.plot.items) is drawn
    assert ("interpolation threshold" in legend_texts(view)) is drawn
    if drawn:
        assert view.threshold.value() == pytest.approx(np.log10(8))


@pytest.mark.parametrize(("axis", "drawn"), [("teacher.width", True), ("data.n_unlabeled", False)])
def test_publication_figure_draws_the_threshold_only_on_a_teacher_size_axis(axis, drawn):
    ax = Figure().add_subplot()
    draw_sweep(ax, synthetic_run(axis, [4, 8, 16]))
    assert ("interpolation threshold" in ax.get_legend_handles_labels()[1]) is drawn


def noise_grid_run():
    return synthetic_run("teacher.width", [4, 8, 16], axis2="data.noise", values2=[0.0, 0.2, 0.4], seeds=[0, 1])


def test_second_axis_draws_one_curve_per_role_and_value_with_seed_bands(qtbot):
    view = settled_sweep(qtbot, noise_grid_run())
    curves = role_curves(view)
    assert len(curves) == 2 * 3, "teacher and student × three noise levels"
    assert "teacher · data.noise = 0.2" in legend_texts(view)
    assert "student · data.noise = 0.4" in legend_texts(view)
    pens = {c.opts["pen"].color().name() for c in curves}
    symbols = {c.opts["symbol"] for c in curves}
    assert len(pens) == 6 and len(symbols) == 3, "noise levels differ in shade and symbol"
    exported = view.curves()
    xs, mean = exported["synthetic.teacher[data.noise=0.2].test_error_mean"]
    assert list(xs) == [4, 8, 16]
    assert mean == pytest.approx(np.full(3, TEST_ERROR[-1] + 0.2 + 0.0005))
    _, std = exported["synthetic.teacher[data.noise=0.2].test_error_std"]
    assert np.all(std < 0.01), "the band spans seeds only, not the noise levels"
    assert sum(name.endswith("_mean") for name in exported) == 6


def test_publication_figure_draws_one_curve_per_role_and_second_axis_value():
    ax = Figure().add_subplot()
    draw_sweep(ax, noise_grid_run())
    labels = ax.get_legend_handles_labels()[1]
    assert sum("· data.noise =" in label for label in labels) == 6
    assert "teacher · data.noise = 0" in labels
    colours = {line.get_color() for line in ax.get_lines() if "data.noise" in line.get_label()}
    assert len(colours) == 6


def select(view: SweepView, metric: str) -> None:
    view.metric.setCurrentIndex(view.metric.findData(metric))
    view.refresh()


def test_test_error_at_the_best_epoch_is_offered_with_its_label(qtbot):
    view = settled_sweep(qtbot, synthetic_run("teacher.width", [4, 8, 16]))
    offered = {view.metric.itemData(i): view.metric.itemText(i) for i in range(view.metric.count())}
    assert offered["best_test_error"] == "test error at best epoch (validation)"
    assert {"best_epoch", "steps", "val_error"} <= set(offered)
    select(view, "best_test_error")
    assert view.plot.getAxis("left").labelText == "test error at best epoch (validation)"
    _, mean = view.curves()["synthetic.teacher.best_test_error_mean"]
    assert mean == pytest.approx(np.full(3, TEST_ERROR[1]), abs=1e-6), "test error at epoch 2, not the last"
    select(view, "test_error")
    assert view.plot.getAxis("left").labelText == "final test error"


def test_no_best_epoch_metric_without_a_validation_split(qtbot):
    data = synthetic_run("teacher.width", [4, 8])
    for point in data.points:
        for curves in point.curves.values():
            curves["val_error"] = np.full(4, np.nan)
    view = settled_sweep(qtbot, data)
    offered = [view.metric.itemData(i) for i in range(view.metric.count())]
    assert "best_test_error" not in offered and "best_epoch" not in offered


def test_a_large_grid_draws_a_few_second_axis_values_a_few_curves_at_a_time(qtbot):
    """A 30 × 30 sweep: eight curves per role (the heatmap shows all), added over several event-loop turns,
    the export still holding every point of every curve drawn."""
    from gui.views.sweep import MAX_SERIES, TURN_BUDGET

    values = [float(v) for v in range(1, 31)]
    view = shown_sweep(qtbot, synthetic_run("teacher.width", values, axis2="data.noise", values2=values))
    assert len(view.pending) == 2 * MAX_SERIES and not role_curves(view), "the curves wait for the event loop"
    qtbot.waitUntil(lambda: bool(role_curves(view)))
    assert len(role_curves(view)) <= TURN_BUDGET, "each turn adds only a few curves"
    qtbot.waitUntil(lambda: not view.pending)
    assert len(role_curves(view)) == 2 * MAX_SERIES
    assert f"{MAX_SERIES} of 30 values of data.noise" in view.plot.titleLabel.text
    assert all(len(x) == 30 for name, (x, _) in view.curves().items())
    assert "interpolation threshold" in legend_texts(view), "the markers come once every curve is drawn"


def test_a_log_axis_is_labelled_with_the_swept_values(qtbot):
    view = settled_sweep(qtbot, synthetic_run("teacher.width", [4, 8, 16]))
    assert view.log_x.isChecked()
    labels = [label for _, label in view.plot.getAxis("bottom")._tickLevels[0]]
    assert labels == ["4", "8", "16"]


MODES = ["hard", "soft", "self"]


def test_a_choice_axis_shows_its_names_side_by_side_with_seed_bars(qtbot):
    data = synthetic_run("distill.mode", MODES, axis2="data.noise", values2=[0.0, 0.2], seeds=[0, 1])
    view = settled_sweep(qtbot, data)
    ticks = view.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == MODES and [x for x, _ in ticks] == [0, 1, 2]
    assert len(view.bars) == 2 * 2, "a seed bar per role and noise level"
    curves = role_curves(view)
    assert all(c.opts["pen"] is None for c in curves), "no line joins one choice to another"
    xs = sorted(float(c.xData[1]) for c in curves)
    assert len(set(xs)) == 4 and all(abs(x - 1) <= 0.25 for x in xs), "series stand apart around their choice"
    ax = Figure().add_subplot()
    draw_sweep(ax, data)
    assert [t.get_text() for t in ax.get_xticklabels()] == MODES


def test_the_heatmap_labels_a_choice_axis_by_name(qtbot):
    from gui.views import HeatmapView

    view = HeatmapView()
    qtbot.addWidget(view)
    view.show_states(
        [("synthetic", RunState.from_run(synthetic_run("distill.mode", MODES, axis2="data.noise", values2=[0.0, 0.2])))]
    )
    view.refresh()
    assert [label for _, label in view.plot.getAxis("bottom")._tickLevels[0]] == MODES
    assert "distill.mode = soft" in view.describe(1, 0)
