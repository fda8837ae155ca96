"""spice view (SDL's dummy driver) on Xspice with two QXL heads and the real spice-vdagent: a
window for the second head of the one display channel, and the guest following its size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import spice_session
import trio
from peers.vdagent import wait_xrandr, xspice_with_agent
from peers.xspice import Xspice
from spice_cli._sdl_viewer import Viewer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]


async def _xrandr(xspice: Xspice, *geometries: str) -> None:
    await trio.to_thread.run_sync(lambda: wait_xrandr(xspice.display, *geometries))


@pytest.mark.usefixtures("sdl")
async def test_spice_view_shows_and_resizes_both_heads(
    xspice_factory: Callable[..., Xspice], peers: object, tmp_path: Path
) -> None:
    """Two monitors asked for: spice-vdagent enables the second QXL head, Xspice sends both heads of
    its one display channel, spice view opens a window for the second head showing exactly that
    part of the surface; resizing that window gives the guest a new layout of both monitors."""
    import sdl2  # after spice_cli's window module, which quiets pysdl2's import warning

    xspice, _ = xspice_with_agent(xspice_factory, peers.started, tmp_path / "agent", heads=2)  # type: ignore[attr-defined]
    async with spice_session.connect(xspice.uri) as session:
        await session.agent.ready(timeout=30)
        async with trio.open_nursery() as nursery:
            viewer = Viewer(session, clipboard=False)
            nursery.start_soon(viewer.run)
            await session.screenshot(timeout=20)
            await session.set_monitors([(800, 600), (640, 480)])
            await _xrandr(xspice, "800x600+0+0", "640x480+800+0")
            with trio.fail_after(30):
                while (0, 1) not in viewer.heads or viewer.window is None:
                    await trio.sleep(0.05)
                head, main = viewer.heads[(0, 1)], viewer.window
                while (head.width, head.height, main.width, main.height) != (640, 480, 800, 600):
                    await trio.sleep(0.05)
            with trio.fail_after(30):  # the second head's window: the surface right of the first head
                while True:
                    want = session.display.monitor_rgb(session.display.monitor_layout()[1])
                    got = head.read_pixels()[:, :, 2::-1]
                    if got.shape == want.shape and (got == want).all():
                        break
                    await trio.sleep(0.2)
            sdl2.SDL_SetWindowSize(head._window, 720, 400)
            await _xrandr(xspice, "800x600+0+0", "720x400+800+0")
            nursery.cancel_scope.cancel()
