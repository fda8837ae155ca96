"""The demo scene in remote-viewer on Xvfb: shown pixel-exact, alive, and typing and drawing in the
viewer change the demo.  (spicy opens a smaller window and scales the display, so it cannot be
compared pixel by pixel at this size; it is compared exactly on smaller frames in test_server_viewers.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
import pytest
import spice_server as ss
import trio
from peers.viewers import ViewerOptions, bgrx_to_rgb, differing_pixels, find_frame, start_viewer
from peers.xvfb import Xvfb
from spice_server._demo import PENS, TITLE

pytestmark = pytest.mark.interop

TIMEOUT = 30.0


@asynccontextmanager
async def demo_server(source: ss.DemoSource) -> AsyncIterator[ss.ServerAddress]:
    server = ss.Server(source)
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        nursery.start_soon(source.consume, server.input_events())
        yield addr
        nursery.cancel_scope.cancel()


async def screenshot(xvfb: Xvfb) -> np.ndarray:
    return await trio.to_thread.run_sync(xvfb.display.screenshot)


async def xdotool(xvfb: Xvfb, *args: str) -> None:
    await trio.to_thread.run_sync(xvfb.display.run, ["xdotool", *args])


async def locate(xvfb: Xvfb, source: ss.DemoSource) -> tuple[int, int]:
    """Where the viewer shows the demo's frame: found by its static title bar, which must match exactly."""
    frame = bgrx_to_rgb(source.frame)
    title = source.layout.title
    first_ink = int(np.nonzero((frame[: title.bottom] == TITLE).all(axis=2).any(axis=1))[0][0])
    static = frame[first_ink : title.bottom]
    last = "the title bar is not on the screen"
    with trio.move_on_after(TIMEOUT):
        while True:
            shot = await screenshot(xvfb)
            pos = await trio.to_thread.run_sync(find_frame, shot, static)
            if pos is not None:
                x, y = pos[0], pos[1] - first_ink
                diff = differing_pixels(
                    shot[y : y + title.bottom, x : x + source.width], frame[: title.bottom]
                )
                if diff == 0:
                    return x, y
                last = f"title bar at {x},{y} with {diff} differing pixels"
            await trio.sleep(0.2)
    raise AssertionError(f"the demo is not on the screen after {TIMEOUT} s: {last}")


async def wait_exact(xvfb: Xvfb, source: ss.DemoSource, x: int, y: int) -> None:
    """Until the whole frame is on the screen at ``x, y`` exactly."""
    frame = bgrx_to_rgb(source.frame)
    diff = -1
    with trio.move_on_after(TIMEOUT):
        while True:
            shot = await screenshot(xvfb)
            diff = differing_pixels(shot[y : y + source.height, x : x + source.width], frame)
            if diff == 0:
                return
            await trio.sleep(0.2)
    raise AssertionError(f"the frozen demo frame differs from the screen in {diff} pixels")


async def test_remote_viewer_shows_the_live_demo_and_drives_it(xvfb_factory: Callable[..., Xvfb]) -> None:
    xvfb = xvfb_factory("1400x1000x24")
    source = ss.DemoSource(1024, 768)
    lay = source.layout
    async with demo_server(source) as addr:
        start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
        x, y = await locate(xvfb, source)
        # alive: the animation moves on screen, the static canvas stays exact
        p = lay.plasma
        area = (slice(y + p.top, y + p.bottom), slice(x + p.left, x + p.right))
        first = await screenshot(xvfb)
        moved = 0
        with trio.move_on_after(TIMEOUT):  # a loaded machine may show no new frame within 0.5 s
            while moved <= p.width * p.height // 4:
                await trio.sleep(0.5)
                second = await screenshot(xvfb)
                moved = differing_pixels(first[area], second[area])
        assert moved > p.width * p.height // 4, f"the animation moved {moved} pixels in {TIMEOUT} s"
        c = lay.canvas
        canvas = (slice(y + c.top, y + c.bottom), slice(x + c.left, x + c.right))
        assert (
            differing_pixels(second[canvas], bgrx_to_rgb(source.frame)[c.top : c.bottom, c.left : c.right])
            == 0
        )

        # typing in the viewer types into the demo (no window manager: keys go where the pointer is)
        cx, cy = c.left + 60, c.top + 90
        await xdotool(xvfb, "mousemove", str(x + cx), str(y + cy))
        await xdotool(xvfb, "type", "--delay", "120", "Hi spice")
        with trio.fail_after(TIMEOUT):
            while source.typed != "Hi spice":
                await trio.sleep(0.1)
        # dragging draws a stroke on the canvas
        await xdotool(xvfb, "mousedown", "1")
        for step in range(1, 9):
            await xdotool(xvfb, "mousemove", str(x + cx + 25 * step), str(y + cy))
        await xdotool(xvfb, "mouseup", "1")
        pen = np.array([PENS[1][2], PENS[1][1], PENS[1][0], 0], np.uint8)
        with trio.fail_after(TIMEOUT):
            while not (source.frame[cy, cx : cx + 201] == pen).all():
                await trio.sleep(0.1)
        # a still scene reaches the screen exactly, typed text and stroke included
        source.freeze()
        await wait_exact(xvfb, source, x, y)
