"""The parameter panel: generated from the config model, round-trips exactly, marks invalid input."""

import pytest

from engine.presets import list_presets, load_preset
from gui.params import ParameterPanel


@pytest.fixture
def panel(qtbot):
    widget = ParameterPanel()
    qtbot.addWidget(widget)
    return widget


@pytest.mark.parametrize("name", [p.name for p in list_presets()])
def test_panel_round_trips_every_preset(panel, name):
    cfg = load_preset(name)
    panel.set_config(cfg)
    assert panel.config() == cfg


def test_editors_follow_field_ranges_choices_and_descriptions(panel):
    n_train = panel.editors["data.n_train"]
    assert (n_train.minimum(), n_train.maximum()) == (1, 10_000_000)
    noise = panel.editors["data.noise"]
    assert noise.minimum() == 0 and noise.maximum() < 1
    modes = panel.editors["distill.mode"]
    assert [modes.itemText(i) for i in range(modes.count())] == ["hard", "soft", "self", "none"]
    assert "teacher.width" in [panel.editors["sweep.axis"].itemText(i) for i in range(30)]
    assert "label noise rate" in noise.toolTip()


def test_invalid_sweep_values_are_marked_with_the_reason(panel):
    panel.set_config(load_preset("quickstart"))
    panel.editors["sweep.values"].setText("4, 8.5")
    assert panel.config() is None
    editor = panel.editors["sweep.values"]
    assert "whole number" in editor.toolTip() and editor.styleSheet()
    assert "whole number" in panel.message.text()
    panel.editors["sweep.values"].setText("4, 8, 16")
    assert panel.config().sweep.values == [4, 8, 16]
    assert not editor.styleSheet()


def test_unparsable_list_is_marked(panel):
    panel.editors["sweep.seeds"].setText("0, one")
    assert panel.config() is None
    assert "'one' is not a number" in panel.editors["sweep.seeds"].toolTip()


def test_irrelevant_fields_are_hidden(panel):
    cfg = load_preset("knn-moons")
    panel.set_config(cfg)
    form = panel.forms["teacher"]
    visible = {k for k, e in panel.editors.items() if k.startswith("teacher.") and form.isRowVisible(e)}
    assert visible == {"teacher.model", "teacher.k"}
    assert panel.forms["data"].isRowVisible(panel.editors["data.input_noise"])
    assert not panel.forms["data"].isRowVisible(panel.editors["data.dim"])
    assert not panel.groups["train"].isEnabled()  # k-NN teacher and student: nothing trains by gradient
    panel.editors["teacher.model"].setCurrentText("mlp")
    assert form.isRowVisible(panel.editors["teacher.width"]) and form.isRowVisible(panel.editors["teacher.depth"])
    assert panel.groups["train"].isEnabled()


def test_distill_mode_shows_its_knobs(panel):
    panel.editors["distill.mode"].setCurrentText("soft")
    form = panel.forms["distill"]
    assert form.isRowVisible(panel.editors["distill.temperature"])
    panel.editors["distill.mode"].setCurrentText("none")
    assert not form.isRowVisible(panel.editors["distill.temperature"])


def test_validation_size_is_offered_and_self_distillation_hides_the_teacher(panel):
    panel.set_config(load_preset("quickstart"))
    assert panel.forms["data"].isRowVisible(panel.editors["data.n_val"])
    assert not panel.groups["teacher"].isHidden()
    panel.editors["distill.mode"].setCurrentText("self")
    assert panel.groups["teacher"].isHidden(), "self-distillation trains no teacher"
    panel.editors["distill.mode"].setCurrentText("hard")
    assert not panel.groups["teacher"].isHidden()
