"""The epoch a validation split picks: in the final metrics, and starred on the learning curves."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from engine.events import EpochMetrics, PointFinished, PointStarted
from engine.runfile import final_metrics
from gui.figures import draw_curves
from gui.state import RunState
from gui.views import LearningCurvesView
from tests.gui.conftest import TEST_ERROR, VAL_ERROR, synthetic_curves, synthetic_run


def live_state(validation: bool) -> RunState:
    """A point whose teacher and student report four epochs; validation error lowest at epoch 2."""
    state = RunState(total_points=1)
    state.apply(PointStarted(0, 1, 0, {}))
    for role, offset in (("teacher", 0.0), ("student", 0.05)):
        for epoch in range(1, 5):
            metrics = {"train_error": 0.1, "test_error": TEST_ERROR[epoch - 1] + offset}
            if validation:
                metrics["val_error"] = VAL_ERROR[epoch - 1] + offset
            state.apply(EpochMetrics(0, role, epoch, 4, metrics))
    return state


def shown_curves(qtbot, state: RunState) -> LearningCurvesView:
    view = LearningCurvesView()
    qtbot.addWidget(view)
    view.show_states([("live", state)])
    view.refresh()
    return view


def legend_texts(view) -> list[str]:
    return [label.text for _, label in view.plot.legend.items]


def test_best_epoch_is_starred_on_each_test_error_curve(qtbot):
    view = shown_curves(qtbot, live_state(validation=True))
    for role, offset in (("teacher", 0.0), ("student", 0.05)):
        x, y = view.best[role].getOriginalDataset()
        assert list(x) == [2] and y[0] == pytest.approx(TEST_ERROR[1] + offset)
        assert view.best[role].opts["symbol"] == "star"
        assert f"{role} best epoch (validation)" in legend_texts(view)
    assert "teacher.best_epoch" in view.curves()


def test_steps_axis_puts_each_role_at_its_own_budget_and_moves_the_star_with_it(qtbot):
    state = RunState(total_points=1)
    state.apply(PointStarted(0, 1, 0, {}))
    for role, per_epoch in (("student", 80), ("baseline", 8)):  # a pool 10x S: ten times the steps per epoch
        for epoch in range(1, 5):
            metrics = {
                "test_error": TEST_ERROR[epoch - 1],
                "val_error": VAL_ERROR[epoch - 1],
                "steps": epoch * per_epoch,
            }
            state.apply(EpochMetrics(0, role, epoch, 4, metrics))
    view = shown_curves(qtbot, state)
    view.by_steps.setChecked(True)
    view.refresh()
    x, _ = view.curves()["student.test_error"]
    assert list(x) == [80, 160, 240, 320]
    assert list(view.curves()["baseline.test_error"][0]) == [8, 16, 24, 32]
    assert list(view.best["student"].getOriginalDataset()[0]) == [160], "the best epoch (2) at its step count"
    assert view.plot.getAxis("bottom").labelText == "optimizer steps"


def test_no_best_epoch_star_without_validation_error(qtbot):
    view = shown_curves(qtbot, live_state(validation=False))
    assert view.best == {}
    assert not any("best epoch" in text for text in legend_texts(view))


def test_star_leaves_with_a_new_point_that_has_no_validation_error(qtbot):
    state = live_state(validation=True)
    view = shown_curves(qtbot, state)
    state.apply(PointFinished(0, 0, {}, {}))
    state.apply(PointStarted(1, 2, 0, {}))
    state.apply(EpochMetrics(1, "teacher", 1, 4, {"train_error": 0.2, "test_error": 0.3}))
    view.refresh()
    assert view.best == {}
    assert not any("best epoch" in text for text in legend_texts(view))


def test_final_metrics_add_best_epoch_and_its_test_error():
    finals = final_metrics(
        {
            "teacher": synthetic_curves(0.0, interpolates=True),
            "student": synthetic_curves(0.0, interpolates=False, validation=False),
            "theory": {"epoch": np.array([1.0]), "excess_risk": np.array([0.7])},
        }
    )
    assert finals["teacher"]["best_epoch"] == 2 and finals["teacher"]["best_test_error"] == TEST_ERROR[1]
    assert finals["teacher"]["test_error"] == TEST_ERROR[-1] and finals["teacher"]["steps"] == 40
    for role in ("student", "theory"):
        assert np.isnan(finals[role]["best_epoch"]) and np.isnan(finals[role]["best_test_error"])
    assert finals["theory"]["excess_risk"] == 0.7


def test_publication_curves_star_the_best_epoch():
    ax = Figure().add_subplot()
    draw_curves(ax, synthetic_run("teacher.width", [4]), 0)
    labels = ax.get_legend_handles_labels()[1]
    assert "teacher best epoch (validation)" in labels
    star = next(line for line in ax.get_lines() if line.get_label() == "teacher best epoch (validation)")
    assert list(star.get_xdata()) == [2] and star.get_ydata()[0] == pytest.approx(TEST_ERROR[1])
