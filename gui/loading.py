"""Run files read in a worker thread, so opening a big run never freezes the window."""

import gc
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from engine.errors import RunFileError
from engine.runfile import load_run
from gui.state import RunState

READERS = {"active": 0, "collecting": True}
READERS_LOCK = threading.Lock()


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while run files are read, then freeze what was read.

    A 10 000-point run is about a million Python objects; a full collection triggered by the reader
    scans them all while holding the GIL, which froze the window for up to 1.6 s. Frozen objects are
    never scanned again: they are freed as usual when their last reference goes, but a reference
    cycle among objects alive at the freeze (some plot items cleared later) is never collected. That
    costs a little memory per file opened, against a window that would otherwise stall for a second.
    """
    with READERS_LOCK:
        READERS["active"] += 1
        if READERS["active"] == 1:
            READERS["collecting"] = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with READERS_LOCK:
            READERS["active"] -= 1
            if READERS["active"] == 0:
                gc.freeze()
                if READERS["collecting"]:
                    gc.enable()


def read_states(paths: list[str], wanted: Callable[[], bool]) -> tuple[list, list]:
    """Each readable run file as (label, path, RunState), and (path, message) for the others.

    Stops early, returning what it has, once `wanted()` turns False (a newer request superseded it).
    """
    shown, failed = [], []
    for path in paths:
        if not wanted():
            break
        try:
            shown.append((Path(path).stem, path, RunState.from_run(load_run(path))))
        except RunFileError as exc:
            failed.append((path, str(exc)))
    return shown, failed


class RunLoader(QObject):
    """Loads run files off the GUI thread; only the latest request's result is delivered.

    Signals
    -------
    loaded(list, list) : [(label, path, RunState)] of the files read and [(path, message)] of those
        that could not be, for the latest `load`.
    """

    loaded = Signal(list, list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request = 0
        self.busy = False

    def load(self, paths: list[str]) -> None:
        """Read `paths` in a worker; a later `load` or `cancel` drops this one's result."""
        self.request += 1
        self.busy = True
        request, paths = self.request, list(paths)

        def read() -> tuple:
            with collector_paused():
                return request, *read_states(paths, lambda: request == self.request)

        worker = create_worker(read, _start_thread=False)
        # a bound method of this QObject: queued to the GUI thread, and dropped if the window is gone
        worker.returned.connect(self.deliver)
        worker.start()

    def cancel(self) -> None:
        """Drop the result of any load under way (files not yet read are skipped)."""
        self.request += 1
        self.busy = False

    def deliver(self, result: tuple) -> None:
        request, shown, failed = result
        if request == self.request:
            self.busy = False
            self.loaded.emit(shown, failed)
