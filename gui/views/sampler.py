"""The sampler view: the teacher's clean-test confusion matrix beside the noise transition matrix."""

import numpy as np
import pyqtgraph as pg

from engine.axes import format_value
from gui.views.base import PlotView
from gui.views.matrix import MatrixPlot


class SamplerView(PlotView):
    """Is the teacher a conditional sampler of the noisy labels? Compare its confusion matrix with T.

    The title gives the teacher's `sampler_distance` (mean row-wise total-variation distance between
    the two matrices) at the last finished point; near 0, the teacher reproduces the label noise.
    """

    title = "Sampler"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.layout_.addWidget(self.graphics, 1)
        self.heading = self.graphics.addLabel("", row=0, col=0, colspan=2)
        self.confusion = MatrixPlot(self.graphics.addPlot(row=1, col=0), "predicted class", "true class")
        self.transition = MatrixPlot(self.graphics.addPlot(row=1, col=1), "given label", "true class")

    @staticmethod
    def available(state) -> bool:
        return "confusion_teacher" in state.arrays

    def redraw(self) -> None:
        state = self.states[0][1] if self.states else None
        if state is None or not self.available(state):
            self.heading.setText("needs label noise (data.noise > 0): arrays confusion_teacher, noise_transition")
            self.confusion.show(None, "teacher confusion")
            self.transition.show(None, "noise transition T")
            return
        point = state.results.points[-1] if state.results.points else None
        distance = point.final_value("teacher", "sampler_distance") if point else np.nan
        values = ", ".join(f"{k} = {format_value(v)}" for k, v in point.values.items()) if point else ""
        self.heading.setText(
            f"{state.name} — point {point.index + 1 if point else '?'} {values} · TV distance {distance:.3f}"
        )
        self.confusion.show(state.arrays["confusion_teacher"], "teacher confusion (clean test, row-normalized)")
        self.transition.show(state.arrays.get("noise_transition"), "noise transition T")

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each row of both matrices as a curve over the column class."""
        out = {}
        for name, matrix in (
            ("confusion_teacher", self.confusion.values),
            ("noise_transition", self.transition.values),
        ):
            for row, values in enumerate(matrix):
                out[f"{name}[{row}]"] = (np.arange(len(values), dtype=float), values)
        return out
