"""The sweep plot: a final metric against the swept key, mean ± std over seeds per role (and per value of
a second swept key)."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel

from engine.axes import format_value
from engine.roles import is_model_role
from gui.palette import (
    BAYES_COLOR,
    RUN_STYLES,
    SERIES_SYMBOLS,
    THRESHOLD_COLOR,
    metric_label,
    role_color,
    role_label,
    shade,
    side_by_side,
    sweep_axis_label,
)
from gui.views.base import PlotView, new_plot

PEN_STYLES = {
    "solid": Qt.PenStyle.SolidLine,
    "dash": Qt.PenStyle.DashLine,
    "dot": Qt.PenStyle.DotLine,
    "dashdot": Qt.PenStyle.DashDotLine,
}
DEFAULT_METRIC = "test_error"
MAX_LABELLED_VALUES = 8
MAX_SERIES = 8  # curves per role for a second axis; more are unreadable (the heatmap shows every value)
MAX_SYMBOLS = 60  # beyond this many swept values a curve draws no symbols (they would cover it, and cost)
TURN_BUDGET = 4.0  # curves added per event-loop turn, by weight: a short curve 1, 100 more values 1 more


def weight(curve: tuple) -> float:
    """What adding and repainting one curve costs, in short curves (about 5–10 ms each on 2 cores)."""
    return 1.0 + len(curve[0][0]) / 100


MAX_DRAWN = 250  # beyond this many swept values a curve is drawn as means of neighbouring bins


def binned(most: int, xs: np.ndarray, *ys: np.ndarray) -> list[np.ndarray]:
    """`xs` and each of `ys` averaged over `most` runs of neighbouring values (as they are, when fewer).

    A plot a thousand pixels wide cannot show more values, and filling the band of thousands of
    them blocks the window for a second; the CSV export keeps every value.
    """
    if len(xs) <= most:
        return [xs, *ys]
    starts = np.linspace(0, len(xs), most, endpoint=False).astype(int)
    counts = np.diff(np.append(starts, len(xs)))
    return [np.add.reduceat(a, starts) / counts for a in (xs, *ys)]


def thinned(values: list, most: int) -> list:
    """At most `most` of `values`, evenly spaced, first and last included."""
    if len(values) <= most:
        return values
    return [values[round(i)] for i in np.linspace(0, len(values) - 1, most)]


def log_ticks(values: list[float]) -> list[tuple[float, str]]:
    """Labelled ticks for a log axis (positions in log10): the swept values when few, else 1-2-5 steps."""
    values = sorted(v for v in values if v > 0)
    if len(values) > MAX_LABELLED_VALUES:
        low, high = np.floor(np.log10(values[0])), np.ceil(np.log10(values[-1]))
        steps = [m * 10**e for e in np.arange(low, high + 1) for m in (1, 2, 5)]
        values = [v for v in steps if values[0] <= v <= values[-1]]
        if len(values) > MAX_LABELLED_VALUES:
            values = [v for v in values if f"{v:g}".lstrip("0.")[0] == "1"]
    return [(float(np.log10(v)), f"{v:g}") for v in values]


def band(x: np.ndarray, low: np.ndarray, high: np.ndarray, color: str) -> pg.FillBetweenItem:
    """The area between `low` and `high`; x is in view coordinates (already log10 on a log axis).

    Plain curve items, not the plot's data items: those would need a pen to hold a path and would be
    log-mapped a second time.
    """
    brush = QColor(color)
    brush.setAlpha(60)
    return pg.FillBetweenItem(pg.PlotCurveItem(x, low), pg.PlotCurveItem(x, high), brush=brush)


def series_symbol(index: int) -> str:
    """The symbol of the index-th value of a second sweep axis."""
    return SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]


def series_key(role: str, results, second: float | str | None) -> str:
    """A curve's name in the CSV export: 'teacher', or 'teacher[data.noise=0.2]' per second-axis value."""
    return role if second is None else f"{role}[{results.keys[1]}={format_value(second)}]"


def bottom_ticks(axis, use_log: bool) -> list | None:
    """The x axis's labelled ticks: a choice's name at its place, log ticks, or pyqtgraph's own (None)."""
    if axis.categorical:
        return [[(float(i), format_value(v)) for i, v in enumerate(axis.values)]]
    return [log_ticks(axis.values)] if use_log else None


