"""The sweep plot: final test error against the swept key, mean ± std over seeds per role."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox

from gui.palette import BAYES_COLOR, RUN_STYLES, THRESHOLD_COLOR, role_color, role_label
from gui.views.base import PlotView, new_plot

PEN_STYLES = {
    "solid": Qt.PenStyle.SolidLine,
    "dash": Qt.PenStyle.DashLine,
    "dot": Qt.PenStyle.DotLine,
    "dashdot": Qt.PenStyle.DashDotLine,
}


class SweepView(PlotView):
    """Final test error vs the first sweep axis; overlaid runs differ by line style.

    A vertical line marks the interpolation threshold (first value where the teacher's train error is
    0) and a horizontal line the Bayes-optimal error when the data know it.
    """

    title = "Sweep"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_x = QCheckBox("log x axis")
        self.log_x.setChecked(True)
        self.log_x.toggled.connect(self.invalidate)
        self.controls.addWidget(self.log_x)
        self.controls.addStretch(1)
        self.graphics = new_plot("", "sweep value", "final test error")
        self.plot = self.graphics.getPlotItem()
        self.layout_.addWidget(self.graphics, 1)
        self.threshold = pg.InfiniteLine(angle=90, pen=pg.mkPen(THRESHOLD_COLOR, width=2, style=Qt.PenStyle.DashLine))
        self.bayes = pg.InfiniteLine(angle=0, pen=pg.mkPen(BAYES_COLOR, width=2, style=Qt.PenStyle.DotLine))
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.use_log = False

    def options(self) -> tuple:
        return (self.log_x.isChecked(),)

    def redraw(self) -> None:
        self.plot.clear()
        self.plot.legend.clear()
        self.series = {}
        self.use_log = self.log_x.isChecked() and self.positive_axis()
        self.plot.setLogMode(x=self.use_log, y=False)
        if not self.states or not self.states[0][1].axes:
            self.plot.setTitle("no sweep axis: a single point (see learning curves)")
            return
        main = self.states[0][1]
        self.plot.setLabel("bottom", main.axes[0])
        self.plot.setTitle(" vs ".join(label for label, _ in self.states))
        for slot, (label, state) in enumerate(self.states):
            for role in state.roles:
                self.draw_role(slot, label, state, role)
        self.draw_markers(main)
        self.fit_range()

    def fit_range(self) -> None:
        """Frame the data; the fill items' bounds include the origin, which would squash the curves."""
        names = [n.removesuffix("_mean") for n in self.series if n.endswith("_mean")]
        if not names:
            return
        xs = np.concatenate([self.series[f"{n}_mean"][0] for n in names])
        means = [self.series[f"{n}_mean"][1] for n in names]
        stds = [self.series[f"{n}_std"][1] for n in names]
        low = min(float(np.nanmin(m - s)) for m, s in zip(means, stds, strict=True))
        high = max(float(np.nanmax(m + s)) for m, s in zip(means, stds, strict=True))
        x = np.log10(xs) if self.use_log else xs
        self.plot.getViewBox().setRange(xRange=(x.min(), x.max()), yRange=(low, high), padding=0.08)

    def positive_axis(self) -> bool:
        return all(min(s.grid[0], default=1) > 0 for _, s in self.states if s.grid)

    def draw_role(self, slot: int, label: str, state, role: str) -> None:
        xs, mean, std = state.sweep_stats(role)
        if not len(xs):
            return
        color = role_color(role)
        style = PEN_STYLES[RUN_STYLES[slot % len(RUN_STYLES)]]
        name = role_label(role) if len(self.states) == 1 else f"{role_label(role)} · {label}"
        lower = self.plot.plot(xs, mean - std, pen=None)
        upper = self.plot.plot(xs, mean + std, pen=None)
        band = QColor(color)
        band.setAlpha(50)
        fill = pg.FillBetweenItem(lower, upper, brush=band)
        self.plot.addItem(fill)
        pen = pg.mkPen(color, width=2, style=style)
        self.plot.plot(xs, mean, pen=pen, symbol="o", symbolSize=6, symbolBrush=color, name=name)
        self.series[f"{label}.{role}.test_error_mean"] = (xs, mean)
        self.series[f"{label}.{role}.test_error_std"] = (xs, std)

    def draw_markers(self, state) -> None:
        threshold = state.interpolation_threshold()
        if threshold is not None:
            self.threshold.setPos(np.log10(threshold) if self.use_log else threshold)
            self.plot.addItem(self.threshold)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.threshold.pen), "interpolation threshold")
        bayes = state.bayes_error
        if bayes is not None:
            self.bayes.setPos(bayes)
            self.plot.addItem(self.bayes)
            self.plot.legend.addItem(pg.PlotDataItem(pen=self.bayes.pen), "Bayes-optimal error")

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return dict(self.series)
