"""Where the GUI keeps its settings and run files; environment variables redirect both (tests use them)."""

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from engine import runfile


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
    return runfile.new_run_path(data_dir(), name)
