"""Where the GUI keeps its settings and run files; environment variables redirect both (tests use them)."""

import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings


def settings() -> QSettings:
    """The app's QSettings: the INI file $DDX_SETTINGS_FILE if set, else the platform default."""
    path = os.environ.get("DDX_SETTINGS_FILE")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("DDX", "DDX")


def data_dir() -> Path:
    """Folder of run files: $DDX_DATA_DIR, else ./data (the CLI's default)."""
    return Path(os.environ.get("DDX_DATA_DIR", "data"))


def new_run_path(name: str) -> Path:
    """data/<name>-<YYYYmmdd-HHMMSS>.h5 as the CLI names it, with a suffix if that file exists."""
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}.h5", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.h5"
    return path
