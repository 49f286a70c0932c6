"""Headless command line: list presets, run an experiment, show a run file, export runs' summaries."""

import argparse
import logging
import math
import sys
from pathlib import Path

from engine import __version__
from engine.cluster import Cluster
from engine.compare import comparisons
from engine.errors import DDXError, UsageError
from engine.export import export_summaries
from engine.presets import list_presets, load_preset
from engine.progress import report
from engine.results import Results
from engine.roles import MAIN_ROLES
from engine.runfile import load_run, new_run_path
from engine.runner import resume, run

DEFAULT_DIR = Path("data")
MAX_WORKERS = 256


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ddx", description="DDX: Distillation & Double-descent eXplorer")
    parser.add_argument("--version", action="version", version=f"ddx {__version__}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("presets", help="list shipped and user presets")
    go = commands.add_parser("run", help="run a preset or TOML file headless and write a run file")
    go.add_argument("source", nargs="?", help="preset name (see `presets`) or path to a .toml file")
    go.add_argument("--resume", metavar="FILE.h5", help="continue a stopped or interrupted run file")
    go.add_argument("--out", help="run file to write (default: data/<name>-<time>.h5)")
    go.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. teacher.width=64 or sweep.seeds=[0,1]",
    )
    go.add_argument("--device", help="auto (default: CUDA if present), cpu, cuda or cuda:N")
    go.add_argument("--force", action="store_true", help="overwrite an existing run file")
    where = go.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=0, metavar="N", help="train groups on N local Dask worker processes"
    )
    where.add_argument(
        "--scheduler", default="", metavar="ADDRESS", help="train on an existing Dask scheduler's workers"
    )
    go.add_argument(
        "--quiet", action="store_true", help="no progress bar and no line per point, only the outcome and the summary"
    )
    show = commands.add_parser("show", help="print a run file's config, status and summary table")
    show.add_argument("path", help="a .h5 run file")
    export = commands.add_parser("export", help="write the summary rows of run files to one CSV or Parquet table")
    export.add_argument("paths", nargs="+", metavar="RUN.h5", help="run files; each row gets its file's name as `run`")
    export.add_argument("--csv", metavar="OUT.csv", help="write the table as CSV")
    export.add_argument("--parquet", metavar="OUT.parquet", help="write the table as Parquet (needs pyarrow)")
    export.add_argument("--force", action="store_true", help="overwrite existing output files")
    return parser


def cmd_presets() -> int:
    presets = list_presets()
    width = max(len(p.name) for p in presets)
    for p in presets:
        origin = "" if p.shipped else "  (user)"
        print(f"{p.name:<{width}}  {p.description}{origin}")
    return 0


def cmd_run(args) -> int:
    if bool(args.source) == bool(args.resume):
        raise UsageError("run takes exactly one of: a preset name / TOML file, or --resume FILE.h5")
    if args.resume:
        if args.overrides or args.out or args.force:
            raise UsageError("--resume continues the stored config; --set, --out and --force do not apply")
        out, events = Path(args.resume), resume(args.resume, device=args.device, cluster=cluster_of(args))
    else:
        overrides = list(args.overrides) + ([f"run.device={args.device}"] if args.device else [])
        cfg = load_preset(args.source, overrides)
        out = Path(args.out) if args.out else new_run_path(DEFAULT_DIR, cfg.run.name)
        events = run(cfg, out, force=args.force, cluster=cluster_of(args))
    report(events, quiet=args.quiet)
    print_summary(load_run(out))
    return 0


def cluster_of(args) -> Cluster:
    """--workers N or --scheduler ADDRESS; neither: in-process."""
    if args.workers < 0 or args.workers > MAX_WORKERS:
        raise UsageError(f"--workers takes a number of worker processes from 1 to {MAX_WORKERS}; got {args.workers}")
    if args.scheduler and "://" not in args.scheduler:
        raise UsageError(f"--scheduler takes an address such as tcp://host:8786; got {args.scheduler!r}")
    return Cluster(args.workers, args.scheduler)


