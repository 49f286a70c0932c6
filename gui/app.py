"""Start the desktop app, or explain how to use the CLI when there is no display."""

import os
import sys
import threading

from gui.preflight import window_problem

# The worker's Python code holds the GIL up to the switch interval each time the GUI thread returns
# from a Qt call, and a repaint makes dozens: 5 ms each added up to 100 ms stalls.
GIL_SWITCH_S = 0.0005


def create_app():
    """The QApplication, created once, with pyqtgraph's light theme and room for the GUI thread."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("DDX")
    app.setOrganizationName("DDX")
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    leave_room_for_the_gui()
    return app


def leave_room_for_the_gui() -> None:
    """Keep the window responsive while the worker thread trains.

    torch's spinning intra-op threads starve the GUI thread when they take every core, so they leave
    it one; a short GIL switch interval hands the GIL back to the GUI thread between Qt calls.
    """
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    sys.setswitchinterval(GIL_SWITCH_S)


def launch() -> int:
    """Open the main window and run the event loop; return the exit code.

    2, with one message saying what is missing, when Qt could not open a window (see gui.preflight):
    Qt itself would abort the process with its raw plugin text.
    """
    problem = window_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    app = create_app()
    from gui.window import MainWindow

    warm_up_in_background()
    window = MainWindow()
    window.show()
    return app.exec()


def warm_up_in_background() -> threading.Thread:
    """Pay torch's one-time optimizer imports while the user looks at the window, not after Run."""
    from engine.models.neural import warm_up

    thread = threading.Thread(target=warm_up, name="ddx-warm-up", daemon=True)
    thread.start()
    return thread
