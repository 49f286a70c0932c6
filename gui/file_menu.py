"""The File menu's actions: a dialog asks which file to open or write, then gui.writers or gui.figures writes it."""

import importlib.util
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from engine.errors import DDXError
from engine.export import export_summaries
from engine.runfile import load_run
from gui import dialogs
from gui.figures import publication_figure
from gui.settings import data_dir
from gui.writers import export_config, export_plot, save_run_as

PLOT_FILTER = "PNG image (*.png);;SVG drawing (*.svg);;CSV of the curves (*.csv)"
FIGURE_FILTER = "PDF (*.pdf);;SVG (*.svg);;PNG (*.png)"
TABLE_FILTERS = {".csv": "CSV table (*.csv)", ".parquet": "Parquet table (*.parquet)"}


def filter_suffix(name_filter: str) -> str:
    """'PNG image (*.png)' → 'png'."""
    return name_filter[name_filter.rfind("*.") + 2 : -1]


def save_dialog(window, title: str, name: str, filters: str) -> QFileDialog:
    """A save dialog whose default suffix follows the chosen filter.

    The dialog adds the suffix itself, so its overwrite confirmation covers the name actually written.
    """
    dialog = QFileDialog(window, title, str(data_dir() / name), filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(filter_suffix(filters.split(";;")[0]))
    dialog.filterSelected.connect(lambda chosen: dialog.setDefaultSuffix(filter_suffix(chosen)))
    return dialog


def ask_path(window, title: str, name: str, filters: str) -> Path | None:
    dialog = save_dialog(window, title, name, filters)
    accepted, files = dialog.exec(), dialog.selectedFiles()
    dialog.deleteLater()
    return Path(files[0]) if accepted and files else None


def guarded(window, title: str, write) -> None:
    """Run `write()`; show the cause in a message box when it fails."""
    try:
        write()
    except (DDXError, OSError) as exc:
        dialogs.show_error(window, title, str(exc))


def ask_open(window) -> None:
    paths, _ = QFileDialog.getOpenFileNames(window, "Open run", str(data_dir()), "DDX run files (*.h5)")
    for path in paths:
        window.open_run(path)


def ask_export_plot(window) -> None:
    view = window.current_view()
    path = ask_path(window, "Export plot", f"{view.title.lower().replace(' ', '-')}.png", PLOT_FILTER)
    if path:
        guarded(window, "Cannot export plot", lambda: export_plot(view, path))


def shown_run_file(window) -> str | None:
    """The shown run's file, or None after a dialog saying why there is none to read yet."""
    source = window.shown_run_path()
    if not source:
        dialogs.show_error(window, "No run", "Run an experiment or select a run file first.")
        return None
    if not Path(source).exists():
        dialogs.show_error(
            window,
            "Run file not written yet",
            f"The run is starting: {Path(source).name} is created when training begins. Try again in a moment.",
        )
        return None
    return source


def ask_figure(window) -> None:
    source = shown_run_file(window)
    if not source:
        return
    sources = window.shown_paths or [source]  # every selected run, overlaid; else the live one
    kind = window.current_view().figure_kind
    path = ask_path(window, "Publication figure", f"{Path(source).stem}-{kind}.pdf", FIGURE_FILTER)
    if path:
        guarded(window, "Cannot write figure", lambda: publication_figure([load_run(p) for p in sources], path, kind))


def ask_save_run(window) -> None:
    source = shown_run_file(window)
    if not source:
        return
    path = ask_path(window, "Save run as", Path(source).name, "DDX run files (*.h5)")
    if path:
        guarded(window, "Cannot save run", lambda: save_run_as(source, path))


def ask_export_config(window) -> None:
    cfg = window.panel.config()
    if cfg is None:
        dialogs.show_error(window, "Invalid config", "Fix the fields marked in red first.")
        return
    path = ask_path(window, "Export config", f"{cfg.run.name}.toml", "TOML preset (*.toml)")
    if path:
        guarded(window, "Cannot export config", lambda: export_config(cfg, path))


def table_filter() -> str:
    """CSV, and Parquet where pyarrow is installed."""
    return ";;".join(
        f for suffix, f in TABLE_FILTERS.items() if suffix == ".csv" or importlib.util.find_spec("pyarrow")
    )


def ask_export_runs(window, paths: list[str] | None = None) -> None:
    """Write the summary rows of `paths` (default: the runs selected in the browser) to one table."""
    paths = paths or window.browser.selected_paths()
    if not paths:
        dialogs.show_error(window, "No run selected", "Select one or more runs in the Runs list (Ctrl+click for more).")
        return
    path = ask_path(window, "Export selected runs", "runs.csv", table_filter())
    if not path:
        return

    def write() -> None:
        # the dialog has already asked before overwriting
        rows = export_summaries(paths, path, force=True)
        window.statusBar().showMessage(f"exported {rows} rows of {len(paths)} run(s) to {path}", 10_000)

    guarded(window, "Cannot export runs", write)
