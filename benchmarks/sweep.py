"""Benchmark: the engine's batched sweep against a careful one-model-at-a-time PyTorch loop.

    python -m benchmarks.sweep                # the reference sweep (36 MLPs) and the RF sweep
    python -m benchmarks.sweep --epochs 20 --device cuda --json out.json
    python -m benchmarks.sweep --compile on   # the engine's stacked step through torch.compile

Both contenders train the same reference sweep in this process, on data already generated:
two-hidden-layer ReLU MLPs of every width × 3 seeds on MNIST-1D (4000 examples, 15% symmetric
noise), Adam lr 1e-3, batch 128, a fixed number of epochs, train and test error after every epoch.
The engine also writes its run file, computes all eight metrics and trains one width-2 baseline
per seed (distill.mode = 'none'); that work counts against it.
"""

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.config import validate
from engine.datasets import build_dataset
from engine.events import EpochMetrics, PointFinished
from engine.metrics import DeviceData
from engine.models import Targets, build_learner
from engine.models.neural import warm_up
from engine.runner import resolve_device, run
from engine.trainers import Consumer, Job
from engine.trainers.stacked import Bucket, plan_buckets
from engine.trainers.stacking import hidden_width

WIDTHS = [2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256]
SEEDS = [0, 1, 2]
# No validation split: the plain loop it is compared with evaluates train and test only (equal work).
DATA = {"dataset": "mnist1d", "n_train": 4000, "n_test": 1000, "n_unlabeled": 0, "noise": 0.15, "n_val": 0}
RF_DATA = {"dataset": "mnist1d", "n_train": 400, "n_test": 1000, "n_unlabeled": 0, "noise": 0.15, "n_val": 0}


def sweep_config(widths, seeds, epochs, device, batch_models=True, data=None, compile="off") -> dict:
    return {
        "data": data or DATA,
        "teacher": {"model": "mlp", "depth": 2, "width": widths[0]},
        "student": {"model": "mlp", "depth": 2, "width": 2},
        "distill": {"mode": "none"},
        "train": {"epochs": epochs, "batch_size": 128, "lr": 1e-3, "optimizer": "adam"},
        "sweep": {"axis": "teacher.width", "values": widths, "seeds": seeds},
        "run": {"name": "benchmark", "device": str(device), "batch_models": batch_models, "compile": compile},
    }


def rf_config(widths, seeds, device, batch_models=True) -> dict:
    return {
        "data": RF_DATA,
        "teacher": {"model": "random_features", "width": widths[0], "ridge": 0.0},
        "student": {"model": "random_features", "width": 10, "ridge": 1e-3},
        "distill": {"mode": "none"},
        "sweep": {"axis": "teacher.width", "values": widths, "seeds": seeds},
        "run": {"name": "benchmark-rf", "device": str(device), "batch_models": batch_models},
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device: torch.device) -> float:
    """Best float32 square-matmul throughput of this device, the ceiling the sweeps are measured against."""
    size = 4096 if device.type == "cuda" else 2048
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    best = math.inf
    for _ in range(5):
        synchronize(device)
        began = time.perf_counter()
        for _ in range(4):
            a @ b
        synchronize(device)
        best = min(best, (time.perf_counter() - began) / 4)
    return 2 * size**3 / best / 1e9


def mlp_macs(width: int, n_in: int = 40, n_classes: int = 10) -> int:
    return n_in * width + width * width + width * n_classes


def sweep_flops(widths, seeds, epochs, n_train, n_test) -> float:
    """Training (forward + backward ≈ 3 forwards) plus one evaluation pass per epoch, for every model."""
    per_epoch = sum(6 * n_train * mlp_macs(w) + 2 * (n_train + n_test) * mlp_macs(w) for w in widths)
    return per_epoch * epochs * len(seeds)


