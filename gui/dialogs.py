"""Message boxes in one place, so tests can replace them and no modal dialog blocks a test."""

import torch
from PySide6.QtWidgets import QMessageBox, QWidget

from engine.errors import DDXError


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    """Show a modal error message; tests monkeypatch this function."""
    QMessageBox.critical(parent, title, text)


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    """Show a modal information message; tests monkeypatch this function."""
    QMessageBox.about(parent, title, text)


def explain_exception(exc: BaseException) -> str:
    """A user-facing cause for an engine exception: our own messages as they are, CUDA OOM with advice."""
    if isinstance(exc, DDXError):
        return str(exc)
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return (
            "The GPU ran out of memory.\n\nReduce train.batch_size or the model widths, "
            "or set run.device = 'cpu'.\n\n" + str(exc).splitlines()[0]
        )
    return f"The run stopped with an unexpected error:\n\n{type(exc).__name__}: {exc}"
