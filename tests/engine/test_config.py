"""Config validation, TOML round-trips and command-line overrides."""

import tomllib

import pytest

from engine.config import ExperimentConfig, validate
from engine.config_io import apply_overrides, load_config, save_toml
from engine.config_rules import categorical_keys, numeric_keys
from engine.errors import ConfigError
from engine.presets import list_presets, load_preset


def test_defaults_are_valid_and_round_trip_through_toml():
    cfg = ExperimentConfig()
    assert validate(tomllib.loads(cfg.to_toml()), "round trip") == cfg


@pytest.mark.parametrize("preset", [p.name for p in list_presets() if p.shipped])
def test_every_shipped_preset_loads_describes_itself_and_round_trips(preset, tmp_path):
    cfg = load_preset(preset)
    assert cfg.run.description.strip(), "a preset says what to look for"
    save_toml(cfg, tmp_path / "copy.toml")
    assert load_config(tmp_path / "copy.toml") == cfg


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"teacher": {"widht": 3}}, ["unknown key 'teacher.widht'", "width"]),
        ({"colour": 1}, ["unknown key 'colour'", "teacher"]),
        ({"teacher": {"width": 0}}, ["teacher.width = 0", "≥ 1"]),
        ({"teacher": {"width": "wide"}}, ["teacher.width = 'wide'", "integer"]),
        ({"data": {"noise": 1.0}}, ["data.noise = 1.0", "< 1"]),
        ({"data": {"n_train": -5}}, ["data.n_train = -5", "≥ 1"]),
        ({"distill": {"temperature": 0}}, ["distill.temperature = 0", "> 0"]),
        ({"distill": {"mode": "magic"}}, ["distill.mode = 'magic'", "'hard'", "'soft'"]),
        ({"data": {"n_unlabeled": 0}}, ["data.n_unlabeled = 0", "student_data"]),
        ({"sweep": {"axis": "run.name", "values": [1]}}, ["not a config key a sweep can vary", "teacher.width"]),
        ({"sweep": {"axis": "teacher.model", "values": [1]}}, ["holds 1", "must be one of", "mlp"]),
        ({"sweep": {"axis": "distill.mode", "values": ["hard", "magic"]}}, ["holds magic", "hard, soft, self"]),
        ({"sweep": {"axis": "teacher.width", "values": ["wide"]}}, ["holds wide", "must be a number"]),
        ({"sweep": {"axis": "teacher.width", "values": [4, 4]}}, ["repeats a value"]),
        (
            {"sweep": {"axis": "distill.mode", "values": ["hard", "self"]}, "student": {"model": "knn"}},
            ["sweep.values holds self, invalid for distill.mode", "mlp"],
        ),
        ({"sweep": {"axis": "teacher.width", "values": [8, 0]}}, ["holds 0", "≥ 1"]),
        ({"sweep": {"axis": "teacher.width", "values": [2.5]}}, ["whole number"]),
        ({"sweep": {"axis": "teacher.width"}}, ["needs at least one value"]),
        ({"run": {"device": "tpu"}}, ["run.device = 'tpu'"]),
        ({"distill": {"mode": "self"}, "student": {"model": "knn"}}, ["self", "mlp"]),
        ({"distill": {"pool_labels": "per_batch", "teachers": 3}, "student": {"model": "knn"}}, ["per_batch", "mlp"]),
        ({"schema_version": 99}, ["newer DDX"]),
        ({"train": {"equal_steps": True, "baseline_epochs": 5}}, ["train.equal_steps", "baseline_epochs at 0"]),
        ({"sweep": {"seeds": [2**40]}}, ["seeds must be integers from 0 to 2147483647"]),
        (
            {"sweep": {"axis": "teacher.width", "values": [float("inf")]}},
            ["sweep.values = [inf]", "item 0 is inf", "finite"],
        ),
        ({"data": {"noise": float("nan")}}, ["data.noise = nan", "must be a finite number"]),
    ],
)
def test_bad_values_are_rejected_with_key_value_and_what_is_allowed(raw, expected):
    with pytest.raises(ConfigError) as err:
        validate(raw, "bad.toml")
    message = str(err.value)
    assert "bad.toml" in message
    for part in expected:
        assert part in message


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[teacher]\nwidth = = 3\n")
    with pytest.raises(ConfigError, match=r"broken.toml is not valid TOML.*line 2"):
        load_config(path)


def test_overrides_parse_toml_values_and_plain_words():
    raw = apply_overrides({}, ["teacher.width=64", "sweep.seeds=[0, 1]", "data.dataset=spirals", "data.noise=0.3"])
    cfg = validate(raw, "overrides")
    assert (cfg.teacher.width, cfg.sweep.seeds, cfg.data.dataset, cfg.data.noise) == (64, [0, 1], "spirals", 0.3)


@pytest.mark.parametrize("item", ["teacher.width", "width=3", "nosuch.width=3", "a.b.c=1"])
def test_malformed_overrides_are_rejected(item):
    with pytest.raises(ConfigError, match="--set"):
        apply_overrides({}, [item])


def test_choice_keys_sweep_by_name_and_keep_their_names():
    cfg = validate({"sweep": {"axis": "distill.mode", "values": ["hard", "soft"]}}, "x")
    assert cfg.sweep.axes[0].values == ("hard", "soft") and cfg.sweep.axes[0].categorical
    assert {"distill.pool_labels", "data.noise_kind", "teacher.model"} <= set(categorical_keys())


def test_numeric_keys_cover_sizes_and_rates_but_not_choices():
    keys = numeric_keys()
    assert {"teacher.width", "data.n_unlabeled", "data.noise", "distill.temperature"} <= set(keys)
    assert "teacher.model" not in keys and "sweep.values" not in keys


def test_config_reference_doc_is_generated_from_the_model():
    from pathlib import Path

    from engine.reference import config_reference

    doc = Path(__file__).resolve().parents[2] / "docs" / "config.md"
    assert doc.read_text(encoding="utf-8").strip() == config_reference().strip(), (
        "docs/config.md is stale: run `python -m engine.reference > docs/config.md`"
    )
