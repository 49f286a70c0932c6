"""Work around a PySide6 6.12 reference-count bug that crashes Python < 3.12 after a few seconds.

With PySide6 6.12.0 every Python callback Qt makes (slots, timers, pyqtgraph's paint overrides)
releases one reference to its return value, None, that it never took, and every `Signal.emit`
releases one to True. On Python 3.12+ None and True are immortal, so nothing happens; on 3.11
their counts fall to zero within seconds of plotting and the interpreter aborts ("none_dealloc").
Until the binding is fixed, keep a reserve of references and top it up on a timer. The reserve
grows by about 8 bytes per Qt callback (tens of MB per hour of live plotting).
"""

import sys

from PySide6.QtCore import QObject, QTimer, Signal

FLOOR = 1_000_000
SINGLETONS = (None, True, False)


class _Probe(QObject):
    fired = Signal()


def binding_leaks() -> bool:
    """Whether Signal.emit drops a reference to True it never took (the symptom of the bug)."""
    if sys.version_info >= (3, 12):
        return False
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(100):
        probe.fired.emit()
    return sys.getrefcount(True) < before - 50


class SingletonGuard(QObject):
    """Holds references to None, True and False so the binding's extra releases never free them."""

    def __init__(self, parent=None, interval_ms: int = 100):
        super().__init__(parent)
        self.reserve: list = []
        self.top_up()
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.top_up)
        self.timer.start()

    def top_up(self) -> None:
        for obj in SINGLETONS:
            if sys.getrefcount(obj) < FLOOR:
                self.reserve.extend([obj] * FLOOR)


def install(app) -> SingletonGuard | None:
    """Start the guard on `app` when the installed binding has the bug; None when it does not."""
    if getattr(app, "singleton_guard", None) is None and binding_leaks():
        app.singleton_guard = SingletonGuard(app)
    return getattr(app, "singleton_guard", None)
