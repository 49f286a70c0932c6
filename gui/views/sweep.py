"""The sweep plot: a final metric against the swept key, mean ± std over seeds per role (and per value of
a second swept key)."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
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
    know it.
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
        self.plot.clear()
        self.plot.legend.clear()
        self.series, self.bands, self.bars = {}, [], []
        metric = self.update_metrics()
        self.use_log = self.log_x.isChecked() and self.positive_axis()
        self.plot.setLogMode(x=self.use_log, y=False)
        if not self.states or not self.states[0][1].results.axes:
            self.plot.setTitle("no sweep axis: a single point (see learning curves)")
            return
        main = self.states[0][1].results
        self.plot.setLabel("bottom", main.keys[0])
        self.plot.setLabel("left", sweep_axis_label(metric))
        self.plot.setTitle(" vs ".join(label for label, _ in self.states))
        for slot, (label, state) in enumerate(self.states):
            results = state.results
            for role in results.roles:
                for shade_index, second in enumerate(results.second_values()):
                    self.draw_role(slot, label, results, role, metric, (shade_index, second))
        self.draw_markers(main, metric)
        self.plot.getAxis("bottom").setTicks(bottom_ticks(main.axes[0], self.use_log))
        self.fit_range()

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

    def draw_role(self, slot: int, label: str, results, role: str, metric: str, series: tuple) -> None:
        """One role's curve and seed band; `series` is (index, value) of the second axis, value None
        when the second axis is not split."""
        index, second = series
        xs, mean, std = results.sweep_stats(role, metric, second)
        if not len(xs):
            return
        count = len(results.second_values())
        color = shade(role_color(role), index, count)
        reference = not is_model_role(role)
        curve = (
            role_label(role) if second is None else f"{role_label(role)} · {results.keys[1]} = {format_value(second)}"
        )
        name = curve if len(self.states) == 1 else f"{curve} · {label}"
        symbol = series_symbol(index) if second is not None else (None if reference else "o")
        if results.axes[0].categorical:
            order = (slot * len(results.roles) + results.roles.index(role)) * count + index
            shift = side_by_side(order, len(self.states) * len(results.roles) * count)
            self.draw_points(xs + shift, mean, std, color, symbol or "o", name)
        else:
            style = PEN_STYLES["dash" if reference else RUN_STYLES[slot % len(RUN_STYLES)]]
            self.draw_curve(xs, mean, std, pg.mkPen(color, width=2, style=style), symbol, name)
        key = f"{label}.{series_key(role, results, second)}.{metric}"
        self.series[f"{key}_mean"] = (xs, mean)
        self.series[f"{key}_std"] = (xs, std)

    def draw_curve(self, xs, mean, std, pen, symbol: str | None, name: str) -> None:
        """A numeric axis: the mean as a line through the swept values, the seeds' spread as a band."""
        color = pen.color().name()
        if std.any():
            fill = band(np.log10(xs) if self.use_log else xs, mean - std, mean + std, color)
            self.plot.addItem(fill)
            self.bands.append(fill)
        self.plot.plot(xs, mean, pen=pen, symbol=symbol, symbolSize=6, symbolBrush=color, name=name)

    def draw_points(self, xs, mean, std, color: str, symbol: str, name: str) -> None:
        """Choices side by side: a point per choice with its seed bar (mean ± std), no line between them."""
        bars = pg.ErrorBarItem(x=xs, y=mean, height=2 * std, beam=0.04, pen=pg.mkPen(color, width=2))
        self.plot.addItem(bars)
        self.bars.append(bars)
        self.plot.plot(xs, mean, pen=None, symbol=symbol, symbolSize=9, symbolBrush=color, name=name)

    def draw_markers(self, results, metric: str) -> None:
        threshold = results.interpolation_threshold()
        if threshold is not None:
            self.threshold.setPos(np.log10(threshold) if self.use_log else threshold)
            self.plot.addItem(self.threshold)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.threshold.pen), "interpolation threshold")
        bayes = results.bayes_error
        if bayes is not None and metric == "test_error":
            self.bayes.setPos(bayes)
            self.plot.addItem(self.bayes)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.bayes.pen), "Bayes-optimal error")

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return dict(self.series)
