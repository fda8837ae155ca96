"""``spice demo`` with a display: the SDL viewer opens on the demo and shows it pixel-exact."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

import numpy as np
import pytest
import spice_server as ss
import trio
from peers.procs import start, stop
from peers.require import require_binary
from peers.viewers import bgrx_to_rgb, differing_pixels, find_frame
from peers.xvfb import Xvfb
from spice_server._demo import TITLE

pytestmark = pytest.mark.interop

TIMEOUT = 30.0


async def test_spice_demo_opens_the_viewer_on_the_demo(xvfb_factory: Callable[..., Xvfb]) -> None:
    require_binary("xwd")
    xvfb = xvfb_factory("1400x1000x24")
    env = {**xvfb.display.env, "SDL_VIDEODRIVER": "x11"}
    proc = start(
        "spice-demo",
        [sys.executable, "-m", "spice_cli", "demo", "--listen", "127.0.0.1:0", "--size", "800x600"],
        xvfb.display.log_dir,
        env=env,
    )
    try:
        # The static title bar of an 800x600 demo, found exactly on the X screen.
        reference = ss.DemoSource(800, 600)
        frame = bgrx_to_rgb(reference.frame)
        bottom = reference.layout.title.bottom
        first_ink = int(np.nonzero((frame[:bottom] == TITLE).all(axis=2).any(axis=1))[0][0])
        # ... and the empty canvas too, at its place below (the first picture may come in
        # parts: a screenshot between two of them shows the title bar over a black canvas)
        c = reference.layout.canvas
        found = None
        canvas_off = -1  # pixels of the canvas unlike the reference, when the title bar was found
        with trio.move_on_after(TIMEOUT):
            while found is None:
                assert proc.alive(), proc.log_tail()
                shot = await trio.to_thread.run_sync(xvfb.display.screenshot)
                pos = find_frame(shot, frame[first_ink:bottom])
                if pos is not None:
                    x, y = pos[0], pos[1] - first_ink
                    if differing_pixels(shot[y : y + bottom, x : x + 800], frame[:bottom]) == 0:
                        canvas = shot[y + c.top : y + c.bottom, x + c.left : x + c.right]
                        canvas_off = differing_pixels(canvas, frame[c.top : c.bottom, c.left : c.right])
                        if canvas_off == 0:
                            found = (x, y)
                            break
                await trio.sleep(0.3)
        assert canvas_off != -1, f"the demo's title bar never appeared on the screen:\n{proc.log_tail()}"
        assert found is not None, f"{canvas_off} pixels of the empty canvas wrong after {TIMEOUT} s"
        os.kill(proc.pid, signal.SIGINT)
        with trio.fail_after(60):
            while proc.alive():
                await trio.sleep(0.1)
        assert proc.popen.returncode == 130  # interrupted, as documented
        log = proc.log_tail(50)
        assert "demo server: spice://127.0.0.1:" in log
        assert "headless" not in log and "Traceback" not in log, log
    finally:
        stop(proc)
