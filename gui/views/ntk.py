"""The NTK view: the baseline's empirical-NTK spectrum, label energy and residual per eigen-direction."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from gui.palette import ROLE_COLORS
from gui.views.base import PlotView
from gui.views.hover import CellHover, cell_value

RESIDUAL_ROLES = ("baseline", "student")
NOISE_COLOR = "#ff7f0e"
CONTROL_COLOR = "#7f7f7f"
# Titles stay short: a title wider than its plot widens it and pushes the plots to its right out of
# view (three plots and a colorbar share about 1100 px in a 1580 px wide window).
SPECTRUM_TITLE = "empirical NTK eigenvalues"
ENERGY_LABELS = {
    "ntk_clean_energy": "clean labels",
    "ntk_noise_energy": "label noise",
    "ntk_control_energy": "control: clean labels permuted",
}


class NTKView(PlotView):
    """Eigenvalues at each snapshot (log y), clean vs noise label energy, and the residual heatmap.

    Clean labels concentrate on the top eigenvectors and the noise spreads over the tail, which the
    network fits last: the residual heatmap (epoch × eigen-index) shows the top directions emptying first.
    """

    title = "NTK"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.role = self.add_choice("residual of", RESIDUAL_ROLES)
        self.controls.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.layout_.addWidget(self.graphics, 1)
        self.spectrum = self.add_plot(0, SPECTRUM_TITLE, "eigenvalue")
        self.spectrum.setLogMode(x=False, y=True)
        self.energy = self.add_plot(1, "label energy per eigenvector", "centred energy (K at initialization)")
        self.residual = self.add_plot(2, "residual energy", "epoch")
        self.residual.setLabel("bottom", "eigen-index")
        self.image = pg.ImageItem()
        self.residual.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), label="log₁₀ energy")
        self.colorbar.setImageItem(self.image, insert_in=self.residual)
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.residual_values = np.zeros((0, 0))
        self.hover = CellHover(self.residual, self.describe_residual)

    def add_plot(self, column: int, title: str, y_label: str) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=0, col=column, title=title)
        plot.setLabel("bottom", "eigen-index")
        plot.setLabel("left", y_label)
        plot.addLegend(offset=(-5, 5))
        return plot

    @staticmethod
    def available(state) -> bool:
        return "ntk_eigenvalues" in state.arrays

    def redraw(self) -> None:
        self.spectrum.clear()
        self.energy.clear()
        self.series = {}
        state = self.states[0][1] if self.states else None
        if state is None or not self.available(state):
            self.spectrum.setTitle("needs train.ntk_points > 0")
            self.image.clear()
            self.residual_values = np.zeros((0, 0))
            return
        self.spectrum.setTitle(SPECTRUM_TITLE)
        self.draw_spectrum(state.arrays)
        self.draw_energy(state.arrays)
        self.draw_residual(state.arrays)

    def draw_spectrum(self, arrays: dict) -> None:
        eigenvalues = np.asarray(arrays["ntk_eigenvalues"], dtype=float)
        epochs = np.asarray(arrays.get("ntk_snapshot_epochs", np.arange(len(eigenvalues))))
        index = np.arange(1, eigenvalues.shape[1] + 1, dtype=float)
        for k, (epoch, values) in enumerate(zip(epochs, eigenvalues, strict=True)):
            color = pg.intColor(k, hues=max(len(epochs), 2), maxValue=200)
            positive = np.where(values > 0, values, np.nan)
            self.spectrum.plot(index, positive, pen=pg.mkPen(color, width=2), name=f"epoch {int(epoch)}")
            self.series[f"ntk_eigenvalues[epoch={int(epoch)}]"] = (index, values)

    def draw_energy(self, arrays: dict) -> None:
        for name, color, style in (
            ("ntk_clean_energy", ROLE_COLORS["teacher"], Qt.PenStyle.SolidLine),
            ("ntk_noise_energy", NOISE_COLOR, Qt.PenStyle.DashLine),
            ("ntk_control_energy", CONTROL_COLOR, Qt.PenStyle.DotLine),
        ):
            if name in arrays:
                values = np.asarray(arrays[name], dtype=float)
                index = np.arange(1, len(values) + 1, dtype=float)
                pen = pg.mkPen(color, width=2, style=style)
                self.energy.plot(index, values, pen=pen, name=ENERGY_LABELS[name])
                self.series[name] = (index, values)

    def draw_residual(self, arrays: dict) -> None:
        name = f"ntk_residual_{self.role.currentText()}"
        if name not in arrays:
            self.residual.setTitle(f"no {self.role.currentText()} residual in this run")
            self.image.clear()
            self.residual_values = np.zeros((0, 0))
            return
        residual = np.asarray(arrays[name], dtype=float)
        logged = np.log10(np.maximum(residual, np.finfo(float).tiny))
        finite = logged[np.isfinite(residual) & (residual > 0)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.residual.setTitle(f"{self.role.currentText()} residual energy")
        self.image.setImage(logged.T, autoLevels=False)  # x = eigen-index, y = epoch
        self.colorbar.setLevels((low, high if high > low else low + 1))
        self.residual_values = residual

    def describe_residual(self, column: int, row: int) -> str:
        """'epoch 12 · eigen-index 3' over 'residual energy 0.0412' for a cell of the residual heatmap."""
        value = cell_value(self.residual_values, column, row)
        return "" if value is None else f"epoch {row} · eigen-index {column + 1}\nresidual energy {value:.3g}"

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return dict(self.series)
