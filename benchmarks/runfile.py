"""Benchmark: run files at scale — append cost against the number of points, bytes per point, load and kill-and-reopen times.

    python -m benchmarks.runfile                     # 10 000 synthetic points
    python -m benchmarks.runfile --points 2000 --checkpoint 5 --kills 10 --json out.json
    python -m benchmarks.runfile --points 1000 --rewrite-rows 1 10 1000   # size against the rewrite cadence

Each synthetic point has 3 roles × 10 metrics × 50 epochs, a 10 × 10 noise matrix and two scalars,
as a long MLP sweep would leave. Points are added one at a time through the engine's RunWriter, as a
run adds them; every `--checkpoint` seconds the writer moves its journal into the file's table.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.records import PointRecord
from engine.runfile import RunWriter, load_run

ROLES = ("teacher", "student", "baseline")
METRICS = ("train_loss", "fit_error", "train_error", "train_error_clean", "memorized", "val_error", "test_loss")
METRICS += ("test_error", "agreement", "steps")
EPOCHS = 50
REPORT_AT = (10, 1000, 10_000)


def synthetic_point(index: int, two_axes: bool = False) -> PointRecord:
    """A point shaped like one of a long MLP sweep, with values drawn from its index.

    One axis: teacher widths 2, 3, … with 5 seeds each; two axes: a 100 × 100 grid of teacher and
    student widths, one seed."""
    rng = np.random.default_rng(index)
    curves = {
        role: {"epoch": np.arange(1, EPOCHS + 1, dtype=np.int32)} | {m: rng.random(EPOCHS) for m in METRICS}
        for role in ROLES
    }
    arrays = {"noise_transition": rng.random((10, 10))}
    attrs = {"elapsed_s": float(rng.random()), "bayes_error": 0.1}
    if two_axes:
        values = {"teacher.width": float(1 + index // 100), "student.width": float(1 + index % 100)}
        return PointRecord(index, 0, values, curves, arrays, attrs)
    return PointRecord(index, index % 5, {"teacher.width": float(2 + index // 5)}, curves, arrays, attrs)


def open_writer(path: Path, points: int, checkpoint: float, two_axes: bool = False) -> RunWriter:
    axes = ["teacher.width", "student.width"] if two_axes else ["teacher.width"]
    if two_axes:
        grid = [float(v) for v in range(1, 101)]
        sweep = {"axis": axes[0], "values": grid, "axis2": axes[1], "values2": grid, "seeds": [0]}
    else:
        sweep = {"axis": axes[0], "values": [float(2 + i) for i in range(points // 5)], "seeds": list(range(5))}
    config = {"sweep": sweep, "run": {"name": "bench"}}
    writer = RunWriter.create(path, json.dumps(config), "cpu", points, axes, force=True)
    writer.checkpoint_seconds = checkpoint
    return writer


def append_costs(path: Path, points: int, checkpoint: float, two_axes: bool = False) -> dict:
    """Seconds per `add`, with the checkpoints (rewrites of the table) they triggered, and the final write."""
    made = [synthetic_point(i, two_axes) for i in range(points)]
    writer = open_writer(path, points, checkpoint, two_axes)
    adds, rewrites = [], []
    for point in made:
        began = time.perf_counter()
        before = writer.written
        writer.add([point])
        seconds = time.perf_counter() - began
        (rewrites if writer.written != before else adds).append((point.index + 1, seconds))
    began = time.perf_counter()
    writer.finish("complete")
    finish_s = time.perf_counter() - began
    return {"adds": adds, "rewrites": rewrites, "finish_s": finish_s, "bytes": path.stat().st_size}


def cost_near(samples: list[tuple[int, float]], at: int) -> float | None:
    """Median add cost over the points within 5% (at least ±5) of point `at`."""
    window = max(5, at // 20)
    near = [s for n, s in samples if abs(n - at) <= window]
    return float(np.median(near)) if near else None


def writer_script(path: Path, points: int, checkpoint: float) -> str:
    return (
        "import sys\n"
        "from benchmarks.runfile import open_writer, synthetic_point\n"
        f"writer = open_writer(__import__('pathlib').Path({str(path)!r}), {points}, {checkpoint})\n"
        f"for i in range({points}):\n"
        "    writer.add([synthetic_point(i)])\n"
        "    print(i, flush=True)\n"
        "writer.finish('complete')\n"
    )


def kill_and_reopen(folder: Path, kills: int, points: int, checkpoint: float, seed: int = 0) -> dict:
    """SIGKILL writers at random moments; every point they reported finished must load back."""
    rng = np.random.default_rng(seed)
    lost, reopen, reported_total = 0, [], 0
    for attempt in range(kills):
        path = folder / f"killed-{attempt}.h5"
        script = writer_script(path, points, checkpoint)
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
        target = int(rng.integers(1, points))
        reported = -1
        for line in process.stdout:
            reported = int(line)
            if reported >= target:
                break
        process.send_signal(signal.SIGKILL)
        tail, _ = process.communicate()
        reported = max([reported, *(int(x) for x in tail.split())])
        began = time.perf_counter()
        stored = load_run(path)
        reopen.append(time.perf_counter() - began)
        indices = {p.index for p in stored.points}
        lost += sum(1 for i in range(reported + 1) if i not in indices)
        reported_total += reported + 1
    return {"kills": kills, "reported": reported_total, "lost": lost, "reopen_s_max": max(reopen, default=0.0)}


def rewrite_growth(path: Path, points: int, rows: int) -> dict:
    """Size and rewrite cost when every `rows` points move into the table (a slow sweep: one point a minute)."""
    writer = open_writer(path, points, checkpoint=1e9)
    rewrites, sizes = [], []
    for start in range(0, points, rows):
        writer.add([synthetic_point(i) for i in range(start, min(points, start + rows))])
        began = time.perf_counter()
        writer.checkpoint()
        rewrites.append(time.perf_counter() - began)
        sizes.append(path.stat().st_size)
    writer.finish("complete")
    last = rewrites[-max(1, len(rewrites) // 10) :]
    return {
        "rows": rows,
        "rewrite_ms": 1000 * float(np.median(last)),
        "rewrite_ms_max": 1000 * max(rewrites),
        "running_kib_per_point": sizes[-1] / points / 1024,
        "kib_per_point": path.stat().st_size / points / 1024,
    }


def growth_report(points: int, results: list[dict]) -> str:
    lines = [f"run file size against the rewrite cadence: {points} synthetic points"]
    for r in results:
        lines.append(
            f"  {r['rows']:>5} rows per rewrite: {r['kib_per_point']:6.1f} KiB per point at the end, "
            f"{r['running_kib_per_point']:6.1f} before the last write; rewrite {r['rewrite_ms']:6.1f} ms "
            f"(median of the last tenth), at most {r['rewrite_ms_max']:6.1f} ms"
        )
    return "\n".join(lines)


def report(points: int, costs: dict, load_s: float, kills: dict) -> str:
    lines = [f"run file benchmark: {points} synthetic points (3 roles x 10 metrics x {EPOCHS} epochs)"]
    for at in REPORT_AT:
        cost = cost_near(costs["adds"], at)
        if cost is not None:
            lines.append(f"  add at point {at:>6}   {1000 * cost:7.2f} ms (median, journal append + sync)")
    for n, seconds in costs["rewrites"]:
        lines.append(f"  checkpoint at {n:>6}   {1000 * seconds:7.1f} ms (table rewritten with the journal's points)")
    lines += [
        f"  finish              {1000 * costs['finish_s']:7.1f} ms",
        f"  size                {costs['bytes'] / points / 1024:7.1f} KiB per point ({costs['bytes'] / 2**20:.1f} MiB)",
        f"  load_run            {load_s:7.2f} s",
        f"  kills               {kills['kills']} writers killed, {kills['reported']} points reported finished, "
        f"{kills['lost']} lost, reopen at most {kills['reopen_s_max']:.2f} s",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runfile", description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000, help="points to append (default 10000)")
    parser.add_argument("--checkpoint", type=float, default=60.0, help="run.checkpoint_seconds (default 60)")
    parser.add_argument("--kills", type=int, default=10, help="writers to kill at random moments (default 10)")
    parser.add_argument("--kill-points", type=int, default=2000, help="points each killed writer aims for")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="keep the appended run file here (to open it in the app)")
    parser.add_argument("--two-axes", action="store_true", help="a 100 × 100 two-axis sweep instead of one axis")
    parser.add_argument(
        "--rewrite-rows", type=int, nargs="+", help="instead: file size when every N points are moved into the table"
    )
    args = parser.parse_args(argv)
    if args.rewrite_rows:
        with tempfile.TemporaryDirectory() as folder:
            results = [rewrite_growth(Path(folder) / f"rows-{n}.h5", args.points, n) for n in args.rewrite_rows]
        print(growth_report(args.points, results))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.h5"
        costs = append_costs(path, args.points, args.checkpoint, args.two_axes)
        if args.keep:
            shutil.copyfile(path, args.keep)
        began = time.perf_counter()
        stored = load_run(path)
        load_s = time.perf_counter() - began
        assert len(stored.points) == args.points
        kills = kill_and_reopen(Path(folder), args.kills, args.kill_points, args.checkpoint)
    print(report(args.points, costs, load_s, kills))
    if args.json:
        summary = {f"add_ms_at_{at}": 1000 * (cost_near(costs["adds"], at) or float("nan")) for at in REPORT_AT}
        summary |= {"rewrites_ms": [(n, 1000 * s) for n, s in costs["rewrites"]], "finish_ms": 1000 * costs["finish_s"]}
        summary |= {"bytes_per_point": costs["bytes"] / args.points, "load_s": load_s, **kills}
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
