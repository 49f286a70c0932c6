"""Publication figures with matplotlib (Agg canvas, no Qt): sweep or learning curves of a run file."""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.errors import OutputError
from engine.results import Results
from engine.roles import is_model_role
from engine.runfile import RunData, best_epoch
from gui.palette import (
    BAYES_COLOR,
    SERIES_SYMBOLS,
    THRESHOLD_COLOR,
    role_color,
    role_label,
    shade,
    sweep_axis_label,
)

# matplotlib's names for the pyqtgraph symbols of SERIES_SYMBOLS.
MPL_MARKERS = {"t": "v", "d": "D", "star": "*"}


def sweep_role(ax, results: Results, role: str, metric: str) -> None:
    """One role's mean ± std over seeds; one curve per value of a split second axis, in shades."""
    seconds = results.second_values()
    for index, second in enumerate(seconds):
        xs, mean, std = results.sweep_stats(role, metric, second)
        if not len(xs):
            continue
        color = shade(role_color(role), index, len(seconds))
        label = role_label(role)
        if second is None:
            style = "o-" if is_model_role(role) else "--"
        else:
            symbol = SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]
            style = MPL_MARKERS.get(symbol, symbol) + ("-" if is_model_role(role) else "--")
            label += f" · {results.keys[1]} = {second:g}"
        ax.plot(xs, mean, style, color=color, lw=1.5, ms=4, label=label)
        ax.fill_between(xs, mean - std, mean + std, color=color, alpha=0.2, lw=0)


def draw_sweep(ax, run: RunData) -> None:
    """The metric the reference roles predict (else test error) per role; references dashed."""
    results = Results.from_run(run)
    metric = results.reference_metric() or "test_error"
    for role in results.roles:
        sweep_role(ax, results, role, metric)
    threshold = results.interpolation_threshold()
    if threshold is not None:
        ax.axvline(threshold, color=THRESHOLD_COLOR, ls="--", lw=1, label="interpolation threshold")
    if results.bayes_error is not None and metric == "test_error":
        ax.axhline(results.bayes_error, color=BAYES_COLOR, ls=":", lw=1, label="Bayes-optimal error")
    first = results.axes[0]
    if min(first.values, default=0) > 0:
        ax.set_xscale("log")
    ax.set_xlabel(first.key)
    ax.set_ylabel(sweep_axis_label(metric))


def mark_best_epoch(ax, role: str, curves: dict) -> None:
    """A star on the role's test error at its lowest validation error, when it has one."""
    if "val_error" not in curves:
        return
    epoch, test = best_epoch(curves["epoch"], curves["val_error"], curves["test_error"])
    if np.isfinite(epoch):
        label = f"{role_label(role)} best epoch (validation)"
        ax.plot([epoch], [test], "*", color=role_color(role), ms=7, mec="black", mew=0.4, label=label)


def draw_curves(ax, run: RunData, point: int) -> None:
    record = run.points[point]
    for role, curves in record.curves.items():
        if not is_model_role(role):
            continue  # a reference is one value per point, drawn on the sweep
        color = role_color(role)
        ax.plot(curves["epoch"], curves["test_error"], "-", color=color, lw=1.5, label=f"{role_label(role)} test")
        ax.plot(curves["epoch"], curves["train_error"], "--", color=color, lw=1, label=f"{role_label(role)} train")
        mark_best_epoch(ax, role, curves)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error")
    values = ", ".join(f"{k} = {v:g}" for k, v in record.values.items())
    ax.set_title(f"point {record.index + 1}, seed {record.seed}" + (f", {values}" if values else ""), fontsize=9)


def publication_figure(run: RunData, path: str | Path, kind: str = "sweep", point: int = -1) -> None:
    """Write a single-column figure (3.4 × 2.6 in) of `run` to `path`; the suffix picks PDF, SVG or PNG.

    Parameters
    ----------
    kind : "sweep" (final test error vs the sweep axis; falls back to curves without a sweep axis)
        or "curves" (learning curves of one point)
    point : which point's learning curves, by position in `run.points` (default the last)
    """
    path = Path(path)
    if path.suffix.lower() not in (".pdf", ".svg", ".png"):
        raise OutputError(f"cannot write {path}: a figure is .pdf, .svg or .png")
    if not run.points:
        raise OutputError(f"{run.path} has no finished point to draw")
    fig = Figure(figsize=(3.4, 2.6), dpi=300, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if kind == "sweep" and run.axes:
        draw_sweep(ax, run)
    else:
        draw_curves(ax, run, point)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(fontsize=6, frameon=False)
    ax.tick_params(labelsize=7)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    try:
        fig.savefig(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
