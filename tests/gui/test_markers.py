"""A Saglietti n_train sweep shows its α-thresholds (α_I = η, α_S, α̃_S) where the theory puts them,
in the app's sweep view and in the publication figure."""

import math

import numpy as np
import pyqtgraph as pg
import pytest

from engine.diagnostics.replica import separability_threshold
from engine.presets import load_preset
from engine.runfile import load_run
from engine.runner import run
from gui.figures import publication_figure
from gui.views import SweepView
from tests.gui.conftest import open_runs

DIM = 40


@pytest.fixture(scope="module")
def saglietti_run(tmp_path_factory):
    """saglietti-kd-quick shrunk to d = 40 and three values of n_train, one seed (6–25 s on 2 shared cores)."""
    path = tmp_path_factory.mktemp("runs") / "saglietti.h5"
    more = [f"data.dim={DIM}", "data.n_test=500", "sweep.values=[10, 40, 240]", "sweep.seeds=[0]"]
    for _ in run(load_preset("saglietti-kd-quick", more), path):
        pass
    return path


def expected_markers() -> dict[str, float]:
    """Short label → n_train: n = η·d, and α_S·d for the η = 0.5 student and the dense teacher (ρ = 0.2, Δ = 1)."""
    return {
        "α_I = η": 0.5 * DIM,
        "α_S": separability_threshold(0.2, 1.0, 0.5) * DIM,
        "α̃_S": separability_threshold(0.2, 1.0, 1.0) * DIM,
    }


@pytest.mark.parametrize("log_x", [True, False])
def test_the_sweep_view_draws_the_three_labelled_thresholds_at_their_n_train(window, qtbot, saglietti_run, log_x):
    open_runs(window, qtbot, saglietti_run)
    view = next(v for v in window.views if isinstance(v, SweepView))
    window.tabs.setCurrentWidget(view)
    view.log_x.setChecked(log_x)
    view.refresh()
    qtbot.waitUntil(lambda: view.markers is None and not view.pending, timeout=10_000)
    lines = [item for item in view.plot.items if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None)]
    drawn = {line.label.toPlainText(): line.value() for line in lines if line.angle == 90}
    expected = {k: math.log10(v) if log_x else v for k, v in expected_markers().items()}
    assert drawn.keys() == expected.keys()
    for label, x in expected.items():
        assert drawn[label] == pytest.approx(x, rel=1e-6)
    legend = [label.text for _, label in view.plot.legend.items]
    assert any(text.startswith("α_S (student's data separable") for text in legend), legend


def test_the_publication_figure_draws_the_thresholds_as_labelled_dotted_lines(saglietti_run, tmp_path, monkeypatch):
    from gui import figures

    drawn = []
    monkeypatch.setattr(figures.Figure, "savefig", lambda fig, path: drawn.append(fig.axes[0]))
    publication_figure(load_run(saglietti_run), tmp_path / "sweep.pdf")
    ax = drawn[0]
    texts = {text.get_text(): text.get_position()[0] for text in ax.texts}
    assert texts == pytest.approx(expected_markers(), rel=1e-6)
    dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":" and len(set(line.get_xdata())) == 1]
    assert sorted(line.get_xdata()[0] for line in dotted) == pytest.approx(sorted(expected_markers().values()))
    assert np.all([line.get_ydata() == pytest.approx([0, 1]) for line in dotted])
