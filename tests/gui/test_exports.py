"""Exports write non-empty files; the SVG is XML with vector paths; bad paths raise OutputError."""

import csv
import xml.etree.ElementTree as ET

import pytest

from engine.config_io import load_config
from engine.errors import OutputError
from engine.runfile import load_run
from gui import figures, file_menu
from gui.figures import publication_figure
from gui.writers import export_config, export_csv, export_plot, export_png, export_svg, save_run_as
from tests.gui.conftest import open_runs, tiny_config


@pytest.fixture
def shown(window, qtbot, run_file):
    """The window showing the finished tiny run."""
    open_runs(window, qtbot, run_file)
    for view in window.views:
        view.refresh()
    return window


@pytest.mark.parametrize("tab", range(4))
def test_every_view_exports_png_svg_and_csv(shown, tmp_path, tab):
    view = shown.views[tab]
    shown.tabs.setCurrentIndex(tab)
    for suffix in ("png", "svg", "csv"):
        path = tmp_path / f"plot.{suffix}"
        export_plot(view, path)
        assert path.stat().st_size > 0
    root = ET.parse(tmp_path / "plot.svg").getroot()
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) >= 3, "SVG lacks vector paths (axes, curves)"
    rows = list(csv.reader(open(tmp_path / "plot.csv")))
    assert rows[0] == ["series", "x", "y"] and len(rows) > 1


def test_svg_holds_axis_labels_as_text(shown, tmp_path):
    export_svg(shown.views[1].graphics, tmp_path / "sweep.svg")
    text = (tmp_path / "sweep.svg").read_text()
    assert "teacher.width" in text and "final test error" in text


@pytest.mark.parametrize("suffix", ["pdf", "svg", "png"])
@pytest.mark.parametrize("kind", ["sweep", "curves"])
def test_publication_figure(run_file, tmp_path, suffix, kind):
    path = tmp_path / f"figure.{suffix}"
    publication_figure(load_run(run_file), path, kind)
    assert path.stat().st_size > 1000
    if suffix == "svg":
        assert list(ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}path"))


@pytest.mark.parametrize(("tab", "kind"), [(0, "curves"), (1, "sweep"), (2, "sweep")])
def test_the_publication_figure_of_a_tab_is_the_kind_the_view_declares(shown, monkeypatch, tmp_path, tab, kind):
    asked, written = [], []
    monkeypatch.setattr(file_menu, "ask_path", lambda _w, _t, name, _f: asked.append(name) or tmp_path / name)
    monkeypatch.setattr(file_menu, "publication_figure", lambda _run, path, chosen: written.append(chosen))
    shown.tabs.setCurrentIndex(tab)
    file_menu.ask_figure(shown)
    assert asked == [f"tiny-{kind}.pdf"] and written == [kind]


def test_save_run_as_and_config_as_toml(run_file, tmp_path):
    save_run_as(run_file, tmp_path / "copy.h5")
    assert load_run(tmp_path / "copy.h5").status == "complete"
    cfg = tiny_config()
    export_config(cfg, tmp_path / "preset.toml")
    assert load_config(tmp_path / "preset.toml") == cfg


def test_unwritable_paths_raise_output_error(shown, run_file, tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(OutputError):
        export_png(shown.views[0].graphics, missing / "a.png")
    with pytest.raises(OutputError):
        export_csv({}, missing / "a.csv")
    with pytest.raises(OutputError):
        save_run_as(run_file, missing / "a.h5")
    with pytest.raises(OutputError):
        publication_figure(load_run(run_file), missing / "a.pdf")


def test_export_selected_runs_writes_one_table_without_a_dialog(
    window, errors, run_file, other_run_file, monkeypatch, tmp_path
):
    out = tmp_path / "runs.csv"
    asked = []
    monkeypatch.setattr(file_menu, "ask_path", lambda win, title, name, filters: asked.append(filters) or out)
    file_menu.ask_export_runs(window)
    assert errors == [("No run selected", "Select one or more runs in the Runs list (Ctrl+click for more).")]
    window.open_run(run_file)
    window.open_run(other_run_file)
    window.browser.select([run_file, other_run_file])
    menu = window.browser.context_menu(str(run_file))
    export = next(a for a in menu.actions() if a.text() == "Export selected runs…")
    export.trigger()
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted({r["run"] for r in rows}) == ["tiny", "tiny-noisier"] and len(rows) == 4
    assert "Parquet table (*.parquet)" in asked[0] and len(errors) == 1
    assert "exported 4 rows of 2 run(s)" in window.statusBar().currentMessage()


@pytest.mark.parametrize("kind", ["sweep", "curves"])
def test_the_publication_figure_overlays_every_selected_run(
    window, qtbot, run_file, other_run_file, monkeypatch, tmp_path, kind
):
    drawn = []
    monkeypatch.setattr(file_menu, "ask_path", lambda *args: tmp_path / f"both-{kind}.png")
    monkeypatch.setattr(figures.Figure, "savefig", lambda fig, path: drawn.append(fig.axes[0]))
    open_runs(window, qtbot, run_file, other_run_file)
    with qtbot.waitSignal(window.loader.loaded, timeout=30_000):
        window.browser.select([run_file, other_run_file])
    window.tabs.setCurrentIndex(0 if kind == "curves" else 1)
    file_menu.ask_figure(window)
    labels = drawn[0].get_legend_handles_labels()[1]
    for name in ("tiny", "tiny-noisier"):
        assert any(label.startswith("teacher") and label.endswith(f"· {name}") for label in labels), labels
    styles = {line.get_linestyle() for line in drawn[0].get_lines() if line.get_label().startswith("student test")}
    styles |= {line.get_linestyle() for line in drawn[0].get_lines() if line.get_label().startswith("student · ")}
    assert {"-", "--"} <= styles, "the second run is dashed"
