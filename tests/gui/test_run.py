"""Running through the window: live plots fill, stop and close leave a readable 'stopped' file."""

import threading

import numpy as np

from engine.runfile import load_run
from gui.views import HeatmapView, LearningCurvesView, RegionsView, SweepView
from tests.gui.conftest import tiny_config

RUN_TIMEOUT_MS = 60_000


def start(window, qtbot, cfg=None):
    window.panel.set_config(cfg or tiny_config())
    with qtbot.waitSignal(window.controller.started, timeout=5000):
        window.run_action.trigger()


def view(window, kind):
    return next(v for v in window.views if isinstance(v, kind))


def test_tiny_run_completes_and_every_plot_holds_data(window, qtbot):
    start(window, qtbot)
    assert not window.run_action.isEnabled(), "a second run must not start while one runs"
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as done:
        pass
    path, status = done.args
    assert status == "complete"
    assert load_run(path).status == "complete"
    for v in window.views:
        window.tabs.setCurrentWidget(v)
        v.refresh()
    curves = view(window, LearningCurvesView).curves()
    assert {"teacher.test_error", "student.test_error", "baseline.train_error"} <= set(curves)
    assert all(len(x) == (1 if name.endswith(".best_epoch") else 3) for name, (x, _) in curves.items())
    assert {"teacher.best_epoch", "student.best_epoch", "baseline.best_epoch"} <= set(curves)
    sweep = view(window, SweepView).curves()
    assert len(sweep["tiny.teacher.test_error_mean"][0]) == 2
    heat = view(window, HeatmapView).values
    assert heat.shape == (2, 1) and np.isfinite(heat).all()
    assert view(window, RegionsView).regions["student"].shape == (120, 120)
    assert window.run_action.isEnabled()
    assert "2/2 points" in window.progress.format()
    assert window.browser.tree.topLevelItemCount() == 1


def stop_after_first_epoch(window, qtbot):
    qtbot.waitUntil(lambda: window.controller.progress.epoch >= 1, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(window.controller.finished, timeout=10_000) as done:
        window.stop_action.trigger()
    return done.args


def test_stop_mid_run_leaves_a_readable_stopped_file(window, qtbot):
    start(window, qtbot, tiny_config("train.epochs=200"))
    path, status = stop_after_first_epoch(window, qtbot)
    assert status == "stopped"
    data = load_run(path)
    assert data.status == "stopped" and len(data.points) < 2


def test_stop_while_paused(window, qtbot):
    start(window, qtbot, tiny_config("train.epochs=200"))
    qtbot.waitUntil(lambda: window.controller.progress.epoch >= 1, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(window.controller.paused_changed, timeout=5000):
        window.pause_action.trigger()
    assert window.pause_action.text() == "Resume"
    with qtbot.waitSignal(window.controller.finished, timeout=10_000) as done:
        window.stop_action.trigger()
    assert done.args[1] == "stopped"


def test_stop_pressed_before_a_requested_pause_takes_effect_still_stops(qtbot, tmp_path):
    """Pause waits for the current step (a closed-form fit, data generation) to yield; Stop then must win."""
    from gui.controller import RunController
    from gui.state import RunState

    controller, step_done = RunController(), threading.Event()

    def one_long_step(stop):
        step_done.wait(10)
        while not stop():
            yield None

    controller.launch(tiny_config(), tmp_path / "run.h5", RunState(), one_long_step)
    controller.toggle_pause()
    controller.stop()
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        step_done.set()
    assert not controller.running


def test_pause_and_resume_then_complete(window, qtbot):
    start(window, qtbot)
    with qtbot.waitSignal(window.controller.paused_changed, timeout=RUN_TIMEOUT_MS):
        window.pause_action.trigger()
    epoch = window.controller.progress.epoch
    qtbot.wait(300)
    assert window.controller.progress.epoch == epoch, "a paused run must not train"
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as done:
        window.pause_action.trigger()
    assert done.args[1] == "complete"


def test_closing_the_window_during_a_run_stops_it_cleanly(window, qtbot):
    start(window, qtbot, tiny_config("train.epochs=200"))
    qtbot.waitUntil(lambda: window.controller.progress.epoch >= 1, timeout=RUN_TIMEOUT_MS)
    path = window.controller.path
    window.close()
    assert not window.controller.running
    assert load_run(path).status == "stopped"


def test_engine_error_shows_a_message_and_the_app_keeps_running(window, qtbot, errors, tmp_path):
    cfg = tiny_config('data.dataset="file"', f'data.path="{tmp_path / "missing.npz"}"')
    start(window, qtbot, cfg)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS):
        pass
    assert errors and errors[0][0] == "Run failed"
    assert "missing.npz" in errors[0][1]
    assert window.run_action.isEnabled()


def test_a_diverged_role_is_marked_on_the_learning_curves_and_in_the_status(window, qtbot):
    diverging = tiny_config(
        'train.optimizer="sgd"',
        "train.lr=10.0",
        "train.momentum=0.99",
        'train.loss="mse"',
        "teacher.depth=4",
        "teacher.width=64",
        "sweep.values=[32, 64]",
    )
    start(window, qtbot, diverging)
    with qtbot.waitSignal(window.controller.finished, timeout=RUN_TIMEOUT_MS) as done:
        pass
    assert done.args[1] == "complete", "the sweep goes on after a divergence"
    curves = view(window, LearningCurvesView)
    window.tabs.setCurrentWidget(curves)
    curves.refresh()
    marker = curves.markers["teacher"]
    assert marker.isVisible() and "teacher diverged at epoch" in marker.label.format
    assert "diverged at epoch" in window.progress.format()


def test_points_trained_together_show_the_first_one_and_advance_the_progress_together(qtbot):
    from engine.events import EpochMetrics, PointFinished, PointStarted
    from engine.progress import Progress
    from gui.state import RunState

    state, progress = RunState(total_points=3), Progress(tiny_config(), 3)
    metrics = {"train_error": 0.5, "test_error": 0.5}
    group = [PointStarted(0, 3, 0, {}), PointStarted(1, 3, 0, {})]
    group += [EpochMetrics(p, "teacher", e, 4, metrics | {"test_error": p}) for e in (1, 2) for p in (0, 1)]
    for event in group:
        state.apply(event)
        progress.update(event)
    assert state.current_point == 0
    assert list(state.curves["teacher"].view("test_error")[1]) == [0.0, 0.0], "only point 0's curve is drawn"
    view = LearningCurvesView()
    qtbot.addWidget(view)
    view.show_states([("live", state)])
    view.refresh()
    assert "point 1/3 (training with 1 other)" in view.plot.titleLabel.text
    assert "2 points together" in progress.text()
    assert progress.fraction() == 2 * (2 / 4) / progress.roles / 3
    for event in (PointFinished(0, 0, {}, {}), PointFinished(1, 0, {}, {}), PointStarted(2, 3, 0, {})):
        state.apply(event)
        progress.update(event)
    assert state.current_point == 2 and state.curves == {} and progress.done == 2
