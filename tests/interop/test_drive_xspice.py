"""Driving an X desktop in Xspice: find an X app's window by needle, click its button, see the effect."""

from __future__ import annotations

import re

import numpy as np
import pytest
import spice_session as ss
from peers.require import require_binary
from peers.xspice import Xspice
from spice_session import Driver

pytestmark = pytest.mark.interop


def _children(xspice: Xspice, window: str) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) on the screen of every window under ``window`` (xwininfo -tree)."""
    tree = xspice.display.run(["xwininfo", "-tree", "-id", window]).stdout.decode()
    return [
        (int(x), int(y), int(w), int(h))
        for w, h, x, y in re.findall(r"\)\s+(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)", tree)
    ]


async def test_find_the_window_and_click_its_button(xspice: Xspice) -> None:
    require_binary("xmessage")
    require_binary("xwininfo")
    app = xspice.display.start_client(
        "xmessage", ["xmessage", "-geometry", "+300+200", "-buttons", "Press me:7", "Automate me"]
    )
    window = xspice.display.wait_window("xmessage")
    parts = _children(xspice, window)
    frame_x, frame_y, frame_w, frame_h = max(parts, key=lambda p: p[2] * p[3])  # the app's whole frame
    bx, by, bw, bh = max((p for p in parts if p[3] < 25), key=lambda p: p[1])  # the lowest row: the button
    async with ss.connect(xspice.uri) as session:
        drive = Driver(session)
        await drive.wait_still(0.3, timeout=20)
        truth = xspice.display.screenshot()
        whole = truth[frame_y : frame_y + frame_h, frame_x : frame_x + frame_w].copy()
        button = truth[by : by + bh, bx : bx + bw].copy()
        match = await drive.expect(whole, timeout=20)
        assert (match.x, match.y, match.w, match.h, match.score) == (frame_x, frame_y, frame_w, frame_h, 1.0)
        assert app.popen.poll() is None
        clicked = await drive.click_on(button, timeout=20)
        assert (clicked.x, clicked.y) == (bx, by)
    assert app.popen.wait(10) == 7  # xmessage exits with the clicked button's value
    assert np.array_equal(truth[by : by + bh, bx : bx + bw], button)
