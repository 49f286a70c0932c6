"""Mid-group checkpoints: a group's training state saved beside the run file, so a kill or a stop loses little.

Every `run.checkpoint_seconds`, and when Stop is pressed, the group's state is written to
`<run>.group-<first point>.ckpt`: every role's curves so far, the finished models of earlier
stages (teachers before students), and the trainer's state of the stage under way (weights,
optimizer state, batch-order generators, refined targets, epoch). `--resume` continues the group
from it, and the finished file equals an uninterrupted run. The file is removed once its group
is in the run file.

The file is `MAGIC`, the SHA-256 of the payload, then the payload written by `torch.save` and
read with `weights_only=True`: tensors and plain Python values only, never pickled code. Its key
covers the run's config, the group's points, the device type, the DDX version and `MAGIC`. A
checkpoint that is damaged, foreign, or whose contents do not fit the group (`CheckpointMismatch`)
is ignored with a warning, and its group trains from the start.
"""

import hashlib
import io
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine import __version__
from engine.trainers.jobs import BestEpoch, Job, Saving

log = logging.getLogger(__name__)

MAGIC = b"DDX-checkpoint-1\n"
PLAIN = (torch.Tensor, int, float, bool, str, type(None))


class CheckpointMismatch(Exception):
    """A checkpoint that passed its checksum and key holds state that does not fit its group."""


def checkpoint_path(run_path: str | Path, first: int) -> Path:
    """The checkpoint of the group whose first point is `first`."""
    run_path = Path(run_path)
    return run_path.with_name(f"{run_path.name}.group-{first}.ckpt")


def checkpoint_paths(run_path: str | Path) -> list[Path]:
    """The group checkpoints lying beside a run file (with any half-written one a kill left)."""
    run_path = Path(run_path)
    return sorted(run_path.parent.glob(f"{run_path.name}.group-*.ckpt*"))


def remove_checkpoint(path: Path) -> None:
    """Remove a group's checkpoint and any half-written copy of it."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".tmp").unlink(missing_ok=True)


class GroupCheckpoint:
    """The checkpoint file of one group: its path, when the next save is due, and the key it must match.

    Parameters
    ----------
    run_path : the run file it lies beside
    points : the group's point indices (the first names the file)
    key : what the saved state must have been made for (the run's config, the points, the device type)
    every : seconds between saves (run.checkpoint_seconds)
    """

    def __init__(self, run_path: str | Path, points: list[int], key: str, every: float):
        self.path = checkpoint_path(run_path, points[0])
        # another DDX version may save other state for the same config: its checkpoints do not match
        self.key = hashlib.sha256(f"{MAGIC!r}|{__version__}|{key}|{points}".encode()).hexdigest()
        self.every = every
        self.saved = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.saved >= self.every

    def save(self, state: dict) -> None:
        """Write `state` atomically: a kill mid-write leaves the previous checkpoint whole."""
        buffer = io.BytesIO()
        torch.save({"key": self.key, "state": state}, buffer)
        payload = buffer.getvalue()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.saved = time.monotonic()

    def load(self, device: torch.device) -> dict | None:
        """The saved state, or None when there is none, it is damaged or it belongs to another run."""
        if not self.path.exists():
            return None
        try:
            raw = self.path.read_bytes()
            digest, payload = raw[len(MAGIC) : len(MAGIC) + 32], raw[len(MAGIC) + 32 :]
            if not raw.startswith(MAGIC) or hashlib.sha256(payload).digest() != digest:
                raise ValueError("its contents do not match their checksum")
            saved = torch.load(io.BytesIO(payload), map_location=device, weights_only=True)
        except Exception as exc:  # a damaged file may fail in many ways; it only costs a restart
            log.warning("ignoring the damaged checkpoint %s (%s); its group trains from the start", self.path, exc)
            return None
        if saved.get("key") != self.key:
            log.warning(
                "ignoring %s: it was saved for another run, device or DDX version; its group trains from the start",
                self.path,
            )
            return None
        return saved["state"]


def plain_state(obj) -> dict:
    """What `restore_plain` needs to put `obj` back: its tensors, numbers, strings and modules' weights."""
    state = {}
    for name, value in vars(obj).items():
        if isinstance(value, nn.Module):
            state[name] = {"__module__": value.state_dict()}
        elif (kept := plain(value)) is not SKIP:
            state[name] = kept
    return state


SKIP = object()


def plain(value):
    """`value` as weights-only-loadable data (numpy arrays as tagged tensors), or SKIP."""
    if isinstance(value, PLAIN):
        return value
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, list | tuple | set):
        items = [plain(v) for v in value]
        return SKIP if any(v is SKIP for v in items) else type(value)(items)
    if isinstance(value, dict):
        items = {k: plain(v) for k, v in value.items()}
        ok = all(isinstance(k, int | str) for k in items) and all(v is not SKIP for v in items.values())
        return items if ok else SKIP
    return SKIP


