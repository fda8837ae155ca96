"""A .vv file's hot keys through a real X server: spice view on Xvfb (SDL's x11 driver) given
release-cursor=shift+f12 lets go of the grab on Shift+F12 typed with xdotool, and no longer
on Ctrl+Alt; the title names the file's keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from peers import ports, procs
from peers.spice_view import start_spice_view
from peers.xvfb import Xvfb
from test_view_reconnect import _serve

pytestmark = pytest.mark.interop


def test_vv_release_cursor_key_over_x11(xvfb: Xvfb, tmp_path: Path) -> None:
    port = ports.free_tcp_port()
    server = _serve(port, "hotkey-ticket", tmp_path)
    try:
        vv = tmp_path / "keys.vv"
        vv.write_text(
            f"[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport={port}\npassword=hotkey-ticket\n"
            "toggle-fullscreen=Shift+F11\nrelease-cursor=Shift+F12\n"
        )
        view = start_spice_view(xvfb.display, str(vv))
        assert "click to grab input, Shift+F11 fullscreen" in view.wait_title("click to grab", timeout=60)
        x, y, w, h = view.geometry()
        # not the screen centre: Xvfb starts the pointer there, and --sync would wait for a move
        xvfb.display.run(["xdotool", "mousemove", "--sync", str(x + w // 3), str(y + h // 3)])
        xvfb.display.run(["xdotool", "click", "1"])
        assert "press Shift+F12 to release" in view.wait_title("to release", timeout=60)
        xvfb.display.run(["xdotool", "key", "ctrl+alt"])  # the default: not bound by this file
        time.sleep(1.0)  # a release would show at once; give it time to show wrongly
        assert "to release" in view.title()
        xvfb.display.run(["xdotool", "key", "shift+F12"])
        view.wait_title("click to grab", timeout=60)
        assert view.proc.alive()
    finally:
        procs.stop(server)
