"""The NTK view: the baseline's empirical-NTK spectrum, label energy and residual per eigen-direction.

Below the measured residual, the same heatmap as linearized training from K₀ predicts it (on the
same colour scale), so the epochs and eigen-directions where the network leaves the kernel picture
stand out; see engine.diagnostics.ntk.linear_decay for when the prediction is exact.
"""

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
LINEAR_TITLE = "baseline, linearized from K₀"
ENERGY_LABELS = {
    "ntk_clean_energy": "clean labels",
    "ntk_noise_energy": "label noise",
    "ntk_control_energy": "control: clean labels permuted",
}


class NTKView(PlotView):
    """Eigenvalues at each snapshot (log y), clean vs noise label energy, and the residual heatmap.

    Clean labels concentrate on the top eigenvectors and the noise spreads over the tail, which the
    network fits last: the residual heatmap (epoch × eigen-index) shows the top directions emptying first.
    The baseline's linearized prediction sits under it, with the same extent and colour scale.
    """

    title = "NTK"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.role = self.add_choice("residual of", RESIDUAL_ROLES)
        self.controls.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.layout_.addWidget(self.graphics, 1)
        self.spectrum = self.add_plot(0, SPECTRUM_TITLE, "eigenvalue", rowspan=2)
        self.spectrum.setLogMode(x=False, y=True)
        energy_label = "centred energy (K at initialization)"
        self.energy = self.add_plot(1, "label energy per eigenvector", energy_label, rowspan=2)
        self.residual, self.image = self.add_heatmap(0, "residual energy")
        self.linear, self.linear_image = self.add_heatmap(1, LINEAR_TITLE)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), label="log₁₀ energy")
        self.colorbar.setImageItem([self.image, self.linear_image])
        # beside both heatmaps, so that they keep equal widths and their columns line up
        self.graphics.addItem(self.colorbar, row=0, col=3, rowspan=2)
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.residual_values = np.zeros((0, 0))
        self.linear_values = self.measured_baseline = np.zeros((0, 0))
        self.hover = CellHover(self.residual, self.describe_residual)
        self.linear_hover = CellHover(self.linear, self.describe_linear)

    def add_plot(self, column: int, title: str, y_label: str, row: int = 0, rowspan: int = 1) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=column, rowspan=rowspan, title=title)
        plot.setLabel("bottom", "eigen-index")
        plot.setLabel("left", y_label)
        plot.addLegend(offset=(-5, 5))
        return plot

    def add_heatmap(self, row: int, title: str) -> tuple[pg.PlotItem, pg.ImageItem]:
        """An epoch × eigen-index heatmap in the third column."""
        plot = self.add_plot(2, title, "epoch", row=row)
        image = pg.ImageItem()
        plot.addItem(image)
        return plot, image

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
            self.linear_image.clear()
            self.residual_values = self.linear_values = np.zeros((0, 0))
            return
        self.spectrum.setTitle(SPECTRUM_TITLE)
        self.draw_spectrum(state.arrays)
        self.draw_energy(state.arrays)
        self.draw_residual(state.arrays)
        self.draw_linear(state.arrays)

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
        logged = logged_energy(residual)
        finite = logged[np.isfinite(residual) & (residual > 0)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.residual.setTitle(f"{self.role.currentText()} residual energy")
        self.image.setImage(logged.T, autoLevels=False)  # x = eigen-index, y = epoch
        self.colorbar.setLevels((low, high if high > low else low + 1))
        self.residual_values = residual

    def draw_linear(self, arrays: dict) -> None:
        """The baseline's linearized prediction, on the measured residual's colour scale."""
        if "ntk_linear_baseline" not in arrays:
            self.linear.setTitle("no linearized prediction (needs SGD)")
            self.linear_image.clear()
            self.linear_values = np.zeros((0, 0))
            return
        self.linear.setTitle(LINEAR_TITLE)
        self.linear_values = np.asarray(arrays["ntk_linear_baseline"], dtype=float)
        self.measured_baseline = np.asarray(arrays.get("ntk_residual_baseline", self.measured_baseline), dtype=float)
        self.linear_image.setImage(logged_energy(self.linear_values).T, levels=self.colorbar.levels())

    def describe_residual(self, column: int, row: int) -> str:
        """'epoch 12 · eigen-index 3' over 'residual energy 0.0412' for a cell of the residual heatmap."""
        value = cell_value(self.residual_values, column, row)
        return "" if value is None else f"epoch {row} · eigen-index {column + 1}\nresidual energy {value:.3g}"

    def describe_linear(self, column: int, row: int) -> str:
        """'epoch 12 · eigen-index 3' over the predicted energy and the baseline's measured one."""
        value = cell_value(self.linear_values, column, row)
        if value is None:
            return ""
        text = f"epoch {row} · eigen-index {column + 1}\nlinearized {value:.3g}"
        measured = cell_value(self.measured_baseline, column, row)
        return text if measured is None else f"{text} · measured {measured:.3g}"

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return dict(self.series)


def logged_energy(values: np.ndarray) -> np.ndarray:
    """log₁₀ of energies, with zeros (and underflowed predictions) at the smallest positive float."""
    with np.errstate(invalid="ignore"):
        return np.log10(np.maximum(values, np.finfo(float).tiny))
