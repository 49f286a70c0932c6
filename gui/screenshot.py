"""Run a preset in the window to the end, save a screenshot, and report event-loop responsiveness.

Usage: xvfb-run -s "-screen 0 1600x1000x24" python -m gui.screenshot [preset] [out.png] [section.key=value ...]
       xvfb-run -s "-screen 0 1600x1000x24" python -m gui.screenshot --open run.h5 out.png

Saves the sweep as out.png, the learning curves as out-curves.png, and each other tab the run shows
(heatmap, regions, sampler, NTK) as out-<tab>.png. With --open, opens a run file as File ▸ Open does
(one still being written, say) and saves only its learning curves, as out.png.

While the run trains, a 10 ms QTimer records the largest gap between its ticks (how long the GUI
thread was blocked at most) and the views' redraw count gives the plot refresh rate.
"""

import json
import sys
import time

from PySide6.QtCore import QTimer

from engine.config import validate
from engine.config_io import apply_overrides
from gui.app import create_app, warm_up_in_background


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


class FirstPoint:
    """Seconds from Run until the learning-curves view first holds a point (checked at each refresh)."""

    def __init__(self, window):
        self.window, self.seconds = window, None
        self.began = time.perf_counter()
        window.timer.timeout.connect(self.check)

    def check(self) -> None:
        state = self.window.controller.state
        if self.seconds is None and state is not None and any(c.count for c in state.curves.values()):
            self.seconds = time.perf_counter() - self.began


def save_tabs(window, out: str) -> None:
    """Save the sweep tab as `out`, the learning curves as `<out>-curves.png` and every other visible tab
    as `<out>-<tab>.png`, then close."""
    stem = out.removesuffix(".png")
    shots = [(1, out), (0, f"{stem}-curves.png")]
    shots += [
        (i, f"{stem}-{view.title.lower().replace(' ', '-')}.png")
        for i, view in enumerate(window.views)
        if i > 1 and window.tabs.isTabVisible(i)
    ]

    def shoot(remaining: list) -> None:
        if not remaining:
            window.close()
            return
        (tab, path), *rest = remaining
        window.tabs.setCurrentIndex(tab)
        QTimer.singleShot(500, lambda: (window.grab().save(path), print(f"saved {path}"), shoot(rest)))

    shoot(shots)


def main(preset: str = "quickstart", out: str = "docs/screenshot.png", *overrides: str) -> int:
    """Run `preset` (with optional section.key=value overrides) in the window and save `out`."""
    app = create_app()
    from gui.window import REFRESH_MS, MainWindow

    warm = warm_up_in_background()
    window = MainWindow()
    window.resize(1580, 960)
    window.show()
    window.presets.choose(preset)
    if overrides:
        raw = json.loads(window.panel.config().to_json())
        window.panel.set_config(validate(apply_overrides(raw, list(overrides)), "overrides"))
    probe = Responsiveness()
    ticks = []
    window.timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    first = None

    def start() -> None:
        nonlocal first
        if warm.is_alive():  # as a user would: Run pressed once the app has settled
            QTimer.singleShot(100, start)
            return
        probe.worst, probe.last = 0.0, time.perf_counter()
        ticks.clear()
        first = FirstPoint(window)
        window.start_run()

    def finished(path: str, status: str) -> None:
        seconds = time.perf_counter() - first.began
        redraws = sum(view.redraws for view in window.views)
        probe.timer.stop()
        print(f"run {status} in {seconds:.1f} s: {path}")
        print(f"first epoch drawn {first.seconds:.2f} s after Run")
        print(f"event loop blocked at most {probe.worst * 1000:.0f} ms (10 ms timer)")
        print(f"refresh timer: {len(ticks) / seconds:.1f} ticks per second (every {REFRESH_MS} ms)")
        print(f"plot redraws with new data: {redraws}, {redraws / seconds:.1f} per second")
        QTimer.singleShot(100, lambda: save_tabs(window, out))

    window.controller.finished.connect(finished)
    QTimer.singleShot(300, start)
    return app.exec()


def open_file(path: str, out: str) -> int:
    """Open the run file `path` in the window and save its learning curves, status bar included, as `out`."""
    app = create_app()
    from gui.window import MainWindow

    window = MainWindow()
    window.resize(1580, 960)
    window.show()

    def shoot(*_) -> None:
        window.tabs.setCurrentIndex(0)
        QTimer.singleShot(800, lambda: (window.grab().save(out), print(f"saved {out}"), window.close()))

    window.loader.loaded.connect(shoot)
    QTimer.singleShot(300, lambda: window.open_run(path))
    return app.exec()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--open"]:
        sys.exit(open_file(*sys.argv[2:4]))
    sys.exit(main(*sys.argv[1:]))
