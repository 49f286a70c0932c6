"""Many runs' summary rows in one table with a `run` column, as CSV or Parquet (`python main.py export`)."""

import csv
import importlib.util
import math
import os
from pathlib import Path

import h5py
import numpy as np

from engine.errors import OutputError, RunFileError
from engine.runfile import load_run

FORMATS = {".csv": "CSV", ".parquet": "Parquet"}


def run_names(paths: list[Path]) -> list[str]:
    """Each run's file name without .h5; the paths as given where two runs share a name."""
    stems = [p.stem for p in paths]
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]


def summary_table(paths: list[str | Path]) -> dict[str, list]:
    """Every finished point of every run: `run`, then the union of the runs' summary columns.

    A column one run lacks (another sweep axis, another role) is None in its rows. Raises RunFileError
    naming the first path that is missing or not a DDX run file.
    """
    paths = [Path(p) for p in paths]
    runs = [read_run(p) for p in paths]
    columns = ["run"] + list(dict.fromkeys(c for data in runs for c in data.summary))
    table: dict[str, list] = {c: [] for c in columns}
    for name, data in zip(run_names(paths), runs, strict=True):
        rows = len(data.points)
        table["run"] += [name] * rows
        for column in columns[1:]:
            values = data.summary.get(column)
            table[column] += [None] * rows if values is None else [plain(v) for v in values]
    return table


def plain(value):
    """A numpy scalar as int or float; NaN as None (an empty cell).

    Metrics are float32 on the device: a value that is exactly a float32 gets that float32's short
    decimal form (0.365, not 0.3650000095).
    """
    value = value.item() if isinstance(value, np.generic) else value
    if not isinstance(value, float):
        return value
    if math.isnan(value):
        return None
    single = np.float32(value)
    return float(str(single)) if math.isfinite(single) and float(single) == value else value


def read_run(path: Path):
    """The run file `path` (RunFileError when it is missing, not HDF5 or not a DDX run)."""
    if path.is_file() and not h5py.is_hdf5(path):
        raise RunFileError(f"{path} is not a DDX run file (not an HDF5 file)")
    return load_run(path)


def check_output(out: Path, inputs: list[Path], force: bool) -> None:
    """Refuse an output that is an input, exists (without `force`), or lies in a missing or read-only folder."""
    if out.suffix.lower() not in FORMATS:
        raise OutputError(f"cannot write {out}: the table is .csv or .parquet")
    if any(out.resolve() == p.resolve() for p in inputs):
        raise OutputError(f"cannot write {out}: it is one of the runs being exported")
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder")
    if out.exists() and not force:
        raise OutputError(f"{out} already exists; choose another name or pass --force to overwrite it")
    if not out.parent.is_dir():
        raise OutputError(f"cannot write {out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise OutputError(f"cannot write {out}: folder {out.parent} is read-only")
    if out.suffix.lower() == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise OutputError(f"cannot write {out}: Parquet needs pyarrow (pip install pyarrow); --csv works without it")


def write_csv(table: dict[str, list], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table)
        for row in zip(*table.values(), strict=True):
            writer.writerow("" if v is None else f"{v:.10g}" if isinstance(v, float) else v for v in row)


def write_parquet(table: dict[str, list], path: Path) -> None:
    import pyarrow
    import pyarrow.parquet

    pyarrow.parquet.write_table(pyarrow.table(table), path)


def write_table(table: dict[str, list], out: Path) -> None:
    """Write `table` to a temporary file beside `out`, then rename it over `out`."""
    write = write_parquet if out.suffix.lower() == ".parquet" else write_csv
    temporary = out.parent / f".{out.name}.{os.getpid()}.part"
    try:
        write(table, temporary)
        os.replace(temporary, out)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def export_summaries(paths: list[str | Path], *outputs: str | Path, force: bool = False) -> int:
    """Write the summary rows of the runs `paths` to each of `outputs` (.csv or .parquet); return the rows.

    Every input is read and every output checked before anything is written, and each table goes to a
    temporary file renamed over its output at the end: a failure leaves existing files as they were.

    Raises
    ------
    RunFileError : an input is missing or not a DDX run file
    OutputError : an output exists (without `force`), is an input, or cannot be written
    """
    inputs, outs = [Path(p) for p in paths], [Path(o) for o in outputs]
    if not inputs:
        raise OutputError("no run files to export")
    for out in outs:
        check_output(out, inputs, force)
    table = summary_table(inputs)
    for out in outs:
        write_table(table, out)
    return len(table["run"])
