"""Find presets: the shipped ones in the `presets` package and the user's own in their config folder."""

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from engine.config import PLAIN_NAME, PLAIN_NAME_RULE, ExperimentConfig
from engine.config_io import load_config
from engine.errors import ConfigError


@dataclass(frozen=True)
class PresetInfo:
    name: str
    path: Path
    description: str
    shipped: bool


def shipped_dir() -> Path:
    return Path(str(resources.files("presets")))


def user_dir() -> Path:
    """$DDX_PRESET_DIR, else ~/.config/ddx/presets (where "Save preset as…" writes)."""
    if os.environ.get("DDX_PRESET_DIR"):
        return Path(os.environ["DDX_PRESET_DIR"])
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "ddx" / "presets"


def user_preset_path(name: str) -> Path:
    """Where user preset `name` is saved; a name that is not a plain file name raises ConfigError."""
    if not PLAIN_NAME.fullmatch(name):
        raise ConfigError(f"preset name {name!r} is not allowed: {PLAIN_NAME_RULE}")
    return user_dir() / f"{name}.toml"


def first_line(path: Path) -> str:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return str(raw.get("run", {}).get("description", "")).strip().splitlines()[0]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, IndexError, AttributeError):
        return ""


def list_presets() -> list[PresetInfo]:
    """Shipped presets first (sorted), then user presets; a user preset never hides a shipped one."""
    found = [PresetInfo(p.stem, p, first_line(p), True) for p in sorted(shipped_dir().glob("*.toml"))]
    names = {p.name for p in found}
    folder = user_dir()
    if folder.is_dir():
        found += [
            PresetInfo(p.stem, p, first_line(p), False) for p in sorted(folder.glob("*.toml")) if p.stem not in names
        ]
    return found


def resolve(source: str) -> Path:
    """A preset name or a path to a TOML file → the file's path."""
    path = Path(source).expanduser()
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"preset file {path} does not exist")
        return path
    for preset in list_presets():
        if preset.name == source:
            return preset.path
    names = ", ".join(p.name for p in list_presets())
    raise ConfigError(f"no preset named {source!r} and no such file; presets: {names}")


def load_preset(source: str, overrides: list[str] = ()) -> ExperimentConfig:
    return load_config(resolve(source), overrides)
