"""Learning curves: train and test error against epoch for every role of the current point, with the
epoch a validation split would pick."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox

from engine.roles import is_model_role
from gui.palette import role_color, role_label
from gui.views.base import PlotView, new_plot

HINT = (
    "Press Run (Ctrl+R) to train the experiment set on the left:\n"
    "its learning curves appear here as it trains.\n\n"
    "Runs you have made are listed below: select one to see it,\n"
    "or open a run file with Ctrl+O."
)


class LearningCurvesView(PlotView):
    """Test error (solid) and train error (dashed) per role; train error on noisy or clean labels.

    A star on each role's test-error curve marks its best epoch: the lowest validation error so far.
    A point of a run file that was still training when the file was saved is shown as far as it got,
    "(in progress)" in the title and legend.
    """

    title = "Learning curves"
    figure_kind = "curves"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_x = QCheckBox("log epoch axis")
        self.clean = QCheckBox("train error on clean labels")
        self.clean.setToolTip("unchecked: error on the noisy training labels the models see")
        self.by_steps = QCheckBox("x axis: optimizer steps")
        self.by_steps.setToolTip("compare roles at equal budgets: a pool 10× S takes 10× the steps per epoch")
        for box in (self.log_x, self.clean, self.by_steps):
            box.toggled.connect(self.invalidate)
            self.controls.addWidget(box)
        self.controls.addStretch(1)
        self.graphics = new_plot("", "epoch", "error")
        self.plot = self.graphics.getPlotItem()
        self.layout_.addWidget(self.graphics, 1)
        self.items: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.markers: dict[str, pg.InfiniteLine] = {}
        self.best: dict[str, pg.PlotDataItem] = {}
        self.hint = pg.TextItem(HINT, color="#444444", anchor=(0.5, 0.5))
        self.hint.setFont(QFont(self.font().family(), 13))
        self.hint.hide()
        self.plot.addItem(self.hint, ignoreBounds=True)

    def options(self) -> tuple:
        return (self.log_x.isChecked(), self.clean.isChecked(), self.by_steps.isChecked())

    def x_axis(self) -> str:
        return "steps" if self.by_steps.isChecked() else "epoch"

    def train_metric(self) -> str:
        return "train_error_clean" if self.clean.isChecked() else "train_error"

    def item(self, role: str, kind: str) -> pg.PlotDataItem:
        if (role, kind) not in self.items:
            style = Qt.PenStyle.SolidLine if kind == "test" else Qt.PenStyle.DashLine
            pen = pg.mkPen(role_color(role), width=2, style=style)
            name = f"{role_label(role)} {kind}"
            self.items[role, kind] = self.plot.plot([], [], pen=pen, name=name, symbolBrush=role_color(role))
        return self.items[role, kind]

    def redraw(self) -> None:
        self.plot.setLogMode(x=self.log_x.isChecked(), y=False)
        self.plot.setLabel("bottom", "optimizer steps" if self.by_steps.isChecked() else "epoch")
        state = self.states[0][1] if self.states else None
        shown = set()
        self.show_hint(state is None)
        if state is not None:
            partial = state.current_point in state.in_progress
            self.plot.setTitle(title(state))
            for role, buffer in state.curves.items():
                if not is_model_role(role):
                    continue  # a closed-form reference has one value per point: see the sweep
                for kind, metric in (("test", "test_error"), ("train", self.train_metric())):
                    x, y = buffer.view(metric, self.x_axis())
                    curve = self.item(role, kind)
                    curve.setData(x, y, symbol="o" if len(x) == 1 else None, symbolSize=7)
                    self.name(curve, f"{role_label(role)} {kind}" + (" (in progress)" if partial else ""))
                    shown.add((role, kind))
                self.mark_divergence(role, buffer)
                self.mark_best(role, buffer)
        for role in set(self.best) - {role for role, _ in shown}:
            self.drop_best(role)
        for key, curve in self.items.items():
            if key not in shown:
                curve.setData([], [])
        for role, marker in self.markers.items():
            if (role, "test") not in shown:
                marker.setVisible(False)

    def name(self, curve: pg.PlotDataItem, name: str) -> None:
        """Name `curve` in the legend (a point in progress and a finished one share their curves' items)."""
        if curve.name() != name:
            curve.opts["name"] = name
            label = self.plot.legend.getLabel(curve)
            if label is not None:
                label.setText(name)

    def show_hint(self, shown: bool) -> None:
        """With no run to show (a first launch), say how to get one, in the middle of the empty plot."""
        if shown == self.hint.isVisible():
            return
        self.hint.setVisible(shown)
        if shown:
            self.plot.setTitle("no run yet")
            self.plot.setRange(xRange=(0, 1), yRange=(0, 1))
            self.hint.setPos(0.5, 0.5)
        else:
            self.plot.enableAutoRange()  # setRange turned it off; curves must fit again

    def mark_divergence(self, role: str, buffer) -> None:
        """A labelled vertical line at the epoch where the role's loss became NaN or infinite."""
        epochs, losses = buffer.view("train_loss")
        at = buffer.view("train_loss", self.x_axis())[0]
        diverged = len(losses) and not np.isfinite(losses[-1])
        if role not in self.markers:
            pen = pg.mkPen(role_color(role), width=1, style=Qt.PenStyle.DotLine)
            self.markers[role] = pg.InfiniteLine(angle=90, pen=pen, label="", labelOpts={"position": 0.9})
            self.plot.addItem(self.markers[role], ignoreBounds=True)
        marker = self.markers[role]
        marker.setVisible(bool(diverged))
        if diverged:
            x = float(at[-1])
            marker.setValue(np.log10(x) if self.log_x.isChecked() else x)
            marker.label.setFormat(f"{role_label(role)} diverged at epoch {int(epochs[-1])}")

    def mark_best(self, role: str, buffer) -> None:
        """A star in the role colour at (best epoch, test error there); none without a validation error."""
        best = buffer.best(self.x_axis())
        if best is None:
            self.drop_best(role)
            return
        if role not in self.best:
            color = role_color(role)
            name = f"{role_label(role)} best epoch (validation)"
            self.best[role] = self.plot.plot(
                [], [], pen=None, symbol="star", symbolSize=14, symbolBrush=color, symbolPen="k", name=name
            )
        self.best[role].setData([best[0]], [best[1]])

    def drop_best(self, role: str) -> None:
        """Remove a role's best-epoch star and its legend entry."""
        if role in self.best:
            item = self.best.pop(role)
            self.plot.legend.removeItem(item)
            self.plot.removeItem(item)

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for (role, kind), curve in self.items.items():
            x, y = curve.getOriginalDataset()
            if x is not None and len(x):
                metric = self.train_metric() if kind == "train" else "test_error"
                out[f"{role}.{metric}"] = (np.asarray(x), np.asarray(y))
        for role, star in self.best.items():
            x, y = star.getOriginalDataset()
            out[f"{role}.best_epoch"] = (np.asarray(x), np.asarray(y))
        return out


def title(state) -> str:
    """The run's name and the point shown: its number, and who trains with it or that it is in progress."""
    if state.current_point < 0:
        return state.name
    point = f"point {state.current_point + 1}/{state.total_points}"
    others = len(state.training - {state.current_point})
    if state.current_point in state.in_progress:
        others = len(state.in_progress) - 1
        point += " in progress, as far as it got when the file was saved"
        if others:
            point += f" ({others} other{'s' if others > 1 else ''} in progress too)"
    elif others:
        point += f" (training with {others} other{'s' if others > 1 else ''})"
    return f"{state.name} — {point}"