def unplain(value):
    if isinstance(value, dict) and "__ndarray__" in value:
        return value["__ndarray__"].cpu().numpy()
    if isinstance(value, list | tuple | set):
        return type(value)(unplain(v) for v in value)
    if isinstance(value, dict):
        return {k: unplain(v) for k, v in value.items()}
    return value


def restore_plain(obj, state: dict) -> None:
    """Put back what `plain_state` saved: modules load their weights, other attributes are set."""
    for name, value in state.items():
        if isinstance(value, dict) and "__module__" in value:
            getattr(obj, name).load_state_dict(value["__module__"])
        else:
            setattr(obj, name, unplain(value))


class GroupSaving(Saving):
    """The `Saving` of a group: its stages' jobs in order, checkpointed when due or when stopped.

    Parameters
    ----------
    checkpoint : where to save, or None to save nothing
    ledger : the group's results (curves per point and role) and watchers
    saved : a state loaded from `checkpoint` to continue from, or None
    stop : asks whether the run is stopping (a stop saves at once, so Resume loses nothing)
    """

    def __init__(self, checkpoint: GroupCheckpoint | None, ledger, saved: dict | None, stop: Callable[[], bool]):
        self.checkpoint, self.ledger, self.stop = checkpoint, ledger, stop
        self.saved_stages = [] if saved is None else saved["stages"]
        self.stages: list[list[Job]] = []
        self.part: dict | None = None
        self.resuming = saved is not None
        if saved is not None:
            with self.restoring():
                ledger.restore(saved["results"])
                for point, states in saved["watchers"].items():
                    for watcher, state in zip(ledger.watchers[point], states, strict=True):
                        restore_plain(watcher, state)

    @contextmanager
    def restoring(self) -> Iterator[None]:
        """Any failure to put saved state back means the checkpoint does not fit: `CheckpointMismatch`."""
        if not self.resuming:
            yield
            return
        try:
            yield
        except Exception as exc:  # a foreign state fails in many ways (keys, shapes, lengths, types)
            raise CheckpointMismatch(f"{type(exc).__name__}: {exc}") from exc

    def begin(self, jobs: list[Job]) -> bool:
        """Start the next stage; True when it was under way (or done) in the checkpoint and is restored."""
        self.stages.append(jobs)
        if len(self.stages) > len(self.saved_stages):
            self.part = None
            return False
        with self.restoring():
            saved = self.saved_stages[len(self.stages) - 1]
            if len(saved["jobs"]) != len(jobs):
                raise ValueError(f"its stage {len(self.stages)} has {len(saved['jobs'])} models, not {len(jobs)}")
            for job, state in zip(jobs, saved["jobs"], strict=True):
                job.diverged_at = state["diverged_at"]
                job.best = None if state["best"] is None else BestEpoch(**state["best"])
                if job.draws is not None:
                    job.draws.generator.set_state(state["draws"].cpu())
                if state["done"]:
                    restore_plain(job.learner, state["learner"])
                    job.later_logits, job.done = state["later_logits"], True
            self.part = saved["part"]
        return True

    def index(self, job: Job) -> int:
        return next(i for i, j in enumerate(self.stages[-1]) if j is job)

    def resumed_part(self, kind: str, jobs: list[Job]) -> dict | None:
        part = self.part
        with self.restoring():
            if part is None or part["kind"] != kind or part["jobs"] != [self.index(j) for j in jobs]:
                return None
        self.part = None
        return part

    def epoch_ended(self, part: Callable[[], dict] | None = None) -> None:
        if self.checkpoint is None or not (self.checkpoint.due() or self.stop()):
            return
        stages = [[job_state(j) for j in jobs] for jobs in self.stages]
        self.checkpoint.save(
            {
                "stages": [{"jobs": s, "part": None} for s in stages[:-1]]
                + [{"jobs": stages[-1], "part": None if part is None else part()}],
                "results": self.ledger.state(),
                "watchers": {p: [plain_state(w) for w in ws] for p, ws in self.ledger.watchers.items()},
            }
        )


def job_state(job: Job) -> dict:
    return {
        "done": job.done,
        "diverged_at": job.diverged_at,
        "later_logits": job.later_logits,
        "learner": plain_state(job.learner) if job.done else None,
        "best": None if job.best is None else vars(job.best),
        "draws": None if job.draws is None else job.draws.generator.get_state(),
    }
