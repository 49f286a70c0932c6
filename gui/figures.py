"""Publication figures with matplotlib (Agg canvas, no Qt): sweep or learning curves of run files,
several runs overlaid (each its own line style, named in the legend)."""

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.axes import format_value
from engine.errors import OutputError
from engine.results import Results
from engine.roles import is_model_role
from engine.runfile import RunData, best_epoch
from gui.palette import (
    BAYES_COLOR,
    RUN_STYLES,
    SERIES_SYMBOLS,
    THRESHOLD_COLOR,
    role_color,
    role_label,
    shade,
    side_by_side,
    sweep_axis_label,
)

# matplotlib's names for the pyqtgraph symbols of SERIES_SYMBOLS and the line styles of RUN_STYLES.
MPL_MARKERS = {"t": "v", "d": "D", "star": "*"}
MPL_LINES = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-."}


def run_line(slot: int) -> str:
    """The line style of the `slot`-th overlaid run's model roles (the first solid)."""
    return MPL_LINES[RUN_STYLES[slot % len(RUN_STYLES)]]


def run_name(run: RunData) -> str:
    return Path(run.path).stem


def sweep_role(ax, results: Results, role: str, metric: str, slot: int = 0, name: str = "") -> None:
    """One role's mean ± std over seeds; one curve per value of a split second axis, in shades.

    `slot` > 0 (a run overlaid on the first) draws model roles in that run's line style; `name` joins the label.
    """
    seconds = results.second_values()
    for index, second in enumerate(seconds):
        xs, mean, std = results.sweep_stats(role, metric, second)
        if not len(xs):
            continue
        color = shade(role_color(role), index, len(seconds))
        label = role_label(role)
        line = run_line(slot) if is_model_role(role) else "--"
        if second is None:
            marker = "o" if is_model_role(role) else ""
        else:
            symbol = SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]
            marker = MPL_MARKERS.get(symbol, symbol)
            label += f" · {results.keys[1]} = {format_value(second)}"
        label += f" · {name}" if name else ""
        if results.axes[0].categorical:  # choices side by side: points with seed bars, no line between them
            shift = side_by_side(results.roles.index(role) * len(seconds) + index, len(results.roles) * len(seconds))
            ax.errorbar(xs + shift, mean, std, marker=marker or "o", ls="", color=color, ms=5, capsize=3, label=label)
            continue
        ax.plot(xs, mean, marker=marker, ls=line, color=color, lw=1.5, ms=4, label=label)
        ax.fill_between(xs, mean - std, mean + std, color=color, alpha=0.2 if slot == 0 else 0.1, lw=0)


def draw_sweep(ax, run: RunData, slot: int = 0, name: str = "") -> None:
    """The metric the reference roles predict (else test error) per role; references dashed.

    With `name`, a run overlaid in position `slot`: its curves, threshold and Bayes error name it.
    """
    results = Results.from_run(run)
    metric = results.reference_metric() or "test_error"
    for role in results.roles:
        sweep_role(ax, results, role, metric, slot, name)
    suffix = f" · {name}" if name else ""
    threshold = results.interpolation_threshold()
    if threshold is not None:
        ax.axvline(
            threshold, color=THRESHOLD_COLOR, ls=run_line(slot + 1), lw=1, label="interpolation threshold" + suffix
        )
    if results.bayes_error is not None and metric == "test_error":
        ax.axhline(results.bayes_error, color=BAYES_COLOR, ls=":", lw=1, label="Bayes-optimal error" + suffix)
    draw_sample_ratio_markers(ax, results, name)
    first = results.axes[0]
    if first.categorical:
        ax.set_xticks(range(len(first.values)), first.values)
    elif min(first.values, default=0) > 0:
        ax.set_xscale("log")
    ax.set_xlabel(first.key)
    ax.set_ylabel(sweep_axis_label(metric))


