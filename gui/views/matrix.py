"""A class-by-class matrix drawn as a heatmap with class ticks, a colorbar and hover values
(confusion and noise matrices)."""

import numpy as np
import pyqtgraph as pg

from gui.views.hover import CellHover, cell_value

COLORMAP = "viridis"
# Up to this many classes every cell also shows its value (at 10 classes a cell is still ~40 px wide).
MAX_ANNOTATED = 10
# Above this value viridis is light (green to yellow), so a cell's value is written in black, else white.
LIGHT = 0.5


class MatrixPlot:
    """One C × C matrix in a plot of a GraphicsLayoutWidget: rows are true classes, columns labels.

    Parameters
    ----------
    plot : pg.PlotItem
        The plot to draw into (row 0 at the top).
    x_label, y_label : str
        Axis titles; the hover label names a cell by them.
    """

    def __init__(self, plot: pg.PlotItem, x_label: str, y_label: str):
        self.plot = plot
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get(COLORMAP), label="share of the row", interactive=False, width=14
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.labels = (x_label, y_label)
        self.hover = CellHover(self.plot, self.describe)
        self.values = np.zeros((0, 0))
        self.cell_labels: list[pg.TextItem] = []

    def describe(self, column: int, row: int) -> str:
        """'true class 2 · predicted class 5' over 'share of the row 0.134' for the cell at (column, row)."""
        value = cell_value(self.values, column, row)
        x_label, y_label = self.labels
        return "" if value is None else f"{y_label} {row} · {x_label} {column}\nshare of the row {value:.3f}"

    def show(self, matrix: np.ndarray | None, title: str) -> None:
        """Draw `matrix` (values in [0, 1]) or clear the plot when it is None."""
        self.plot.setTitle(title)
        if matrix is None:
            self.image.clear()
            self.values = np.zeros((0, 0))
            self.annotate()
            return
        self.values = np.asarray(matrix, dtype=float)
        # ImageItem indexes [x, y]: transpose so columns run along x and rows down y
        self.image.setImage(self.values.T, levels=(0.0, 1.0))
        ticks = [(i + 0.5, str(i)) for i in range(len(self.values))]
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks([ticks])
        self.annotate()

    def annotate(self) -> None:
        """Write each cell's value in it (up to MAX_ANNOTATED classes; beyond, hover shows it)."""
        for label in self.cell_labels:
            self.plot.removeItem(label)
        self.cell_labels = []
        if len(self.values) > MAX_ANNOTATED:
            return
        for (row, column), value in np.ndenumerate(self.values):
            label = pg.TextItem(f"{value:.2f}", color="k" if value > LIGHT else "w", anchor=(0.5, 0.5))
            label.setPos(column + 0.5, row + 0.5)
            self.plot.addItem(label, ignoreBounds=True)
            self.cell_labels.append(label)
