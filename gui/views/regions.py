"""Decision regions of 2-D datasets: teacher and student side by side over the noisy training points."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from gui.palette import CLASS_COLORS, POINT_COLORS
from gui.views.base import PlotView

ROLES = ("teacher", "student")


def rgb_table(colors: tuple[str, ...]) -> np.ndarray:
    return np.array([QColor(c).getRgb()[:3] for c in colors], dtype=np.uint8)


class RegionsView(PlotView):
    """Predicted class over the plane for the teacher and the student of the last finished point.

    Training points are coloured by the (noisy) label the models saw; points whose label was flipped
    by the noise are drawn as crosses.
    """

    title = "Decision regions"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.layout_.addWidget(self.graphics, 1)
        self.plots, self.images, self.clean_points, self.flipped_points = {}, {}, {}, {}
        for column, role in enumerate(ROLES):
            plot = self.graphics.addPlot(row=0, col=column, title=role)
            plot.setAspectLocked(True)
            plot.setLabel("bottom", "x₁")
            plot.setLabel("left", "x₂")
            plot.addLegend(offset=(-5, 5))
            self.images[role] = pg.ImageItem()
            plot.addItem(self.images[role])
            self.clean_points[role] = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=0.5), name="label kept")
            self.flipped_points[role] = pg.ScatterPlotItem(
                size=10, symbol="x", pen=pg.mkPen("k", width=0.5), name="label flipped by noise"
            )
            plot.addItem(self.clean_points[role])
            plot.addItem(self.flipped_points[role])
            self.plots[role] = plot
        self.regions: dict[str, np.ndarray] = {}

    @staticmethod
    def available(state) -> bool:
        return "regions_teacher" in state.arrays

    def redraw(self) -> None:
        arrays = self.states[0][1].arrays if self.states else {}
        if "regions_teacher" not in arrays:
            for role in ROLES:
                self.plots[role].setTitle(f"{role}: decision regions need a 2-D dataset (moons, spirals)")
                self.images[role].clear()
                self.clean_points[role].clear()
                self.flipped_points[role].clear()
            return
        xmin, xmax, ymin, ymax = (float(v) for v in arrays["regions_extent"])
        noisy = np.asarray(arrays["train_y_noisy"])
        flipped = noisy != np.asarray(arrays["train_y_clean"])
        brushes = [pg.mkBrush(POINT_COLORS[c % len(POINT_COLORS)]) for c in noisy]
        table = rgb_table(CLASS_COLORS)
        for role in ROLES:
            grid = np.asarray(arrays.get(f"regions_{role}", np.zeros((1, 1))), dtype=int)
            self.regions[role] = grid
            # rows of the grid are y; ImageItem wants [x, y]
            self.images[role].setImage(table[grid % len(table)].transpose(1, 0, 2), levels=(0, 255))
            self.images[role].setRect(QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
            self.plots[role].setTitle(role)
            self.scatter(role, arrays["train_x"], brushes, flipped)

    def scatter(self, role: str, x: np.ndarray, brushes: list, flipped: np.ndarray) -> None:
        kept = ~flipped
        self.clean_points[role].setData(
            x=x[kept, 0], y=x[kept, 1], brush=[b for b, k in zip(brushes, kept, strict=True) if k]
        )
        self.flipped_points[role].setData(
            x=x[flipped, 0], y=x[flipped, 1], brush=[b for b, f in zip(brushes, flipped, strict=True) if f]
        )

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The training points by kept / flipped label (the regions are images, not curves)."""
        out = {}
        for name, items in (("train_points_kept", self.clean_points), ("train_points_flipped", self.flipped_points)):
            x, y = items["teacher"].getData()
            if len(x):
                out[name] = (np.asarray(x), np.asarray(y))
        return out