class SweepView(PlotView):
    """A final metric vs the first sweep axis; overlaid runs differ by line style.

    A second sweep axis gets one curve per value and role, in shades of the role colour with their
    own symbols, its band spanning seeds only. Closed-form reference roles (theory, ridgeless,
    Bayes-optimal errors) are dashed; a run holding them opens on the metric they predict. When the
    first axis is a choice (distill.mode, …), the choices stand side by side, each role a point with
    its seed bar. When the first axis is a size of the teacher, a vertical line marks the interpolation threshold (first size
    where the teacher's train error is 0) and a horizontal line the Bayes-optimal error when the data
    know it. On an n_train sweep of the Gaussian mixture, labelled dotted lines mark α_I, α_S and α̃_S.
    """

    title = "Sweep"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.metric = QComboBox()
        self.metric.setMinimumContentsLength(16)
        self.metric.currentIndexChanged.connect(self.choose)
        self.log_x = QCheckBox("log x axis")
        self.log_x.setChecked(True)
        self.log_x.toggled.connect(self.invalidate)
        self.controls.addWidget(QLabel("metric"))
        self.controls.addWidget(self.metric)
        self.controls.addWidget(self.log_x)
        self.controls.addStretch(1)
        self.graphics = new_plot("", "sweep value", "final test error")
        self.plot = self.graphics.getPlotItem()
        self.layout_.addWidget(self.graphics, 1)
        self.threshold = pg.InfiniteLine(angle=90, pen=pg.mkPen(THRESHOLD_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self.bayes = pg.InfiniteLine(angle=0, pen=pg.mkPen(BAYES_COLOR, width=2, style=Qt.PenStyle.DotLine))
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.bands: list[pg.FillBetweenItem] = []
        self.pending: list[tuple] = []
        self.markers: tuple | None = None  # (results, metric) whose markers wait for the curves
        self.scheduled = False  # a turn of drawing is waiting in the event loop
        self.bars: list[pg.ErrorBarItem] = []
        self.use_log = False
        self.chosen = ""

    def show_states(self, states) -> None:
        super().show_states(states)
        self.chosen = ""

    def options(self) -> tuple:
        return (self.log_x.isChecked(), self.current_metric())

    def current_metric(self) -> str:
        """The metric name of the combo's choice (the combo shows its label)."""
        return self.metric.currentData() or ""

    def choose(self, _index: int) -> None:
        """A metric chosen in the combo (refills block its signals, so this is always a choice)."""
        self.chosen = self.current_metric()
        self.invalidate()

    def update_metrics(self) -> str:
        """Offer the shown runs' metrics; keep the chosen one, else open on the references' metric."""
        offered = sorted({m for _, s in self.states for m in s.results.metrics} | {DEFAULT_METRIC})
        main = self.states[0][1].results if self.states else None
        default = (main.reference_metric() if main else None) or DEFAULT_METRIC
        metric = self.chosen if self.chosen in offered else default
        items = [self.metric.itemData(i) for i in range(self.metric.count())]
        if items != offered or metric != self.current_metric():
            self.metric.blockSignals(True)
            self.metric.clear()
            for name in offered:
                self.metric.addItem(metric_label(name), name)
            self.metric.setCurrentIndex(offered.index(metric))
            self.metric.blockSignals(False)
        return metric

    def redraw(self) -> None:
        """Compute every curve and frame them, then add the plot items a few curves per event-loop turn.

        A 100 × 100 sweep has dozens of curves; adding them all at once would block the window.
        """
        self.plot.clear()
        self.plot.legend.clear()
        self.series, self.bands, self.bars, self.pending, self.markers = {}, [], [], [], None
        self.plot.getAxis("bottom").setTicks(None)
        metric = self.update_metrics()
        self.use_log = self.log_x.isChecked() and self.positive_axis()
        self.plot.setLogMode(x=self.use_log, y=False)
        if not self.states or not self.states[0][1].results.axes:
            self.plot.setTitle("no sweep axis: a single point (see learning curves)")
            return
        main = self.states[0][1].results
        self.plot.setLabel("bottom", main.keys[0])
        self.plot.setLabel("left", sweep_axis_label(metric))
        self.plot.setTitle(self.title_of(main))
        for slot, (label, state) in enumerate(self.states):
            results = state.results
            for role in results.roles:
                for shade_index, second in enumerate(thinned(results.second_values(), MAX_SERIES)):
                    self.pending += self.curve(slot, label, results, role, metric, (shade_index, second))
        self.plot.getAxis("bottom").setTicks(bottom_ticks(main.axes[0], self.use_log))
        self.fit_range()
        self.markers = (main, metric)
        if sum(map(weight, self.pending)) <= TURN_BUDGET:
            self.draw_pending()
        else:  # the axes paint first; the curves follow, a few per event-loop turn
            self.next_turn()

    def next_turn(self) -> None:
        """Draw the next few curves at the next event-loop turn; one such turn is waiting at most."""
        if not self.scheduled:
            self.scheduled = True
            QTimer.singleShot(0, self, self.on_turn)

    def on_turn(self) -> None:
        self.scheduled = False
        self.draw_pending()

    def title_of(self, main) -> str:
        title = " vs ".join(label for label, _ in self.states)
        seconds = main.second_values()
        if len(seconds) > MAX_SERIES:
            title += f" ({MAX_SERIES} of {len(seconds)} values of {main.keys[1]}; the heatmap shows all)"
        if len(main.axes[0].values) > MAX_DRAWN:
            title += f" (drawn as {MAX_DRAWN} bins of neighbouring values; Export CSV has each)"
        return title

    def draw_pending(self) -> None:
        """Add the next few curves' items; the markers once every curve is drawn."""
        batch, spent = [], 0.0
        while self.pending and (not batch or spent + weight(self.pending[0]) <= TURN_BUDGET):
            spent += weight(self.pending[0])
            batch.append(self.pending.pop(0))
        for curve in batch:
            self.draw_curve(*curve)
        if self.pending:
            self.next_turn()
        elif self.markers is not None:
            self.draw_markers(*self.markers)
            self.markers = None

    def settle(self) -> None:
        while self.pending or self.markers is not None:
            self.draw_pending()

    def fit_range(self) -> None:
        """Frame the curves and their bands."""
        names = [n.removesuffix("_mean") for n in self.series if n.endswith("_mean")]
        if not names:
            return
        xs = np.concatenate([self.series[f"{n}_mean"][0] for n in names])
        means = [self.series[f"{n}_mean"][1] for n in names]
        stds = [self.series[f"{n}_std"][1] for n in names]
        low = min(float(np.min(m - s)) for m, s in zip(means, stds, strict=True))
        high = max(float(np.max(m + s)) for m, s in zip(means, stds, strict=True))
        x = np.log10(xs) if self.use_log else xs
        if high <= low:
            low, high = low - 0.01, high + 0.01
        # choices stand side by side around their places: leave them half a place each side
        margin = 0.5 if self.states[0][1].results.axes[0].categorical else 0.0
        x_range = (x.min() - margin, x.max() + margin)
        self.plot.getViewBox().setRange(xRange=x_range, yRange=(low, high), padding=0.08)

    def positive_axis(self) -> bool:
        axes = [s.results.axes[0] for _, s in self.states if s.results.axes]
        return all(not a.categorical and min(a.values, default=1) > 0 for a in axes)

    def curve(self, slot: int, label: str, results, role: str, metric: str, series: tuple) -> list[tuple]:
        """One role's curve (mean over seeds) for the export, and how to draw it; `series` is (index, value)
        of the second axis, value None when the second axis is not split."""
        index, second = series
        xs, mean, std = results.sweep_stats(role, metric, second)
        if not len(xs):
            return []
        key = f"{label}.{series_key(role, results, second)}.{metric}"
        self.series[f"{key}_mean"] = (xs, mean)
        self.series[f"{key}_std"] = (xs, std)
        count = min(len(results.second_values()), MAX_SERIES)  # the series drawn per role
        color = shade(role_color(role), index, count)
        reference = not is_model_role(role)
        curve = (
            role_label(role) if second is None else f"{role_label(role)} · {results.keys[1]} = {format_value(second)}"
        )
        name = curve if len(self.states) == 1 else f"{curve} · {label}"
        symbol = series_symbol(index) if second is not None else (None if reference else "o")
        if results.axes[0].categorical:
            roles = results.roles
            order = (slot * len(roles) + roles.index(role)) * count + index
            shift = side_by_side(order, len(self.states) * len(roles) * count)
            return [((xs + shift, mean, std), color, None, symbol or "o", name)]
        style = PEN_STYLES["dash" if reference else RUN_STYLES[slot % len(RUN_STYLES)]]
        return [(binned(MAX_DRAWN, xs, mean, std), color, style, symbol, name)]

    def draw_curve(self, data: list[np.ndarray], color: str, style, symbol: str | None, name: str) -> None:
        """A numeric axis: the mean as a line through the swept values, the seeds' spread as a band;
        choices (style None): a point per choice with its seed bar (mean ± std), no line between them."""
        x, y, spread = data
        if style is None:
            bars = pg.ErrorBarItem(x=x, y=y, height=2 * spread, beam=0.04, pen=pg.mkPen(color, width=2))
            self.plot.addItem(bars)
            self.bars.append(bars)
            self.plot.plot(x, y, pen=None, symbol=symbol, symbolSize=9, symbolBrush=color, name=name)
            return
        if spread.any():
            fill = band(np.log10(x) if self.use_log else x, y - spread, y + spread, color)
            self.plot.addItem(fill)
            self.bands.append(fill)
        pen = pg.mkPen(color, width=2, style=style)
        symbol = symbol if len(x) <= MAX_SYMBOLS else None
        self.plot.plot(x, y, pen=pen, symbol=symbol, symbolSize=6, symbolBrush=color, name=name)

    def draw_markers(self, results, metric: str) -> None:
        threshold = results.interpolation_threshold()
        if threshold is not None:
            self.threshold.setPos(np.log10(threshold) if self.use_log else threshold)
            self.plot.addItem(self.threshold)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.threshold.pen), "interpolation threshold")
        for row, (label, position) in enumerate(results.sample_ratio_markers().items()):
            pen = pg.mkPen(THRESHOLD_COLOR, width=1, style=Qt.PenStyle.DotLine)
            short = label.split(" (")[0]
            options = {"position": 0.92 - 0.08 * row, "color": THRESHOLD_COLOR, "anchors": [(0, 0), (0, 0)]}
            line = pg.InfiniteLine(
                np.log10(position) if self.use_log else position, 90, pen, label=short, labelOpts=options
            )
            self.plot.addItem(line)
            self.plot.legend.addItem(pg.PlotDataItem(pen=pen), label)
        bayes = results.bayes_error
        if bayes is not None and metric == "test_error":
            self.bayes.setPos(bayes)
            self.plot.addItem(self.bayes)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.bayes.pen), "Bayes-optimal error")

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return dict(self.series)
