"""Hover values on heatmaps: the cell under the mouse and its value, in a label beside the cursor.

Labels take two short lines (the cell, then its value): a plot clips what reaches past its edge.
"""

import math
from collections.abc import Callable

import pyqtgraph as pg


class CellHover:
    """Shows `describe(column, row)` beside the mouse while it is over a cell of an image in `plot`.

    Parameters
    ----------
    plot : pg.PlotItem
        The plot holding the image, whose pixel (column, row) spans [column, column + 1) × [row, row + 1).
    describe : callable
        Text for the cell at (column, row), or '' where there is none (outside the data, no value yet).
    """

    def __init__(self, plot: pg.PlotItem, describe: Callable[[int, int], str]):
        self.plot, self.describe = plot, describe
        self.label = pg.TextItem(color="k", fill=pg.mkBrush(255, 255, 255, 230), border=pg.mkPen("#888888"))
        self.label.setZValue(1000)
        self.label.hide()
        plot.addItem(self.label, ignoreBounds=True)
        plot.scene().sigMouseMoved.connect(self.on_mouse_moved)

    def on_mouse_moved(self, position) -> None:
        if not self.plot.vb.sceneBoundingRect().contains(position):
            self.label.hide()
            return
        point = self.plot.vb.mapSceneToView(position)
        self.show_at(point.x(), point.y())

    def show_at(self, x: float, y: float) -> str:
        """Show the label for the cell at view coordinates (x, y); return its text ('' hides it)."""
        column, row = math.floor(x), math.floor(y)
        text = self.describe(column, row) if column >= 0 and row >= 0 else ""
        if not text:
            self.label.hide()
            return ""
        (left, right), (bottom, top) = self.plot.vb.viewRange()
        # open towards the middle of the plot, so the label stays inside it
        self.label.setAnchor((1 if x > (left + right) / 2 else 0, 1 if self.y_up(y, bottom, top) else 0))
        self.label.setText(text)
        self.label.setPos(x, y)
        self.label.show()
        return text

    def y_up(self, y: float, bottom: float, top: float) -> bool:
        """Whether the label goes above the cursor: when the cursor is in the lower half on screen."""
        lower = y < (bottom + top) / 2
        return not lower if self.plot.vb.yInverted() else lower


def cell_value(values, column: int, row: int) -> float | None:
    """values[row, column] when inside the matrix and finite, else None."""
    if row >= len(values) or column >= len(values[row]):
        return None
    value = float(values[row][column])
    return value if math.isfinite(value) else None
