"""Fuzzing the real CLI entry in-process: random `--set` overrides over every config key.

Each example runs `engine.cli.main(argv)` on a random preset made tiny, with random keys set to
boundary, malformed or unknown values in random combinations, and must either exit 0 with a run file
that loads, or exit 2 with one message and no traceback. `HYPOTHESIS_PROFILE=deep` runs 1000 examples.
"""

import contextlib
import io
import math
import shutil
import traceback
from pathlib import Path
from typing import Literal, get_args, get_origin

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.config import SECTIONS, ExperimentConfig
from engine.config_rules import numeric_keys
from engine.presets import list_presets
from engine.runfile import load_run
from tests.fuzz_values import CHEAP_MAX, MALFORMED, ODD_STRINGS

FIELDS = {
    f"{section}.{name}": info
    for section in SECTIONS
    for name, info in ExperimentConfig.model_fields[section].annotation.model_fields.items()
}
# The overrides every example starts from: one tiny point (an example may set any of these keys again).
TINY = {
    "data.n_train": 60,
    "data.n_test": 60,
    "data.n_unlabeled": 80,
    "data.n_val": 20,
    "teacher.width": 8,
    "student.width": 4,
    "train.epochs": 2,
    "train.student_epochs": 0,
    "train.baseline_epochs": 0,
    "train.ntk_points": 0,
    "distill.teachers": 1,
    "sweep.axis": '""',
    "sweep.values": "[]",
    "sweep.axis2": '""',
    "sweep.values2": "[]",
    "sweep.seeds": "[0]",
}


def often(common: st.SearchStrategy, rare: st.SearchStrategy, times: int = 6) -> st.SearchStrategy:
    """`common` about `times` times as often as `rare`: most overrides valid, so most runs get to train."""
    # one_of would merge the repeated strategy into one branch; a weighted pick of strategies does not
    return st.sampled_from([common] * times + [rare]).flatmap(lambda chosen: chosen)


def numbers(key: str) -> st.SearchStrategy[str]:
    """TOML numbers for `key`: mostly cheap valid values, sometimes a bound or just past it."""
    info = FIELDS[key]
    whole = info.annotation is int
    low, high, edges, excluded = -1e12, 1e12, [], set()
    for item in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            bound = getattr(item, name, None)
            if bound is not None:
                edges += [bound, bound - 1, bound + 1] if whole else [bound, bound * (1 - 1e-9) - 1e-12, bound + 1e-9]
                low, high = (bound, high) if name in ("ge", "gt") else (low, bound)
                excluded |= {name} if name in ("gt", "lt") else set()
    high = min(high, CHEAP_MAX.get(key, high))
    edge = st.sampled_from([e for e in edges if e <= CHEAP_MAX.get(key, math.inf)] or [0])
    if whole:
        valid = st.integers(int(low) + ("gt" in excluded), int(high) - ("lt" in excluded))
        return often(valid.map(str), edge.map(lambda v: str(int(v))), 4)
    valid = st.floats(low, high, exclude_min="gt" in excluded, exclude_max="lt" in excluded)
    return often(valid.map(repr), edge.map(lambda v: repr(float(v))), 4)


def quoted(items) -> st.SearchStrategy[str]:
    return st.sampled_from(list(items)).map(lambda v: f'"{v}"')


def own_and_odd(key: str) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """TOML text for the config field `key`: values of its own kind, and odd ones (wrong kind, malformed)."""
    kind, malformed = FIELDS[key].annotation, st.sampled_from(MALFORMED)
    if key in ("sweep.axis", "sweep.axis2"):
        return quoted(["", *numeric_keys()]), st.one_of(quoted(["run.name", "run.device", "nope.key"]), malformed)
    if key in ("sweep.values", "sweep.values2"):
        values = st.lists(st.sampled_from(["4", "8", "0", "-1", "0.5", "1e9", "nan", "inf"]), max_size=3)
        return values.map(lambda items: f"[{', '.join(items)}]"), malformed
    if key == "sweep.seeds":
        valid = st.lists(st.sampled_from([0, 1, 7, 4295, 5000, 2**31 - 1]), min_size=1, max_size=2).map(str)
        return valid, st.one_of(st.lists(st.sampled_from([2**31, 2**32, 2**64, -1]), max_size=2).map(str), malformed)
    if key == "run.device":
        return quoted(["cpu", "auto"]), st.one_of(quoted(ODD_STRINGS), malformed)
    if get_origin(kind) is Literal:
        return quoted(get_args(kind)), st.one_of(quoted(["MLP", "bogus"]), malformed)
    if kind is bool:
        return st.sampled_from(["true", "false"]), st.one_of(st.sampled_from(["1", "0", '"yes"']), malformed)
    if kind in (int, float):
        return numbers(key), malformed
    return quoted(ODD_STRINGS), malformed


def values_for(key: str) -> st.SearchStrategy[str]:
    own, odd = own_and_odd(key)
    return often(own, odd, 8)


@st.composite
def sweeps(draw) -> list[str]:
    """A whole sweep section: one or two axes with a few values of their own kind, and seeds."""
    axes = draw(st.lists(st.sampled_from(numeric_keys()), min_size=1, max_size=2, unique=True))
    items = []
    for axis, suffix in zip(axes, ("", "2"), strict=False):
        values = draw(st.lists(numbers(axis), min_size=1, max_size=3))
        items += [f'sweep.axis{suffix}="{axis}"', f"sweep.values{suffix}=[{', '.join(values)}]"]
    return items + [f"sweep.seeds={draw(values_for('sweep.seeds'))}"]


