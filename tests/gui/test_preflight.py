"""A Qt that cannot open a window says why (missing libraries, unreachable display) and exits 2, never aborts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gui import app, preflight

ROOT = Path(__file__).resolve().parents[2]
CLI = "python main.py run quickstart"
ISSUE_LIBRARIES = {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"}


def environment(**values) -> dict:
    """The environment with every variable that picks Qt's platform replaced by `values`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.pop("XDG_SESSION_TYPE", None)
    return env | values


def reachable(display: str) -> str:
    return ""


def unreachable(display: str) -> str:
    return f'cannot connect to the X display "{display}"'


def test_missing_xcb_libraries_are_named_with_their_packages():
    problem = preflight.window_problem(environment(DISPLAY=":0"), lambda s: s not in ISSUE_LIBRARIES, reachable)
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in problem
    assert "QT_QPA_PLATFORM" in problem and CLI in problem


def test_an_unreachable_or_unset_display_is_named():
    unset = preflight.window_problem(environment(), lambda s: True, preflight.x11_display_problem)
    assert "DISPLAY is not set" in unset and CLI in unset and "apt-get" not in unset
    far = preflight.window_problem(environment(DISPLAY=":99"), lambda s: True, unreachable)
    assert '":99"' in far and "desktop session" in far


def test_a_working_or_headless_platform_passes():
    assert preflight.window_problem(environment(DISPLAY=":0"), lambda s: True, reachable) == ""
    for platform in ("offscreen", "minimal", "vnc:size=800x600"):
        assert preflight.window_problem(environment(QT_QPA_PLATFORM=platform), lambda s: False, unreachable) == ""


def test_a_wayland_session_falls_back_to_x11_as_qt_does(tmp_path):
    env = environment(XDG_SESSION_TYPE="wayland", WAYLAND_DISPLAY="wayland-9", XDG_RUNTIME_DIR=str(tmp_path))
    assert preflight.candidate_platforms(env) == ["wayland", "xcb"]
    assert preflight.window_problem(env | {"DISPLAY": ":0"}, lambda s: True, reachable) == ""
    both = preflight.window_problem(env | {"DISPLAY": ":99"}, lambda s: True, unreachable)
    assert 'Wayland display "wayland-9"' in both and '":99"' in both


def test_launch_prints_the_problem_and_returns_2(monkeypatch, capsys):
    monkeypatch.setattr(app, "window_problem", lambda: "DDX cannot open its window: test")
    assert app.launch() == 2
    assert "DDX cannot open its window: test" in capsys.readouterr().err


def free_display() -> str:
    """An X display number with no server socket on this machine, from :99 up."""
    number = 99
    while Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    return f":{number}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland exist only on Linux here")
def test_an_unreachable_display_exits_2_with_the_message_not_a_qt_abort():
    display = free_display()
    out = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=environment(DISPLAY=display), capture_output=True, text=True
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("DDX cannot open its window:") and CLI in out.stderr
    assert f'"{display}"' in out.stderr or "missing" in out.stderr
    assert "qt.qpa" not in out.stderr
