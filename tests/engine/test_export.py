"""Bulk export: every point of every run in one CSV or Parquet table; bad input exits 2 and writes nothing."""

import csv
import importlib.util

import h5py
import pytest

from engine.cli import main
from engine.export import export_summaries
from tests.engine.helpers import run_all, tiny_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A two-point width sweep and a one-point run without a sweep axis."""
    folder = tmp_path_factory.mktemp("runs")
    run_all(tiny_config(sweep={"axis": "teacher.width", "values": [4, 8]}), folder / "swept.h5")
    run_all(tiny_config(), folder / "single.h5")
    return [folder / "swept.h5", folder / "single.h5"]


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_has_every_point_of_every_run_with_a_run_column(runs, tmp_path, capsys):
    out = tmp_path / "all.csv"
    assert main(["export", *map(str, runs), "--csv", str(out)]) == 0
    assert "wrote 3 rows of 2 run(s)" in capsys.readouterr().err
    rows = read_csv(out)
    assert [r["run"] for r in rows] == ["swept", "swept", "single"]
    assert list(rows[0])[:4] == ["run", "point", "seed", "teacher.width"]
    assert [r["teacher.width"] for r in rows] == ["4", "8", ""], "a run without the axis leaves it empty"
    for role in ("teacher", "student", "baseline"):
        assert all(0 <= float(r[f"{role}.test_error"]) <= 1 for r in rows)
        assert all(r[f"{role}.best_epoch"] for r in rows)


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="Parquet needs pyarrow")
def test_parquet_holds_the_same_table(runs, tmp_path):
    import pyarrow.parquet

    assert (
        main(["export", *map(str, runs), "--csv", str(tmp_path / "t.csv"), "--parquet", str(tmp_path / "t.parquet")])
        == 0
    )
    table = pyarrow.parquet.read_table(tmp_path / "t.parquet").to_pydict()
    rows = read_csv(tmp_path / "t.csv")
    assert table["run"] == [r["run"] for r in rows] and table["teacher.width"] == [4.0, 8.0, None]
    assert table["student.test_error"] == [float(r["student.test_error"]) for r in rows]


def test_same_file_names_in_different_folders_keep_their_paths(runs, tmp_path):
    copy = tmp_path / "swept.h5"
    copy.write_bytes(runs[0].read_bytes())
    export_summaries([runs[0], copy], tmp_path / "both.csv")
    assert {r["run"] for r in read_csv(tmp_path / "both.csv")} == {str(runs[0]), str(copy)}


def test_bad_inputs_and_outputs_exit_2_with_one_message_and_write_nothing(runs, tmp_path, capsys):
    text = tmp_path / "notes.h5"
    text.write_text("not a run")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["format"] = "something else"
    kept = tmp_path / "kept.csv"
    kept.write_text("keep me")
    swept = str(runs[0])
    cases = {
        "does not exist": [str(tmp_path / "missing.h5"), "--csv", str(tmp_path / "a.csv")],
        "not an HDF5 file": [str(text), "--csv", str(tmp_path / "a.csv")],
        "not a DDX run file": [str(foreign), "--csv", str(tmp_path / "a.csv")],
        "pass --force to overwrite": [
            swept,
            "--csv",
            str(tmp_path / "a.csv"),
            "--parquet",
            str(kept.with_suffix(".parquet")),
        ],
        "already exists": [swept, "--csv", str(kept)],
        "does not exist;": [swept, "--csv", str(tmp_path / "no" / "a.csv")],
        "writes a .csv file": [swept, "--csv", str(tmp_path / "a.txt")],
        "needs an output": [swept],
    }
    kept.with_suffix(".parquet").write_text("old table")
    for expected, args in cases.items():
        assert main(["export", *args]) == 2, expected
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected.rstrip(";") in err and err.count("\n") == 1, err
    assert kept.read_text() == "keep me" and kept.with_suffix(".parquet").read_text() == "old table"
    assert not (tmp_path / "a.csv").exists() and not list(tmp_path.glob(".*.part"))


def test_an_input_given_as_the_output_is_refused_even_with_force(runs, tmp_path, capsys):
    copy = tmp_path / "run.csv"
    copy.write_bytes(runs[1].read_bytes())
    assert main(["export", str(copy), "--csv", str(copy), "--force"]) == 2
    assert "one of the runs being exported" in capsys.readouterr().err
    assert copy.read_bytes() == runs[1].read_bytes()


def test_parquet_without_pyarrow_says_so_and_writes_no_csv_either(runs, tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    assert (
        main(["export", str(runs[0]), "--csv", str(tmp_path / "t.csv"), "--parquet", str(tmp_path / "t.parquet")]) == 2
    )
    assert "Parquet needs pyarrow" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
