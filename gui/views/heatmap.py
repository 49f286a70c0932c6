"""The heatmap of a two-axis sweep: a role's final test error on the grid, filling in as points finish."""

import math

import numpy as np
import pyqtgraph as pg

from engine.axes import format_value
from engine.results import axis_position
from engine.roles import MAIN_ROLES
from gui.views.base import PlotView, new_plot
from gui.views.hover import CellHover, cell_value

MAX_TICKS = 20  # labelled cells per axis; hover names every cell


class HeatmapView(PlotView):
    """Mean final test error over seeds for each (first axis, second axis) value pair."""

    title = "Heatmap"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.role = self.add_choice("role", MAIN_ROLES)
        self.controls.addStretch(1)
        self.graphics = new_plot("", "first axis", "second axis")
        self.plot = self.graphics.getPlotItem()
        self.plot.showGrid(x=False, y=False)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), label="test error")
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.layout_.addWidget(self.graphics, 1)
        self.values = np.zeros((0, 0))
        self.hover = CellHover(self.plot, self.describe)

    @staticmethod
    def available(state) -> bool:
        return len(state.results.axes) >= 2

    def options(self) -> tuple:
        return (self.role.currentText(),)

    def redraw(self) -> None:
        state = self.states[0][1] if self.states else None
        if state is None or not self.available(state):
            self.plot.setTitle("heatmap needs a two-axis sweep (sweep.axis and sweep.axis2)")
            self.image.clear()
            self.values = np.zeros((0, 0))
            return
        role = self.role.currentText()
        self.values = state.results.grid_values(role)
        self.plot.setTitle(f"{role} final test error — {state.name}")
        self.plot.setLabel("bottom", state.results.keys[0])
        self.plot.setLabel("left", state.results.keys[1])
        self.image.setImage(self.values, autoLevels=False)
        finite = self.values[np.isfinite(self.values)]
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            self.colorbar.setLevels((low, high if high > low else low + 1e-3))
        for side, axis in zip(("bottom", "left"), state.results.axes, strict=True):
            step = max(1, math.ceil(len(axis.values) / MAX_TICKS))  # a hundred labels would overlap
            ticks = [(i + 0.5, format_value(v)) for i, v in enumerate(axis.values) if i % step == 0]
            self.plot.getAxis(side).setTicks([ticks])

    def describe(self, column: int, row: int) -> str:
        """'teacher.width = 64 · student.width = 8' over 'teacher test error 0.231' for a cell of the grid."""
        state = self.states[0][1] if self.states else None
        value = cell_value(self.values.T, column, row)
        if state is None or value is None:
            return ""
        (first, second), role = state.results.axes, self.role.currentText()
        at = f"{first.key} = {format_value(first.values[column])} · {second.key} = {format_value(second.values[row])}"
        return f"{at}\n{role} test error {value:.3f}"

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each row of the grid (one first-axis value) as a curve over the second axis."""
        state = self.states[0][1] if self.states else None
        if state is None or not self.available(state) or not self.values.size:
            return {}
        first, second = state.results.axes
        role = self.role.currentText()
        rows = zip(first.values, self.values, strict=True)
        xs = np.array([axis_position(second, v) for v in second.values])  # a choice: its place on the axis
        return {f"{role}.test_error[{first.key}={format_value(v)}]": (xs, row) for v, row in rows}
