"""What every plot view shares: the runs it shows and a redraw that only runs after a change."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.state import RunState


def new_plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    """A white plot with axis labels, a legend, clipping to view and peak downsampling."""
    widget = pg.PlotWidget(title=title)
    item = widget.getPlotItem()
    item.setLabel("bottom", x_label)
    item.setLabel("left", y_label)
    item.showGrid(x=True, y=True, alpha=0.2)
    for side in ("left", "bottom"):
        item.getAxis(side).enableAutoSIPrefix(False)
    item.addLegend(offset=(-10, 10))
    item.setClipToView(True)
    item.setDownsampling(mode="peak")
    return widget


class PlotView(QWidget):
    """A tab of the plot area.

    Subclasses build `graphics` (the pyqtgraph widget that exports draw) and implement `redraw`.
    `refresh` is called by the window's timer and redraws only when the shown runs changed.
    """

    title = ""
    # The publication figure (gui.figures) of this tab: "sweep", or "curves" for one point's learning curves.
    figure_kind = "sweep"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.states: list[tuple[str, RunState]] = []
        self.drawn: tuple = ()
        self.controls = QHBoxLayout()
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(2, 2, 2, 2)
        self.layout_.addLayout(self.controls)
        self.redraws = 0

    def add_choice(self, label: str, items: list[str]) -> QComboBox:
        """A labelled combo box in the controls row that redraws the view when changed."""
        combo = QComboBox()
        combo.addItems(items)
        combo.currentTextChanged.connect(self.invalidate)
        self.controls.addWidget(QLabel(label))
        self.controls.addWidget(combo)
        return combo

    def show_states(self, states: list[tuple[str, RunState]]) -> None:
        """Show these (label, state) runs; the first is the main one."""
        self.states = states
        self.drawn = ()

    @staticmethod
    def available(state: RunState) -> bool:
        """Whether `state` holds this view's data (the window hides the tab otherwise)."""
        return True

    def options(self) -> tuple:
        """View options that change the drawing (check boxes, combos)."""
        return ()

    def invalidate(self, *_) -> None:
        self.drawn = ()
        self.refresh()

    def refresh(self) -> None:
        if self.drawing_key() == self.drawn:
            return
        self.drawn = self.drawing_key()
        self.redraw()
        self.drawn = self.drawing_key()  # after drawing: a first draw fills the option combos
        self.redraws += 1

    def drawing_key(self) -> tuple:
        return tuple((id(s), s.version) for _, s in self.states), self.options()

    def redraw(self) -> None:
        raise NotImplementedError

    def settle(self) -> None:
        """Finish drawing now: a view that spreads its items over event-loop turns adds the rest."""

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The displayed curves by name, as (x, y) arrays (for CSV export)."""
        return {}
