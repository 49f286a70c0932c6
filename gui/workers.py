"""Where the app's runs train: in this process, on N local Dask worker processes, or on a Dask scheduler.

The choice is remembered between launches (QSettings) and given to every Run and Resume.
"""

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from engine.cluster import Cluster
from gui.settings import settings

MAX_LOCAL_WORKERS = 64


def saved_cluster() -> Cluster:
    """The remembered choice; in-process when none was made (or the stored one is unusable)."""
    store = settings()
    mode = store.value("workers/mode", "in-process")
    if mode == "local":
        count = int(store.value("workers/count", 2) or 2)
        return Cluster(workers=min(max(count, 1), MAX_LOCAL_WORKERS))
    if mode == "scheduler" and store.value("workers/address", ""):
        return Cluster(scheduler=str(store.value("workers/address")))
    return Cluster()


def save_cluster(cluster: Cluster) -> None:
    store = settings()
    mode = "scheduler" if cluster.scheduler else "local" if cluster.workers else "in-process"
    store.setValue("workers/mode", mode)
    if cluster.workers:
        store.setValue("workers/count", cluster.workers)
    if cluster.scheduler:
        store.setValue("workers/address", cluster.scheduler)
    store.sync()


class WorkersDialog(QDialog):
    """Choose where runs train; `chosen()` is the Cluster the fields describe."""

    def __init__(self, current: Cluster, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Workers")
        self.here = QRadioButton("in this process (the default)")
        self.local = QRadioButton("local Dask worker processes:")
        self.remote = QRadioButton("an existing Dask scheduler at:")
        self.modes = QButtonGroup(self)
        for button in (self.here, self.local, self.remote):
            self.modes.addButton(button)
        self.count = QSpinBox(minimum=1, maximum=MAX_LOCAL_WORKERS, value=current.workers or 2)
        self.address = QLineEdit(current.scheduler or "tcp://localhost:8786")
        self.address.setMinimumWidth(240)
        {"local": self.local, "scheduler": self.remote}.get(self.mode_of(current), self.here).setChecked(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept_if_complete)
        self.buttons.rejected.connect(self.reject)
        grid = QGridLayout(self)
        grid.addWidget(self.here, 0, 0, 1, 2)
        grid.addWidget(self.local, 1, 0)
        grid.addWidget(self.count, 1, 1)
        grid.addWidget(self.remote, 2, 0)
        grid.addWidget(self.address, 2, 1)
        hint = QLabel("Workers need Dask: pip install 'ddx[cluster]'. See docs/cluster.md.")
        hint.setWordWrap(True)
        grid.addWidget(hint, 3, 0, 1, 2)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #c0392b")
        self.problem.setWordWrap(True)
        self.problem.hide()
        grid.addWidget(self.problem, 4, 0, 1, 2)
        grid.addWidget(self.buttons, 5, 0, 1, 2)
        self.address.textEdited.connect(self.problem.hide)

    @staticmethod
    def mode_of(cluster: Cluster) -> str:
        return "scheduler" if cluster.scheduler else "local" if cluster.workers else "in-process"

    def accept_if_complete(self) -> None:
        """Close with the choice, unless the scheduler option lacks a usable address: then say so and stay."""
        address = self.address.text().strip()
        if self.remote.isChecked() and "://" not in address:
            given = f"{address!r} is not" if address else "no address is"
            self.problem.setText(f"The scheduler option needs its address, such as tcp://host:8786; {given} one.")
            self.problem.show()
            self.address.setFocus()
            return
        self.accept()

    def chosen(self) -> Cluster:
        if self.local.isChecked():
            return Cluster(workers=self.count.value())
        if self.remote.isChecked():
            return Cluster(scheduler=self.address.text().strip())
        return Cluster()