def fmt(value) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def print_table(header: list, rows: list[list]) -> None:
    """Right-aligned columns, each as wide as its widest cell."""
    widths = [max(len(str(cell)) for cell in col) for col in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(w) for cell, w in zip(row, widths, strict=True)))


def print_summary(data) -> None:
    """The final test error of each role per point (and the teacher's noisy train error)."""
    roles = [r for r in MAIN_ROLES if r in data.roles]
    header = ["point", *data.axes, "seed", "teacher train err", *(f"{r} test err" for r in roles)]
    rows = [
        [
            p.index,
            *(fmt(p.values.get(a)) for a in data.axes),
            p.seed,
            fmt(p.final("teacher", "train_error")),
            *(fmt(p.final(r, "test_error")) for r in roles),
        ]
        for p in data.points
    ]
    print_table(header, rows)


def print_comparisons(data) -> None:
    """Student vs baseline per swept value, mean over seeds: final and best-epoch errors, steps, margins."""
    found = [c for c in comparisons(Results.from_run(data)) if math.isfinite(c.test_error["student"])]
    if not found:
        return
    print()
    print("student vs baseline, mean over seeds (best = test error at the epoch of lowest validation error;")
    print("margin = baseline − student, ± its standard error over seeds):")
    header = [*data.axes, "seeds", "teacher", "student", "baseline", "baseline best", "steps t/s/b"]
    header += ["margin vs final", "margin vs best"]
    rows = []
    for c in found:
        steps = "/".join(fmt(c.steps[r]) for r in MAIN_ROLES)
        margins = [
            f"{m.mean:+.3f} ± {m.standard_error:.3f} ({m.in_standard_errors:+.1f} SE)"
            for m in (c.over_final, c.over_best)
        ]
        errors = [fmt(c.test_error[r]) for r in MAIN_ROLES]
        rows.append(
            [*(fmt(c.values[a]) for a in data.axes), c.seeds, *errors, fmt(c.best_test_error["baseline"]), steps]
        )
        rows[-1] += margins
    print_table(header, rows)


def cmd_show(args) -> int:
    data = load_run(args.path)
    a = data.attrs
    print(f"file:        {data.path}")
    print(f"experiment:  {data.config['run']['name']} — {data.config['run']['description'].strip()}")
    print(f"status:      {data.status}{'  (' + a['error'] + ')' if a.get('error') else ''}")
    print(f"points:      {len(data.points)} of {a.get('total_points', '?')} finished")
    if data.in_progress:
        where = ", ".join(
            f"{p.index + 1} ({max(len(c['epoch']) for c in p.curves.values())} epochs)" for p in data.in_progress
        )
        print(f"in progress: {len(data.in_progress)} point(s) still training when last saved: {where}")
    if data.damaged:
        print(
            f"damaged:     {len(data.damaged)} point(s) could not be read and are left out: {', '.join(data.damaged)}"
        )
    print(f"device:      {a.get('device', '?')}   created {a.get('created', '?')}   DDX {a.get('app_version', '?')}")
    sweep = data.config["sweep"]
    if data.axes:
        print(f"sweep:       {', '.join(data.axes)} over seeds {sweep['seeds']}")
    print()
    print_summary(data)
    print_comparisons(data)
    return 0


def cmd_export(args) -> int:
    outputs = [out for out in (args.csv, args.parquet) if out]
    if not outputs:
        raise UsageError("export needs an output: --csv OUT.csv and/or --parquet OUT.parquet")
    for flag, out in (("csv", args.csv), ("parquet", args.parquet)):
        if out and Path(out).suffix.lower() != f".{flag}":
            raise UsageError(f"--{flag} writes a .{flag} file, not {out}")
    rows = export_summaries(args.paths, *outputs, force=args.force)
    print(f"wrote {rows} rows of {len(args.paths)} run(s) to {' and '.join(outputs)}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input prints one clear message and returns 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "presets":
            return cmd_presets()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "show":
            return cmd_show(args)
        if args.command == "export":
            return cmd_export(args)
    except DDXError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: the run file keeps every finished point (status 'stopped')", file=sys.stderr)
        return 130
    return 0
