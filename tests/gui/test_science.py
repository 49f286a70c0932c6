"""Science views appear with their data: reference lines, confusion vs noise matrices, NTK spectra."""

import numpy as np
import pytest

from engine.presets import load_preset
from engine.runfile import load_run
from engine.runner import run
from gui.figures import publication_figure
from gui.views import HeatmapView, NTKView, SamplerView, SweepView
from tests.gui.conftest import open_runs


def run_preset(folder, preset: str, *overrides: str):
    path = folder / f"{preset}.h5"
    for _ in run(load_preset(preset, ['run.device="cpu"', *overrides]), path):
        pass
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny Hastie, Kaplun and Dong runs (a few seconds each)."""
    folder = tmp_path_factory.mktemp("science")
    return {
        "hastie": run_preset(
            folder,
            "hastie-ridgeless-quick",
            "data.n_train=50",
            "data.n_test=100",
            "sweep.values=[10, 25, 100]",
            "sweep.seeds=[0, 1]",
        ),
        "kaplun": run_preset(
            folder, "kaplun-knn-spirals-quick", "data.n_test=300", "sweep.values=[250, 500]", "sweep.seeds=[0]"
        ),
        "dong": run_preset(
            folder,
            "dong-selfdistill-clusters-quick",
            "data.n_train=100",
            "data.n_test=100",
            "student.width=16",
            "train.epochs=4",
            "train.ntk_points=20",
            "train.optimizer=sgd",
        ),
    }


def shown(window, qtbot, path, kind):
    open_runs(window, qtbot, path)
    view = next(v for v in window.views if isinstance(v, kind))
    window.refresh_views()
    view.refresh()
    return view


def visible_titles(window):
    return {window.tabs.tabText(i) for i in range(window.tabs.count()) if window.tabs.isTabVisible(i)}


def test_hastie_sweep_opens_on_excess_risk_with_dashed_references_and_no_model_role(window, qtbot, runs):
    sweep = shown(window, qtbot, runs["hastie"], SweepView)
    assert sweep.current_metric() == "excess_risk"
    curves = sweep.curves()
    for role in ("theory", "ridgeless"):
        xs, mean = curves[f"hastie-ridgeless-quick.{role}.excess_risk_mean"]
        assert len(xs) == 3 and np.isfinite(mean).all()
    assert not any(".teacher." in name for name in curves), "the teacher's loss is another quantity"
    assert {"Sampler", "NTK", "Heatmap", "Decision regions"}.isdisjoint(visible_titles(window))
    sweep.metric.setCurrentIndex(sweep.metric.findData("test_error"))
    sweep.refresh()
    assert not any(name.startswith("hastie-ridgeless-quick.theory") for name in sweep.curves())


def test_kaplun_sampler_view_shows_confusion_beside_the_noise_matrix(window, qtbot, runs):
    view = shown(window, qtbot, runs["kaplun"], SamplerView)
    assert "Sampler" in visible_titles(window) and "NTK" not in visible_titles(window)
    assert view.confusion.values.shape == view.transition.values.shape == (3, 3)
    assert np.allclose(view.confusion.values.sum(axis=1), 1)
    assert np.allclose(view.transition.values.sum(axis=1), 1)
    assert "TV distance" in view.heading.text


def test_dong_ntk_view_draws_spectrum_energy_and_residual(window, qtbot, runs):
    view = shown(window, qtbot, runs["dong"], NTKView)
    assert "NTK" in visible_titles(window)
    curves = view.curves()
    spectra = [name for name in curves if name.startswith("ntk_eigenvalues")]
    assert spectra and all(len(curves[name][0]) == 20 for name in spectra)
    assert {"ntk_clean_energy", "ntk_noise_energy"} <= set(curves)
    assert view.residual_values.shape == (5, 20)
    assert view.linear_values.shape == (5, 20) and view.linear.titleLabel.text == "baseline, linearized from K₀"
    view.role.setCurrentText("student")
    view.refresh()
    assert view.residual_values.shape == (5, 20)


@pytest.mark.parametrize("name", ["hastie", "kaplun", "dong"])
def test_publication_figure_tolerates_reference_roles(runs, tmp_path, name):
    publication_figure(load_run(runs[name]), tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_sampler_matrices_have_a_colorbar_their_values_and_hover_values(window, qtbot, runs):
    view = shown(window, qtbot, runs["kaplun"], SamplerView)
    for matrix in (view.confusion, view.transition):
        assert matrix.colorbar.scene() is not None and tuple(matrix.colorbar.levels()) == (0.0, 1.0)
        assert [label.toPlainText() for label in matrix.cell_labels] == [f"{v:.2f}" for v in matrix.values.ravel()]
    value = view.confusion.values[2, 1]
    assert view.confusion.hover.show_at(1.5, 2.5) == f"true class 2 · predicted class 1\nshare of the row {value:.3f}"
    assert view.confusion.hover.label.isVisible()
    assert view.transition.hover.show_at(0.2, 0.7).startswith("true class 0 · given label 0\n")
    assert view.confusion.hover.show_at(3.5, 0.5) == "" and not view.confusion.hover.label.isVisible()


def test_ntk_residual_heatmap_has_a_colorbar_and_hover_values(window, qtbot, runs):
    view = shown(window, qtbot, runs["dong"], NTKView)
    assert view.colorbar.scene() is not None
    value = view.residual_values[3, 4]
    assert view.hover.show_at(4.5, 3.5) == f"epoch 3 · eigen-index 5\nresidual energy {value:.3g}"
    predicted, measured = view.linear_values[3, 4], view.measured_baseline[3, 4]
    expected = f"epoch 3 · eigen-index 5\nlinearized {predicted:.3g} · measured {measured:.3g}"
    assert view.linear_hover.show_at(4.5, 3.5) == expected


@pytest.mark.parametrize("kind", [SamplerView, NTKView])
def test_plots_titles_and_colorbars_fit_the_window_at_1580_by_960(window, runs, qtbot, kind):
    """A title wider than its plot widens the plot, which pushes the plots to its right out of view."""
    window.resize(1580, 960)
    view = shown(window, qtbot, runs["kaplun" if kind is SamplerView else "dong"], kind)
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.graphics.width() > 600)
    view.invalidate()
    qtbot.wait(50)
    width = view.graphics.viewport().width()
    for item in view.graphics.ci.items:
        right = item.sceneBoundingRect().right()
        assert right <= width + 1, f"{type(item).__name__} ends at {right:.0f} px in a {width} px view"
    for plot in (item for item in view.graphics.ci.items if hasattr(item, "titleLabel")):
        assert plot.titleLabel.item.boundingRect().width() <= plot.width()


def test_two_axis_heatmap_names_the_cell_under_the_mouse(window, qtbot, run_file):
    view = shown(window, qtbot, run_file, HeatmapView)
    value = view.values[1, 0]
    assert view.hover.show_at(1.5, 0.5) == f"teacher.width = 8 · student.width = 8\nteacher test error {value:.3f}"
    assert view.hover.show_at(2.5, 0.5) == ""
