"""Benchmark: how long the window's event loop is blocked at most while it opens run files.

    QT_QPA_PLATFORM=offscreen python -m gui.open_benchmark A.h5 B.h5 [...]

Opens each file as File ▸ Open does (one after another, each shown alone once listed), then selects
them all so their sweeps overlay. A 10 ms QTimer records the largest gap between its ticks from the
first open until every file is shown, plus half a second. Then it shows each tab the files have in
turn (the sweep and heatmap views draw on first show) and reports the largest gap while each is shown.
"""

import sys
import time
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer

from gui.app import create_app
from gui.screenshot import Responsiveness

SETTLE_MS = 500
POLL_MS = 10


def shown(window, paths: list[Path]) -> bool:
    """Whether the plots show exactly these run files (by name)."""
    return sorted(name for name, _ in window.views[0].states) == sorted(p.stem for p in paths)


def main(*names: str) -> int:
    """Open `names` in a fresh window, print the worst event-loop gap and the seconds until all are shown."""
    paths = [Path(n).resolve() for n in names]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    app = create_app()
    from gui.window import MainWindow

    window = MainWindow()
    window.show()
    steps = [[p] for p in paths] + [paths]
    probe, began = None, 0.0

    def next_step() -> None:
        if not steps:
            QTimer.singleShot(SETTLE_MS, report)
            return
        wanted = steps.pop(0)
        if len(wanted) == 1:
            window.open_run(wanted[0])
        else:
            window.browser.select(wanted)
        wait_for(wanted)

    def wait_for(wanted: list[Path]) -> None:
        QTimer.singleShot(POLL_MS, next_step if shown(window, wanted) else lambda: wait_for(wanted))

    def report() -> None:
        seconds = time.perf_counter() - began - SETTLE_MS / 1000
        print(f"opened {len(paths)} run files and overlaid them in {seconds:.2f} s")
        print(f"event loop blocked at most {probe.worst * 1000:.0f} ms (10 ms timer)")
        tabs[:] = [i for i in range(window.tabs.count()) if window.tabs.isTabVisible(i)]
        QTimer.singleShot(0, when_read)

    def when_read() -> None:
        """Time the tabs once no reader thread is left (the last selection may still be read)."""
        busy = QThreadPool.globalInstance().activeThreadCount() or window.loader.busy
        QTimer.singleShot(POLL_MS, when_read) if busy else QTimer.singleShot(SETTLE_MS, next_tab)

    tabs: list[int] = []

    def next_tab() -> None:
        if not tabs:
            probe.timer.stop()
            QThreadPool.globalInstance().waitForDone(10_000)  # a reader still running would outlive the window
            window.close()
            app.quit()
            return
        index = tabs.pop(0)
        probe.worst = 0.0
        window.tabs.setCurrentIndex(index)
        QTimer.singleShot(SETTLE_MS * 2, lambda: tab_report(index))

    def tab_report(index: int) -> None:
        print(f"  showing the {window.tabs.tabText(index)!r} tab: blocked at most {probe.worst * 1000:.0f} ms")
        next_tab()

    def begin() -> None:
        nonlocal probe, began
        probe, began = Responsiveness(), time.perf_counter()
        next_step()

    QTimer.singleShot(300, begin)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
