"""The headless CLI: presets, run, show, and bad input → exit code 2 with one clear line, no traceback."""

import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from engine.cli import main
from engine.runfile import load_run

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--set",
    "data.dataset=moons",
    "--set",
    "data.n_train=100",
    "--set",
    "data.n_test=100",
    "--set",
    "data.n_unlabeled=200",
    "--set",
    "train.epochs=2",
    "--set",
    "teacher.width=8",
    "--set",
    "student.width=4",
    "--device",
    "cpu",
]


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, cwd=cwd)


def test_presets_lists_quickstart_with_its_description():
    out = cli("presets")
    assert out.returncode == 0
    line = next(line for line in out.stdout.splitlines() if line.startswith("quickstart"))
    assert "Gaussian clusters" in line


def test_run_then_show_a_small_two_point_sweep(tmp_path):
    path = tmp_path / "small.h5"
    out = cli(
        "run", "quickstart", "--out", str(path), *TINY, "--set", "sweep.values=[4, 8]", "--set", "sweep.seeds=[0]"
    )
    assert out.returncode == 0, out.stderr
    assert "device: cpu" in out.stderr and "run complete" in out.stderr
    assert "student test err" in out.stdout and len(out.stdout.strip().splitlines()) == 3
    assert load_run(path).status == "complete"
    shown = cli("show", str(path))
    assert shown.returncode == 0 and "status:      complete" in shown.stdout and "2 of 2" in shown.stdout


def test_default_output_goes_to_data_folder(tmp_path):
    out = cli("run", str(ROOT / "presets" / "knn-moons.toml"), "--device", "cpu", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    files = list((tmp_path / "data").glob("knn-moons-*.h5"))
    assert len(files) == 1 and load_run(files[0]).status == "complete"


def bad_inputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    broken = tmp_path / "broken.toml"
    broken.write_text("[teacher\nwidth = 3")
    existing = tmp_path / "exists.h5"
    existing.write_bytes(b"precious")
    not_ddx = tmp_path / "other.h5"
    with h5py.File(not_ddx, "w") as f:
        f["x"] = [1, 2, 3]
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    return [
        (["run", "no-such-preset"], "no preset named 'no-such-preset'"),
        (["run", str(broken)], "not valid TOML"),
        (["run", "quickstart", "--set", "teacher.width=0"], "teacher.width = 0: must be ≥ 1"),
        (["run", "quickstart", "--set", "teacher.colour=3"], "unknown key 'teacher.colour'"),
        (["run", "quickstart", "--set", 'run.name="../up"'], "run.name = '../up': must be usable as a file name"),
        (["run", "quickstart", "--set", f'run.name="{"x" * 300}"'], "at most 100 characters"),
        (["run", "quickstart", "--set", "width"], "expected section.key=value"),
        (["run", "quickstart", "--set", "data.noise=1.5"], "data.noise = 1.5: must be < 1"),
        (["run", "quickstart", "--device", "cuda:7"], "run.device"),
        (["run", "quickstart", "--out", str(existing)], "already exists"),
        (["run", "quickstart", "--out", str(tmp_path / "missing" / "x.h5")], "does not exist"),
        (
            ["run", "quickstart", *TINY, "--set", "data.dataset=file", "--set", f"data.path={tmp_path}/no.npz"],
            "no.npz does not exist",
        ),
        (["show", str(tmp_path / "nope.h5")], "does not exist"),
        (["show", str(not_ddx)], "not a DDX run file"),
        (["show", str(truncated)], "cannot be read as a DDX run file"),
        (["show", str(broken)], "cannot be read as a DDX run file"),
    ]


def test_bad_input_returns_2_with_one_clear_message(tmp_path, capsys):
    for args, message in bad_inputs(tmp_path):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and err.startswith("error: "), (args, err)
    assert (tmp_path / "exists.h5").read_bytes() == b"precious", "nothing on disk is lost"
    assert not (tmp_path / "f.h5").exists(), "bad data is caught before a run file is created"


def test_bad_input_from_the_shell_prints_no_traceback(tmp_path):
    for args, message in bad_inputs(tmp_path)[:3]:
        out = cli(*args)
        assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert main(["run"]) == 2 and "exactly one of" in capsys.readouterr().err
    assert main(["run", "quickstart", "--resume", "x.h5"]) == 2
