"""Real viewers (remote-viewer, spicy) get in while the server is flooded, and answer the keepalive
PINGs on every channel, so a short idle timeout never drops them."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from peers.viewers import VIEWERS, ViewerOptions, pattern_frame, start_viewer
from peers.xvfb import Xvfb

from .server_side import PASSWORD, evil_subprocess, serving

pytestmark = pytest.mark.interop

W, H = 64, 48
IDLE_TIMEOUT = 2.0


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_viewer_gets_in_under_the_flood_and_survives_the_keepalive(
    viewer: str, xvfb: Xvfb, tmp_path: Path
) -> None:
    async with serving(tmp_path, password=PASSWORD, idle_timeout=IDLE_TIMEOUT) as served:
        served.server.display.update(pattern_frame(W, H))  # type: ignore[attr-defined]
        async with evil_subprocess(served.port, "--idle", "200", "--retry", "0.5", "--guessers", "8"):
            start_viewer(xvfb.display, viewer, ViewerOptions(port=served.port, password=PASSWORD))
            with trio.fail_after(30):  # a viewer process takes a while to start
                while not served.server.clients or len(served.server.clients[0].channels) < 4:
                    await trio.sleep(0.05)  # main, display, inputs, cursor
            (client,) = served.server.clients
            linked = set(client.channels)
            # nothing changes on screen: the viewer only has the PINGs to answer
            await trio.sleep(3 * IDLE_TIMEOUT)
            assert served.server.clients == [client]
            assert set(client.channels) == linked