class PeakMemory:
    """Peak memory of one phase: CUDA's allocator peak, or the process's peak RSS reset via clear_refs."""

    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            try:
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                pass
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
            peak = [line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")]
            self.mib = int(peak[0]) / 1024 if peak else math.nan


def plain_loop(datasets: dict[int, DeviceData], widths, seeds, epochs, device) -> dict[tuple[int, int], float]:
    """The usual careful loop: one model at a time, data on the device, index-sliced batches.

    Returns each model's final test error; train and test error are measured after every epoch.
    """
    curves = {}
    for seed in seeds:
        data = datasets[seed]
        x, y = data.x_train, data.y_train
        for width in widths:
            torch.manual_seed(1000 * seed + width)
            model = nn.Sequential(
                nn.Linear(x.shape[1], width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
            ).to(device)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            for _ in range(epochs):
                perm = torch.randperm(len(x), device=device)
                for start in range(0, len(x), 128):
                    idx = perm[start : start + 128]
                    loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                with torch.no_grad():
                    train_error = (model(x).argmax(1) != y).float().mean().item()
                    test_error = (model(data.x_test).argmax(1) != data.y_test).float().mean().item()
                curves.setdefault((seed, width), []).append((train_error, test_error))
    return {key: curve[-1][1] for key, curve in curves.items()}


def engine_run(raw: dict, device, split: dict | None = None) -> tuple[float, dict[tuple[int, float], float]]:
    """Wall time of a whole engine run (events, metrics, run file) and each point's final teacher test error.

    `split`, if given, receives 'trained_s': the time until the last epoch's metrics (before the
    finished points are written to the run file).
    """
    cfg = validate(raw, "benchmark config")
    final = {}
    with tempfile.TemporaryDirectory() as folder:
        synchronize(device)
        began = time.perf_counter()
        for event in run(cfg, Path(folder) / "bench.h5"):
            if isinstance(event, EpochMetrics) and split is not None:
                split["trained_s"] = time.perf_counter() - began
            if isinstance(event, PointFinished):
                final[(event.seed, next(iter(event.values.values())))] = event.final["teacher"]["test_error"]
        synchronize(device)
        return time.perf_counter() - began, final


def timed(function, device):
    synchronize(device)
    began = time.perf_counter()
    result = function()
    synchronize(device)
    return time.perf_counter() - began, result


def mlp_benchmark(args, device, ceiling: float) -> dict:
    raw = sweep_config(args.widths, args.seeds, args.epochs, device, compile=args.compile)
    cfg = validate(raw, "benchmark config")
    datasets = {s: DeviceData.from_dataset(build_dataset(cfg.data, cfg.data.seed + s), device) for s in args.seeds}
    flops = sweep_flops(args.widths, args.seeds, args.epochs, cfg.data.n_train, cfg.data.n_test)
    with PeakMemory(device) as engine_memory:
        engine_s, engine_final = engine_run(raw, device)
    with PeakMemory(device) as plain_memory:
        plain_s, plain_final = timed(lambda: plain_loop(datasets, args.widths, args.seeds, args.epochs, device), device)
    widest = [max(args.widths)]
    wide_flops = sweep_flops(widest, args.seeds, args.epochs, cfg.data.n_train, cfg.data.n_test)
    wide_engine_s, _ = engine_run(sweep_config(widest, args.seeds, args.epochs, device, compile=args.compile), device)
    wide_plain_s, _ = timed(lambda: plain_loop(datasets, widest, args.seeds, args.epochs, device), device)
    return {
        "models": len(args.widths) * len(args.seeds),
        "epochs": args.epochs,
        "compile": args.compile,
        "gflop": flops / 1e9,
        "engine_s": engine_s,
        "plain_s": plain_s,
        "speedup": plain_s / engine_s,
        "engine_gflops": flops / engine_s / 1e9,
        "plain_gflops": flops / plain_s / 1e9,
        "engine_peak_mib": engine_memory.mib,
        "plain_peak_mib": plain_memory.mib,
        "widest": widest[0],
        "widest_engine_gflops": wide_flops / wide_engine_s / 1e9,
        "widest_plain_gflops": wide_flops / wide_plain_s / 1e9,
        "widest_engine_share": wide_flops / wide_engine_s / 1e9 / ceiling,
        "engine_test_error": float(np.mean(list(engine_final.values()))),
        "plain_test_error": float(np.mean(list(plain_final.values()))),
    }


def rf_benchmark(args, device) -> dict:
    widths = sorted({int(w) for w in np.geomspace(10, 10 * RF_DATA["n_train"], args.rf_widths)})
    seeds = list(range(args.rf_seeds))
    engine_run(rf_config(widths[:2], seeds[:1], device), device)  # warm the data cache
    split: dict = {}
    together_s, together = engine_run(rf_config(widths, seeds, device), device, split)
    alone_s, alone = engine_run(rf_config(widths, seeds, device, batch_models=False), device)
    worst = max(abs(together[k] - alone[k]) for k in alone)
    return {
        "fits": len(widths) * len(seeds),
        "engine_s": together_s,
        "engine_trained_s": split["trained_s"],
        "alone_s": alone_s,
        "max_difference": worst,
    }


def profile(args, device) -> str:
    """Where an epoch goes: the plain loop per width, and the engine per width bucket (training step, evaluation)."""
    cfg = validate(sweep_config(args.widths, args.seeds, 1, device), "benchmark config")
    data = DeviceData.from_dataset(build_dataset(cfg.data, cfg.data.seed + args.seeds[0]), device)
    steps = math.ceil(cfg.data.n_train / cfg.train.batch_size)
    lines = ["", "profile: one epoch of the plain loop, per model (seed 0)"]
    for width in args.widths:
        seconds, _ = timed(lambda w=width: plain_loop({0: data}, [w], [0], 1, device), device)
        flops = sweep_flops([width], [0], 1, cfg.data.n_train, cfg.data.n_test)
        lines.append(f"  width {width:>5}  {1000 * seconds:7.1f} ms  {flops / seconds / 1e9:6.1f} GFLOP/s")
    jobs = [
        Job(
            build_learner(cfg.teacher.model_copy(update={"width": w}), cfg.train, 40, 10, s, device),
            data,
            data.x_train,
            Targets(data.y_train),
            [Consumer(0, "teacher")],
        )
        for w in args.widths
        for s in args.seeds
    ]
    lines.append(f"profile: one epoch of the engine ({steps} steps per bucket, then evaluation)")
    for members in plan_buckets(jobs, cfg.train.batch_size, device):
        bucket = Bucket([jobs[j] for j in members])
        bucket.shuffle()
        bucket.step(0, cfg.train.batch_size)
        step_s, _ = timed(lambda b=bucket: [b.step(i * 128, 128) for i in range(steps)], device)
        eval_s, _ = timed(lambda b=bucket: b.evaluate(), device)
        widths = sorted({hidden_width(jobs[j].learner) for j in members})
        flops = sum(6 * cfg.data.n_train * mlp_macs(hidden_width(jobs[j].learner)) for j in members)
        lines.append(
            f"  widths {widths[0]}-{widths[-1]} ({len(members)} models, padded to {bucket.net.width}): "
            f"steps {1000 * step_s:6.1f} ms ({flops / step_s / 1e9:5.1f} GFLOP/s useful), eval {1000 * eval_s:6.1f} ms"
        )
    return "\n".join(lines)


def report(info: dict, mlp: dict, rf: dict) -> str:
    lines = [
        f"device            {info['device']}  (torch {info['torch']}, {info['threads']} threads, {info['machine']})",
        f"matmul            {info['matmul_gflops']:.1f} GFLOP/s (float32 square matmul)",
        "",
        f"MLP sweep         {mlp['models']} models ({len(WIDTHS)} widths x {len(SEEDS)} seeds in the reference), "
        f"{mlp['epochs']} epochs, {mlp['gflop']:.1f} GFLOP, engine run.compile = {mlp['compile']}",
        f"  plain loop      {mlp['plain_s']:8.2f} s  {mlp['plain_gflops']:7.1f} GFLOP/s  peak {mlp['plain_peak_mib']:.0f} MiB",
        f"  engine          {mlp['engine_s']:8.2f} s  {mlp['engine_gflops']:7.1f} GFLOP/s  peak {mlp['engine_peak_mib']:.0f} MiB",
        f"  speedup         {mlp['speedup']:8.2f} x  (plain / engine)",
        f"  widest ({mlp['widest']})   engine {mlp['widest_engine_gflops']:.1f} GFLOP/s = "
        f"{100 * mlp['widest_engine_share']:.0f}% of matmul; plain {mlp['widest_plain_gflops']:.1f} GFLOP/s",
        f"  mean final test error: engine {mlp['engine_test_error']:.3f}, plain {mlp['plain_test_error']:.3f}",
        "",
        f"RF sweep          {rf['fits']} ridgeless random-features fits (n = {RF_DATA['n_train']})",
        f"  engine          {rf['engine_s']:8.2f} s  (one factorization per seed; all fits and metrics done at "
        f"{rf['engine_trained_s']:.2f} s, the rest writes {rf['fits']} points to the run file)",
        f"  one by one      {rf['alone_s']:8.2f} s  (run.batch_models = false)",
        f"  speedup         {rf['alone_s'] / rf['engine_s']:8.2f} x; largest test-error difference {rf['max_difference']:.4f}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of every MLP (default 10)")
    parser.add_argument("--widths", type=int, nargs="+", default=WIDTHS, help="MLP widths")
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS, help="MLP seeds")
    parser.add_argument("--rf-widths", type=int, default=50, help="random-features widths (default 50)")
    parser.add_argument("--rf-seeds", type=int, default=5, help="random-features seeds (default 5)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--compile", choices=("auto", "on", "off"), default="off", help="the engine's run.compile (default off)"
    )
    parser.add_argument("--profile", action="store_true", help="also show where one epoch's time goes")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    warm_up()  # torch's one-time optimizer imports would otherwise land in whichever contender runs first
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "matmul_gflops": matmul_gflops(device),
    }
    mlp = mlp_benchmark(args, device, info["matmul_gflops"])
    rf = rf_benchmark(args, device)
    print(report(info, mlp, rf))
    if args.profile:
        print(profile(args, device))
    if args.json:
        args.json.write_text(json.dumps({"info": info, "mlp": mlp, "rf": rf}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
