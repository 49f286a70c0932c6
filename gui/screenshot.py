"""Run a preset in the window to the end, save a screenshot, and report event-loop responsiveness.

Usage: xvfb-run -s "-screen 0 1600x1000x24" python -m gui.screenshot [preset] [out.png]

While the run trains, a 10 ms QTimer records the largest gap between its ticks (how long the GUI
thread was blocked at most) and the views' redraw count gives the plot refresh rate.
"""

import sys
import time

from PySide6.QtCore import QTimer

from gui.app import create_app


class Responsiveness:
    """Largest gap between ticks of a 10 ms timer while it runs."""

    def __init__(self):
        self.last = time.perf_counter()
        self.worst = 0.0
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now


def main(preset: str = "quickstart", out: str = "docs/screenshot.png") -> int:
    app = create_app()
    from gui.window import MainWindow

    window = MainWindow()
    window.resize(1580, 960)
    window.show()
    window.presets.choose(preset)
    probe = Responsiveness()
    began = time.perf_counter()

    def finished(path: str, status: str) -> None:
        seconds = time.perf_counter() - began
        redraws = sum(view.redraws for view in window.views)
        probe.timer.stop()
        print(f"run {status} in {seconds:.1f} s: {path}")
        print(f"event loop blocked at most {probe.worst * 1000:.0f} ms (10 ms timer)")
        print(f"plot refresh: {redraws} redraws, {redraws / seconds:.1f} per second")
        window.tabs.setCurrentIndex(1)
        QTimer.singleShot(500, lambda: (window.grab().save(out), print(f"saved {out}"), window.close()))

    window.controller.finished.connect(finished)
    QTimer.singleShot(300, window.start_run)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
