"""Our own ``spice view`` running on an Xvfb display: start it, find its window, look at it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass

from . import procs
from .require import require_binary
from .x11 import RGBImage, XDisplay, _base_env

#: The X11 class the viewer's window carries (``spice_cli._sdl_window.WINDOW_CLASS``).
WINDOW_CLASS = "spice-view"


@dataclass
class SpiceView:
    """A running ``spice view`` and its window on ``display``."""

    proc: procs.Proc
    display: XDisplay
    window: str

    def _x(self, argv: list[str]) -> str:
        return self.display.run(argv).stdout.decode(errors="replace")

    def geometry(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the window on the root, from ``xwininfo``."""
        out = self._x(["xwininfo", "-id", self.window])
        values = {}
        for key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
            match = re.search(rf"{key}:\s+(-?\d+)", out)
            assert match, out
            values[key] = int(match[1])
        return (
            values["Absolute upper-left X"],
            values["Absolute upper-left Y"],
            values["Width"],
            values["Height"],
        )

    def title(self) -> str:
        out = self._x(["xprop", "-id", self.window, "_NET_WM_NAME"])
        match = re.search(r'= "(.*)"', out)
        return match[1] if match else ""

    def screenshot(self) -> RGBImage:
        """The window's pixels as the X server shows them (``xwd -root`` cropped to the window)."""
        x, y, w, h = self.geometry()
        return self.display.screenshot()[y : y + h, x : x + w]

    def wait_title(self, fragment: str, timeout: float = 20.0) -> str:
        procs.wait_until(
            f"viewer title with {fragment!r}", lambda: fragment in self.title(), self.proc, timeout
        )
        return self.title()

    def exit_code(self, timeout: float = 20.0) -> int:
        return self.proc.popen.wait(timeout)


def _find_window(display: XDisplay) -> str | None:
    result = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--class", WINDOW_CLASS],
        env={**_base_env(), **display.env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=10,
        check=False,
    )
    found = result.stdout.decode().split()
    return found[0] if found else None


def start_spice_view(display: XDisplay, uri: str, *args: str, timeout: float = 30.0) -> SpiceView:
    """Run ``spice view URI ARGS`` on ``display`` (SDL's x11 driver) and wait for its window."""
    require_binary("xdotool")
    require_binary("xwininfo")
    require_binary("xprop")
    argv = [sys.executable, "-m", "spice_cli", "view", uri, *args]
    proc = procs.start(
        f"spice-view-{len(display.clients)}",
        argv,
        display.log_dir,
        env={**display.env, "SDL_VIDEODRIVER": "x11"},
    )
    display.clients.append(proc)
    deadline = time.monotonic() + timeout
    while True:
        window = _find_window(display)
        if window is not None:
            return SpiceView(proc, display, window)
        if not proc.alive():
            raise procs.PeerError(f"spice view exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        if time.monotonic() > deadline:
            raise procs.PeerError(f"no spice view window after {timeout} s:\n{proc.log_tail()}")
        time.sleep(0.05)
