"""One writer per run file: a lock file holding the writer's pid, and a check that the folder takes files."""

import os
from pathlib import Path

from engine.errors import OutputError


def check_folder(path: Path) -> None:
    """Refuse a folder that is missing or read-only, before anything is written."""
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """An exclusive claim on a run file: `<file>.lock` holds the writer's pid.

    A lock left by a killed process (its pid no longer runs) is stale and taken over.
    """

    def __init__(self, target: Path):
        self.target = target
        self.path = target.with_name(target.name + ".lock")

    def acquire(self) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pid = self.holder()
                if pid is not None and process_alive(pid):
                    raise OutputError(
                        f"{self.target} is being written by another DDX run (pid {pid}); "
                        "wait for it to finish or stop it first"
                    ) from None
                self.path.unlink(missing_ok=True)
                continue
            except OSError as exc:
                raise OutputError(f"cannot write {self.target}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w") as handle:
                handle.write(str(os.getpid()))
            return
        raise OutputError(f"cannot claim {self.target}: its lock file {self.path} keeps reappearing")

    def holder(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
