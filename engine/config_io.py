"""Experiment configs as TOML: parsing presets, applying `--set key=value` overrides, writing presets."""

import tomllib
from pathlib import Path
from typing import Any

from engine.config import SECTIONS, ExperimentConfig, validate
from engine.errors import ConfigError


def parse_toml(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split 'section.key=value'; the value is read as TOML (numbers, lists, booleans), else as text."""
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) != 2 or not all(parts):
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. teacher.width=64")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return parts, value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for item in overrides:
        (section, name), value = parse_override(item)
        if section not in SECTIONS:
            raise ConfigError(f"--set {item!r}: unknown section {section!r}; allowed: {', '.join(SECTIONS)}")
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"--set {item!r}: [{section}] is not a table in the preset")
        table[name] = value
    return raw


def load_config(path: Path, overrides: list[str] = ()) -> ExperimentConfig:
    """Read a TOML preset from `path`, apply `section.key=value` overrides and validate."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read preset {path}: {exc}") from None
    raw = apply_overrides(parse_toml(text, str(path)), list(overrides))
    return validate(raw, str(path))


def save_toml(cfg: ExperimentConfig, path: Path) -> None:
    """Write `cfg` as a TOML preset, replacing the file atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(cfg.to_toml(), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write preset {path}: {exc.strerror or exc}") from None
