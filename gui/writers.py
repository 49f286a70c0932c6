"""What the File menu writes: plots (PNG, SVG, CSV), run-file copies and configs (TOML).

Each is a plain function taking a path, so every one is testable without a dialog.
"""

import csv
import shutil
from pathlib import Path

import numpy as np
import pyqtgraph.exporters
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from engine.config import ExperimentConfig
from engine.config_io import save_toml
from engine.errors import OutputError
from engine.journal import journal_path


def check_target(path: Path) -> Path:
    """Raise OutputError when `path` cannot be written (missing or read-only folder)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    return path


def export_png(graphics: QWidget, path: str | Path, width: int = 1600) -> None:
    """Write the pyqtgraph widget `graphics` (a plot or a layout of plots) as a PNG `width` pixels wide."""
    path = check_target(path)
    exporter = pyqtgraph.exporters.ImageExporter(graphics.scene())
    exporter.parameters()["width"] = width
    if not exporter.export(str(path)) and not path.exists():
        raise OutputError(f"cannot write {path}")


def export_svg(widget: QWidget, path: str | Path) -> None:
    """Write `widget` as an SVG drawing through QSvgGenerator.

    pyqtgraph's own SVG exporter fails with current Qt (pyqtgraph issue #3485); rendering the widget
    into an SVG paint device keeps curves, axes and labels as vector paths and text.
    """
    path = check_target(path)
    size = widget.size() if widget.width() > 0 else QSize(1000, 700)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setTitle("DDX plot")
    painter = QPainter()
    if not painter.begin(generator):
        raise OutputError(f"cannot write {path}")
    try:
        widget.render(painter)
    finally:
        painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise OutputError(f"cannot write {path}")


def export_csv(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path) -> None:
    """Write curves as long-format CSV: one row per (series, x, y)."""
    path = check_target(path)
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["series", "x", "y"])
            for name, (xs, ys) in curves.items():
                writer.writerows((name, f"{x:.10g}", f"{y:.10g}") for x, y in zip(xs, ys, strict=True))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def export_plot(view, path: Path) -> None:
    """Write the view as PNG, SVG or CSV, chosen by the suffix of `path`."""
    view.refresh()
    view.settle()
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        export_svg(view.graphics, path)
    elif suffix == ".csv":
        export_csv(view.curves(), path)
    else:
        export_png(view.graphics, path)


def save_run_as(source: str | Path, path: str | Path) -> None:
    """Copy the run file `source` to `path`, with its journal of points not yet in its table (a running run's)."""
    path = check_target(path)
    try:
        shutil.copyfile(source, path)
        if journal_path(Path(source)).exists():
            shutil.copyfile(journal_path(Path(source)), journal_path(path))
    except OSError as exc:
        raise OutputError(f"cannot copy {source} to {path}: {exc.strerror or exc}") from None


def export_config(cfg: ExperimentConfig, path: str | Path) -> None:
    """Write `cfg` as a preset TOML file (raises ConfigError when the path is not writable)."""
    save_toml(cfg, Path(path))
