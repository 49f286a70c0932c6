"""Benchmark: one sweep in-process and on 1, 2, … local Dask workers; wall time and scaling efficiency.

    python -m benchmarks.cluster                    # 8 groups, workers 1 and 2 (and 4 with ≥ 4 cores)
    python -m benchmarks.cluster --groups 16 --workers 1 2 4 --device cuda
    python -m benchmarks.cluster --stacked          # the workers get the stacked sweep too: one task

Each group is one point (run.batch_models = false) of an MLP teacher/student/baseline on moons,
so the groups are independent tasks of similar cost. The in-process run is the reference; a
worker count's efficiency is (its 1-worker time) / (N × its time). Cluster times include starting
the workers (spawned processes that import torch), as a user pays it.

The same sweep stacked (run.batch_models = true, the default) is one group: in-process, its
models train together in one step per batch, which is also timed, as what workers must beat. With
--stacked the workers run it so too; one group is one task, so a second worker has nothing to do.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from engine.cluster import Cluster
from engine.config import validate
from engine.runner import run


def sweep_config(groups: int, epochs: int, device: str, stacked: bool = False):
    return validate(
        {
            "data": {"dataset": "moons", "n_train": 1000, "n_test": 1000, "n_unlabeled": 2000, "noise": 0.2},
            "teacher": {"model": "mlp", "width": 64},
            "student": {"model": "mlp", "width": 32},
            "train": {"epochs": epochs, "batch_size": 64, "lr": 0.01},
            "sweep": {"axis": "teacher.width", "values": [float(16 + 8 * i) for i in range(groups)]},
            "run": {"name": "bench", "device": device, "batch_models": stacked},
        },
        "benchmark config",
    )


def timed(cfg, path: Path, cluster: Cluster) -> float:
    began = time.perf_counter()
    for _ in run(cfg, path, force=True, cluster=cluster):
        pass
    return time.perf_counter() - began


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=8, help="independent groups (points) in the sweep")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per role")
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts (default 1, 2 and 4 if cores allow)")
    parser.add_argument("--device", default="cpu", help="run.device of the sweep")
    parser.add_argument("--stacked", action="store_true", help="the workers run the sweep stacked (one group)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    counts = args.workers or [n for n in (1, 2, 4) if n <= max(2, cores)]
    cfg = sweep_config(args.groups, args.epochs, args.device)
    stacked = sweep_config(args.groups, args.epochs, args.device, stacked=True)
    with tempfile.TemporaryDirectory() as folder:
        here = timed(cfg, Path(folder) / "here.h5", Cluster())
        here_stacked = timed(stacked, Path(folder) / "stacked.h5", Cluster())
        chosen = stacked if args.stacked else cfg
        times = {n: timed(chosen, Path(folder) / f"w{n}.h5", Cluster(workers=n)) for n in counts}
    print(f"{args.groups} groups × {args.epochs} epochs on {args.device}, {cores} cores")
    print(f"{'where':<28}{'wall s':>8}{'vs in-process':>15}{'efficiency':>12}")
    print(f"{'in-process, one by one':<28}{here:>8.1f}{1.0:>15.2f}{'':>12}")
    print(f"{'in-process, stacked':<28}{here_stacked:>8.1f}{here / here_stacked:>15.2f}{'':>12}")
    one = times.get(1)
    how = "stacked" if args.stacked else "one by one"
    for n, seconds in times.items():
        efficiency = f"{one / (n * seconds):.2f}" if one else "–"
        print(f"{f'{n} worker(s), {how}':<28}{seconds:>8.1f}{here / seconds:>15.2f}{efficiency:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