def draw_sample_ratio_markers(ax, results: Results, name: str = "") -> None:
    """The α-thresholds of an n_train sweep as dotted vertical lines, each labelled at the top as in the
    app (α_I = η, α_S, α̃_S); their long labels stay out of the legend, which the roles already fill."""
    for label, position in results.sample_ratio_markers().items():
        short = label.split(" (")[0] + (f" · {name}" if name else "")
        ax.axvline(position, color=THRESHOLD_COLOR, ls=":", lw=1)
        top = ax.get_xaxis_transform()  # x in data, y as a fraction of the axes' height
        ax.text(
            position, 0.98, short, transform=top, rotation=90, ha="right", va="top", fontsize=6, color=THRESHOLD_COLOR
        )


def mark_best_epoch(ax, role: str, curves: dict, name: str = "") -> None:
    """A star on the role's test error at its lowest validation error, when it has one."""
    if "val_error" not in curves:
        return
    epoch, test = best_epoch(curves["epoch"], curves["val_error"], curves["test_error"])
    if np.isfinite(epoch):
        label = f"{role_label(role)} best epoch (validation)" + (f" · {name}" if name else "")
        ax.plot([epoch], [test], "*", color=role_color(role), ms=7, mec="black", mew=0.4, label=label)


def point_title(record) -> str:
    values = ", ".join(f"{k} = {format_value(v)}" for k, v in record.values.items())
    return f"point {record.index + 1}, seed {record.seed}" + (f", {values}" if values else "")


def draw_curves(ax, run: RunData, point: int, slot: int = 0, name: str = "") -> None:
    """Test (solid) and train (dashed) error of one point's model roles; an overlaid run (`slot` > 0,
    named `name`) draws its test error in its own line style and leaves out its train error."""
    record = run.points[point]
    suffix = f" · {name}" if name else ""
    for role, curves in record.curves.items():
        if not is_model_role(role):
            continue  # a reference is one value per point, drawn on the sweep
        color = role_color(role)
        test = f"{role_label(role)} test{suffix}"
        ax.plot(curves["epoch"], curves["test_error"], ls=run_line(slot), color=color, lw=1.5, label=test)
        if slot == 0:
            train = f"{role_label(role)} train{suffix}"
            ax.plot(curves["epoch"], curves["train_error"], "--", color=color, lw=1, label=train)
        mark_best_epoch(ax, role, curves, name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error")
    ax.set_title(
        point_title(record) if not name else f"{point_title(record)} of {name}" if slot == 0 else "", fontsize=9
    )


def publication_figure(runs: RunData | list[RunData], path: str | Path, kind: str = "sweep", point: int = -1) -> None:
    """Write a single-column figure (3.4 × 2.6 in) of one run, or several overlaid, to `path`; the suffix
    picks PDF, SVG or PNG.

    Parameters
    ----------
    runs : one run, or several: the first solid, the others dashed, dotted, …, each named in the legend
    kind : "sweep" (final test error vs the sweep axis; falls back to curves without a sweep axis)
        or "curves" (learning curves of one point of each run)
    point : which point's learning curves, by position in each run's `points` (default the last)
    """
    path = Path(path)
    runs = [runs] if isinstance(runs, RunData) else list(runs)
    if path.suffix.lower() not in (".pdf", ".svg", ".png"):
        raise OutputError(f"cannot write {path}: a figure is .pdf, .svg or .png")
    for run in runs:
        if not run.points:
            raise OutputError(f"{run.path} has no finished point to draw")
    fig = Figure(figsize=(3.4, 2.6), dpi=300, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    sweep = kind == "sweep" and all(run.axes for run in runs)
    for slot, run in enumerate(runs):
        name = run_name(run) if len(runs) > 1 else ""
        if sweep:
            draw_sweep(ax, run, slot, name)
        else:
            draw_curves(ax, run, point, slot, name)
    if not sweep:
        records = [run.points[point] for run in runs]
        title = point_title(records[0]) if len(runs) == 1 else ", ".join(f"point {r.index + 1}" for r in records)
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(fontsize=6, frameon=False)
    ax.tick_params(labelsize=7)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    try:
        fig.savefig(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