def unknown_overrides() -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "teacher.colour=3",
            "bogus.key=1",
            "data=3",
            "data.n_train",
            "a.b.c=1",
            "=5",
            ".=1",
            "data.=1",
            "schema_version=2",
        ]
    )


@st.composite
def overrides(draw) -> list[str]:
    """Random section.key=value items: single keys, whole sweeps, unknown keys; later ones win."""
    single = st.sampled_from(sorted(FIELDS)).flatmap(lambda key: values_for(key).map(lambda v: f"{key}={v}"))
    pick = often(single, st.one_of(sweeps(), sweeps(), unknown_overrides().map(lambda item: [item])), 4)
    items = draw(st.lists(pick, min_size=1, max_size=4))
    return [i for item in items for i in ([item] if isinstance(item, str) else item)]


@pytest.fixture(scope="module")
def data_files(tmp_path_factory) -> list[str]:
    """Files a user might give as data.path: good, broken and foreign."""
    folder = tmp_path_factory.mktemp("user-data")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 3)), rng.integers(0, 3, 400)
    np.savez(folder / "good.npz", X=x, y=y)
    np.savez(folder / "no-labels.npz", X=x)
    np.savez(folder / "bad-shape.npz", X=x, y=y[:10])
    np.savez(folder / "nan.npz", X=np.full((400, 3), np.nan), y=y)
    with h5py.File(folder / "good.h5", "w") as f:
        f["X"], f["y"] = x, y
    (folder / "text.npz").write_text("not a zip")
    (folder / "data.csv").write_text("1,2,3\n")
    return [str(folder / name) for name in sorted(p.name for p in folder.iterdir())] + [str(folder), "missing.npz"]


@pytest.fixture
def one_thread():
    """Tiny problems run several times faster on one torch thread than on two that contend."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def invoke(argv: list[str]) -> tuple[int, str, str]:
    """`main(argv)` with its exit code, stdout and stderr; any exception escaping it fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse rejects the command line itself
            code = exc.code
        except BaseException:
            pytest.fail(f"main({argv!r}) raised:\n{traceback.format_exc()}")
    return code, out.getvalue(), err.getvalue()


PRESETS = [p.name for p in list_presets()]


@st.composite
def commands(draw, folder: Path, data_files: list[str]) -> tuple[list[str], Path | None]:
    """A `run` command line and the run file it names (None: the default, data/<run.name>-<time>.h5)."""
    items = [f"{k}={v}" for k, v in TINY.items()] + draw(overrides())
    if draw(st.integers(0, 9)) == 0:
        items += ['data.dataset="file"', f'data.path="{draw(st.sampled_from(data_files))}"']
    named = draw(st.integers(0, 4)) == 0
    if named:  # the name makes the default file name
        items.append(f"run.name={draw(values_for('run.name'))}")
    out = folder / f"run-{draw(st.integers(0, 10**9))}.h5"
    places = ["fresh"] * 14 + ["default"] * (10 if named else 2) + ["missing folder", "a folder", "existing"]
    where = draw(st.sampled_from(places + ["existing --force"]))
    if where == "missing folder":
        out = folder / "missing" / "x.h5"
    elif where == "a folder":
        out = folder
    elif where.startswith("existing"):
        out.write_bytes(b"precious")
    argv = ["run", draw(st.sampled_from(PRESETS)), "--quiet", *(f"--set={i}" for i in items)]
    argv += [] if where == "default" else ["--out", str(out)]
    argv += ["--device", "cpu"] if draw(st.integers(0, 4)) else []
    argv += ["--force"] if where == "existing --force" else []
    return argv, None if where == "default" else out


def written(folder: Path) -> Path:
    """The one run file a run without --out wrote, in the data folder under the working directory."""
    found = list((folder / "data").glob("*.h5"))
    assert len(found) == 1, f"a run without --out writes one file in data/, found {sorted(folder.rglob('*.h5'))}"
    return found[0]


def check_outcome(argv: list[str], out: Path | None, code: int, stdout: str, stderr: str) -> None:
    event(f"exit {code}")
    assert "Traceback" not in stderr + stdout, stderr
    if code == 0:
        data = load_run(out)
        assert data.status == "complete" and len(data.points) == data.attrs["total_points"], argv
        assert invoke(["show", str(out)])[0] == 0
        return
    assert code == 2, f"exit {code} for {argv}:\n{stderr}"
    assert stderr.startswith("error: ") or "usage:" in stderr, stderr
    assert stderr.count("error: ") == 1, f"more than one message:\n{stderr}"
    if out is not None and out.is_file() and out.read_bytes() != b"precious":
        assert load_run(out).status in ("failed", "stopped"), "a file left behind says why it ended"


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_overrides_exit_0_with_a_loadable_run_file_or_2_with_one_message(data, tmp_path, data_files, one_thread):
    folder = Path(tmp_path) / f"example-{data.draw(st.integers(0, 10**9))}"
    folder.mkdir(exist_ok=True)
    argv, out = data.draw(commands(folder, data_files))
    with contextlib.chdir(folder):
        code, stdout, stderr = invoke(argv)
    check_outcome(argv, written(folder) if out is None and code == 0 else out, code, stdout, stderr)
    shutil.rmtree(folder)
