"""A class-by-class matrix drawn as a heatmap with class ticks (confusion and noise matrices)."""

import numpy as np
import pyqtgraph as pg

COLORMAP = "viridis"


class MatrixPlot:
    """One C × C matrix in a plot of a GraphicsLayoutWidget: rows are true classes, columns labels.

    Parameters
    ----------
    plot : pg.PlotItem
        The plot to draw into (row 0 at the top).
    x_label, y_label : str
        Axis titles.
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
        self.values = np.zeros((0, 0))

    def show(self, matrix: np.ndarray | None, title: str) -> None:
        """Draw `matrix` (values in [0, 1]) or clear the plot when it is None."""
        self.plot.setTitle(title)
        if matrix is None:
            self.image.clear()
            self.values = np.zeros((0, 0))
            return
        self.values = np.asarray(matrix, dtype=float)
        # ImageItem indexes [x, y]: transpose so columns run along x and rows down y
        self.image.setImage(self.values.T, levels=(0.0, 1.0))
        ticks = [(i + 0.5, str(i)) for i in range(len(self.values))]
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks([ticks])
