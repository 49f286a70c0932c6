"""Before Qt starts: check that its platform plugin can open a window, and say what is missing if not.

Qt aborts the process (SIGABRT) with its raw plugin text when no platform plugin can start, so DDX
checks first what the chosen plugin needs: a reachable display server and the system libraries the
plugin links to. Nothing here imports Qt.
"""

import ctypes
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The shared libraries each Linux platform plugin of the PySide6 wheels links to (beyond Qt's own and
# libc), with the Debian/Ubuntu package that ships each one.
LIBRARIES = {
    "xcb": {
        "libxcb.so.1": "libxcb1",
        "libX11.so.6": "libx11-6",
        "libX11-xcb.so.1": "libx11-xcb1",
        "libxcb-cursor.so.0": "libxcb-cursor0",
        "libxcb-icccm.so.4": "libxcb-icccm4",
        "libxcb-image.so.0": "libxcb-image0",
        "libxcb-keysyms.so.1": "libxcb-keysyms1",
        "libxcb-randr.so.0": "libxcb-randr0",
        "libxcb-render.so.0": "libxcb-render0",
        "libxcb-render-util.so.0": "libxcb-render-util0",
        "libxcb-shape.so.0": "libxcb-shape0",
        "libxcb-shm.so.0": "libxcb-shm0",
        "libxcb-sync.so.1": "libxcb-sync1",
        "libxcb-util.so.1": "libxcb-util1",
        "libxcb-xfixes.so.0": "libxcb-xfixes0",
        "libxcb-xkb.so.1": "libxcb-xkb1",
        "libxkbcommon.so.0": "libxkbcommon0",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
        "libGL.so.1": "libgl1",
        "libEGL.so.1": "libegl1",
        "libfontconfig.so.1": "libfontconfig1",
        "libdbus-1.so.3": "libdbus-1-3",
        "libglib-2.0.so.0": "libglib2.0-0",
    },
    "wayland": {
        "libwayland-client.so.0": "libwayland-client0",
        "libwayland-cursor.so.0": "libwayland-cursor0",
        "libwayland-egl.so.1": "libwayland-egl1",
        "libxkbcommon.so.0": "libxkbcommon0",
        "libGL.so.1": "libgl1",
        "libEGL.so.1": "libegl1",
        "libfontconfig.so.1": "libfontconfig1",
        "libdbus-1.so.3": "libdbus-1-3",
    },
}
CLI_HINT = "Without a window, use the command line:  python main.py run quickstart  (python main.py presets lists the experiments)"


@dataclass
class PlatformCheck:
    """What one Qt platform plugin lacks: shared libraries (soname → package) and a display problem."""

    platform: str
    missing: dict[str, str] = field(default_factory=dict)
    display: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.display


def candidate_platforms(env=os.environ) -> list[str]:
    """The platform plugins Qt will try, in order: QT_QPA_PLATFORM's list, else what the session implies.

    Without QT_QPA_PLATFORM, Qt 6 on Linux uses xcb, and tries wayland first in a Wayland session.
    """
    chosen = env.get("QT_QPA_PLATFORM", "")
    if chosen:
        return [name.split(":")[0].strip() for name in chosen.split(";") if name.strip()]
    return ["wayland", "xcb"] if env.get("XDG_SESSION_TYPE") == "wayland" else ["xcb"]


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds `soname` (and everything it links to)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries(platform: str, loads=can_load) -> dict[str, str]:
    """The plugin's shared libraries the loader cannot find, each with the package that ships it."""
    family = "wayland" if platform.startswith("wayland") else platform
    return {soname: package for soname, package in LIBRARIES.get(family, {}).items() if not loads(soname)}


def x11_display_problem(display: str) -> str:
    """Why libxcb cannot connect to the X display `display` (as Qt's xcb plugin would), or ''."""
    if not display:
        return "no X display: DISPLAY is not set"
    xcb = ctypes.CDLL("libxcb.so.1")
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        failed = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)
    return (
        f'cannot connect to the X display "{display}" set in DISPLAY (no X server there, or access denied)'
        if failed
        else ""
    )


def wayland_display_problem(env=os.environ) -> str:
    """Why the Wayland compositor's socket cannot be reached, or ''."""
    name = env.get("WAYLAND_DISPLAY") or "wayland-0"  # libwayland's default
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if not name.startswith("/") and not runtime:
        return "no Wayland display: XDG_RUNTIME_DIR is not set"
    path = Path(name) if name.startswith("/") else Path(runtime) / name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(path))
    except OSError:
        return f'cannot connect to the Wayland display "{name}" (WAYLAND_DISPLAY): no compositor listens at {path}'
    return ""


def check_platform(platform: str, env=os.environ, loads=can_load, x11=x11_display_problem) -> PlatformCheck:
    """What `platform` lacks; the display is checked only once its libraries load."""
    check = PlatformCheck(platform, missing_libraries(platform, loads))
    if check.missing:
        return check
    if platform == "xcb":
        check.display = x11(env.get("DISPLAY", ""))
    elif platform.startswith("wayland"):
        check.display = wayland_display_problem(env)
    return check


def describe(checks: list[PlatformCheck]) -> str:
    """One message: what each tried platform lacks, what to install or set, and the CLI alternative."""
    lines = ["DDX cannot open its window:"]
    packages: list[str] = []
    for check in checks:
        name = f"Qt's {check.platform} platform ({'X11' if check.platform == 'xcb' else 'Wayland'})"
        if check.missing:
            lines.append(f"- {name} needs system libraries that are missing: {', '.join(check.missing)}")
            packages += [p for p in check.missing.values() if p not in packages]
        if check.display:
            lines.append(f"- {name}: {check.display}")
    if packages:
        lines.append(f"Install them (Debian/Ubuntu):  sudo apt-get install {' '.join(packages)}")
    if any(c.display for c in checks):
        lines.append("Start DDX from a desktop session (or over ssh -X).")
    lines.append("Or set QT_QPA_PLATFORM to a platform that works here (xcb for X11, wayland for Wayland).")
    lines.append(CLI_HINT)
    return "\n".join(lines)


def window_problem(env=os.environ, loads=can_load, x11=x11_display_problem) -> str:
    """Why Qt could not open a window here; '' when it can, or when DDX cannot tell.

    Only Linux's window-system plugins (xcb, wayland) are checked; a headless plugin (offscreen, vnc, …)
    or another system is left to Qt.
    """
    if not sys.platform.startswith("linux"):
        return ""
    checks = []
    for platform in candidate_platforms(env):
        if platform != "xcb" and not platform.startswith("wayland"):
            return ""
        check = check_platform(platform, env, loads, x11)
        if check.ok:
            return ""
        checks.append(check)
    return describe(checks) if checks else ""
