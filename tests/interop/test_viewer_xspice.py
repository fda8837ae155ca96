"""``spice view`` under Xvfb against Xspice: the picture, the keyboard and the mouse, end to end.

The viewer runs as the real command (``python -m spice_cli view``) with SDL's x11
driver on an Xvfb display; xdotool types and clicks into its window there, and
the effects are checked inside Xspice.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from peers import procs
from peers.require import require_binary
from peers.spice_view import SpiceView, start_spice_view
from peers.x11 import RGBImage
from peers.xspice import Xspice
from peers.xvfb import Xvfb

pytestmark = pytest.mark.interop

DEADLINE = 30.0


def _differing(a: RGBImage, b: RGBImage) -> int:
    if a.shape != b.shape:
        return -1
    return int((a != b).any(axis=2).sum())


def _wait_same_picture(view: SpiceView, xspice: Xspice) -> tuple[RGBImage, RGBImage]:
    """Poll until the viewer window shows exactly the Xspice screen (or the deadline passes)."""
    end = time.monotonic() + DEADLINE
    while True:
        remote = xspice.display.screenshot()
        shown = view.screenshot()
        if _differing(shown, remote) == 0 or time.monotonic() > end:
            return shown, remote
        time.sleep(0.2)


def _client_mouse(view: SpiceView) -> None:
    view.wait_title("client mouse")


@pytest.fixture
def desktop(xspice: Xspice) -> Xspice:
    """Xspice with a coloured root, an xterm with text and an xlogo."""
    require_binary("xsetroot")
    require_binary("xlogo")
    xspice.display.run(["xsetroot", "-mod", "5", "7", "-fg", "#ff8800", "-bg", "#3a6ea5"])
    colours = "".join(f"\\033[3{i}mcolour {i} " for i in range(1, 7))
    xspice.display.start_xterm(f"printf '{colours}\\n'; exec sleep infinity", title="viewer-text")
    xspice.display.wait_window("viewer-text")
    xspice.display.start_client("xlogo", ["xlogo", "-geometry", "180x160+620+420"])
    xspice.display.wait_window("xlogo")
    return xspice


def test_window_at_remote_size_shows_the_screen_pixel_exact(desktop: Xspice, xvfb: Xvfb) -> None:
    view = start_spice_view(xvfb.display, desktop.uri)
    assert view.geometry()[2:] == (1024, 768)  # the Xspice primary surface
    shown, remote = _wait_same_picture(view, desktop)
    assert shown.shape == remote.shape
    diff = _differing(shown, remote)
    assert diff == 0, f"{diff} pixels differ between the viewer window and xwd of Xspice"
    assert len(np.unique(remote.reshape(-1, 3), axis=0)) >= 8  # a real picture, not a blank screen


def test_typed_text_reaches_an_xterm_inside_xspice(xspice: Xspice, xvfb: Xvfb, tmp_path: Path) -> None:
    out = tmp_path / "typed.txt"
    xspice.display.start_xterm(f"exec cat > {shlex.quote(str(out))}", title="viewer-kbd")
    target = xspice.display.wait_window("viewer-kbd")
    xspice.display.run(["xdotool", "windowfocus", "--sync", target])
    view = start_spice_view(xvfb.display, xspice.uri)
    _wait_same_picture(view, xspice)
    xvfb.display.run(["xdotool", "windowfocus", "--sync", view.window])
    xvfb.display.run(["xdotool", "type", "--delay", "25", "Hello, World"])
    # Left arrow (E0 4B) reaches cat as ESC [ D; KP_Divide (E0 35) and KP_Enter (E0 1C) are extended too.
    xvfb.display.run(["xdotool", "key", "--delay", "25", "Left"])
    xvfb.display.run(["xdotool", "type", "--delay", "25", "!~ Done"])
    xvfb.display.run(["xdotool", "key", "--delay", "25", "KP_Divide", "KP_Enter"])
    end = time.monotonic() + DEADLINE
    text = ""
    while time.monotonic() < end:
        text = out.read_text(errors="replace") if out.exists() else ""
        if text.endswith("\n"):
            break
        time.sleep(0.05)
    assert text == "Hello, World\x1b[D!~ Done/\n"


def _xev_clicks(log: Path) -> list[tuple[str, int, int, int, int]]:
    """(event, x, y, root x, root y) of every ButtonPress/ButtonRelease xev printed."""
    text = log.read_text(errors="replace") if log.exists() else ""
    pattern = re.compile(
        r"(ButtonPress|ButtonRelease) event.*?\((-?\d+),(-?\d+)\), root:\((-?\d+),(-?\d+)\)", re.S
    )
    return [(m[1], int(m[2]), int(m[3]), int(m[4]), int(m[5])) for m in pattern.finditer(text)]


def test_click_lands_where_aimed(xspice: Xspice, xvfb: Xvfb) -> None:
    require_binary("xev")
    require_binary("stdbuf")
    xev = xspice.display.start_client(
        "xev", ["stdbuf", "-oL", "xev", "-geometry", "300x200+200+150", "-event", "button"]
    )
    xspice.display.wait_window("Event Tester")
    view = start_spice_view(xvfb.display, xspice.uri)
    _client_mouse(view)
    _wait_same_picture(view, xspice)
    assert "click to grab" in view.title()
    wx, wy, _, _ = view.geometry()
    # Remote (250, 260) is inside the xev window (at 200,150 plus its 2-pixel border).
    xvfb.display.run(["xdotool", "mousemove", "--sync", str(wx + 250), str(wy + 260)])
    xvfb.display.run(["xdotool", "click", "1"])
    procs.wait_until("xev to report the click", lambda: len(_xev_clicks(xev.log)) >= 2, xev, DEADLINE)
    press, release = _xev_clicks(xev.log)[:2]
    assert press == ("ButtonPress", 48, 108, 250, 260)
    assert release == ("ButtonRelease", 48, 108, 250, 260)
    # The click grabbed the input: the title says how to let go.
    assert "press Ctrl+Alt to release" in view.wait_title("to release")
    xvfb.display.run(["xdotool", "key", "ctrl+alt"])
    view.wait_title("click to grab")


def test_server_gone_ends_the_viewer_with_one_line(xspice: Xspice, xvfb: Xvfb) -> None:
    view = start_spice_view(xvfb.display, xspice.uri, "--no-reconnect")
    _wait_same_picture(view, xspice)
    xspice.stop()
    code = view.exit_code()
    lines = [line for line in view.proc.log.read_text(errors="replace").splitlines() if line.strip()]
    assert code == 9, lines
    assert lines[-1].startswith("spice: connection lost"), lines
    assert lines[-1].count("connection lost") == 1, lines
    assert not any("Traceback" in line for line in lines)


def test_ctrl_c_closes_cleanly(xspice: Xspice, xvfb: Xvfb) -> None:
    view = start_spice_view(xvfb.display, xspice.uri)
    _wait_same_picture(view, xspice)
    os.kill(view.proc.pid, signal.SIGINT)
    code = view.exit_code()
    lines = [line for line in view.proc.log.read_text(errors="replace").splitlines() if line.strip()]
    assert code == 130, lines
    assert lines == ["spice: interrupted"]


def test_scaled_window_keeps_the_aspect_ratio(desktop: Xspice, xvfb: Xvfb) -> None:
    view = start_spice_view(xvfb.display, desktop.uri)
    _wait_same_picture(view, desktop)
    xvfb.display.run(["xdotool", "windowsize", "--sync", view.window, "1024", "384"])
    remote = desktop.display.screenshot()

    def letterboxed() -> bool:
        shown = view.screenshot()
        if shown.shape[:2] != (384, 1024):
            return False
        # 1024x768 into 1024x384: a 512x384 picture centred, black bars left and right.
        bars = shown[:, :256].any() or shown[:, 768:].any()
        return not bars and bool(shown[:, 256:768].any())

    procs.wait_until("the letterboxed picture", letterboxed, view.proc, DEADLINE, poll=0.2)
    shown = view.screenshot()[:, 256:768].astype(int)
    small = remote.reshape(384, 2, 512, 2, 3).mean(axis=(1, 3))  # each 2x2 block averaged
    # Linear filtering at exactly half size averages 2x2 blocks (measured: 0.2 mean difference;
    # the unscaled top-left quarter differs by ~90).
    assert np.abs(shown - small).mean() < 2


# Unshifted keysyms across the whole PC keyboard (locks pressed twice to leave them as they were).
_KEYS_TEXT = """
Escape F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 grave 1 2 3 4 5 6 7 8 9 0 minus equal BackSpace
Tab q w e r t y u i o p bracketleft bracketright backslash Caps_Lock Caps_Lock
a s d f g h j k l semicolon apostrophe Return Shift_L z x c v b n m comma period slash Shift_R
Control_L Super_L Alt_L space Alt_R Super_R Menu Control_R Print Scroll_Lock Scroll_Lock Pause
Insert Home Prior Delete End Next Up Left Down Right Num_Lock Num_Lock KP_Divide KP_Multiply
KP_Subtract KP_Add KP_Enter KP_Home KP_Up KP_Prior KP_Left KP_Begin KP_Right KP_End KP_Down
KP_Next KP_Insert KP_Delete
"""
_KEYS = tuple(_KEYS_TEXT.split())
_LEFT_TWIN = {"Shift_R": "Shift_L", "Alt_R": "Alt_L", "Super_R": "Super_L", "Control_R": "Control_L"}


def _keycodes_of(xvfb: Xvfb) -> dict[str, int]:
    """Keysym (first column) -> keycode in the Xvfb keymap."""
    table: dict[str, int] = {}
    for line in xvfb.display.run(["xmodmap", "-pke"]).stdout.decode().splitlines():
        match = re.match(r"keycode\s+(\d+) = (\S+)", line)
        if match:
            table.setdefault(match[2], int(match[1]))
    return table


def test_every_key_arrives_as_the_same_key(xspice: Xspice, xvfb: Xvfb) -> None:
    # Both X servers use evdev keycodes, so a key pressed on Xvfb must reach an X client in Xspice
    # with the same keycode: X keycode -> SDL scancode -> set-1 (our table) -> Xspice -> X keycode.
    require_binary("xev")
    require_binary("stdbuf")
    require_binary("xmodmap")
    expected = _keycodes_of(xvfb)
    assert all(key in expected for key in _KEYS), [k for k in _KEYS if k not in expected]
    want: list[int] = []
    for key in _KEYS:
        # xdotool sets a right-hand modifier's modifier bit by pressing the left-hand key first.
        if key in _LEFT_TWIN:
            want.append(expected[_LEFT_TWIN[key]])
        want.append(expected[key])
    xev = xspice.display.start_client(
        "xev-keys", ["stdbuf", "-oL", "xev", "-geometry", "200x100+10+10", "-event", "keyboard"]
    )
    target = xspice.display.wait_window("Event Tester")
    xspice.display.run(["xdotool", "windowfocus", "--sync", target])
    view = start_spice_view(xvfb.display, xspice.uri)
    _wait_same_picture(view, xspice)
    xvfb.display.run(["xdotool", "windowfocus", "--sync", view.window])
    xvfb.display.run(["xdotool", "key", "--delay", "20", *_KEYS], timeout=60)

    def presses() -> list[int]:
        text = xev.log.read_text(errors="replace") if xev.log.exists() else ""
        return [int(m[1]) for m in re.finditer(r"KeyPress event.*?keycode (\d+)", text, re.S)]

    procs.wait_until("xev to see every key", lambda: len(presses()) >= len(want), xev, DEADLINE)
    got = presses()
    assert got == want, f"{got} != {want}"
