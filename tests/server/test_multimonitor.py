"""Several monitors from one spice_server (one source each, one display channel each) with
spice_session: the layout, each monitor's picture, resize per monitor, spice screenshot --monitor."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import spice_server
import spice_session
import trio
from peers.server_task import serve_uri
from PIL import Image
from spice_proto import ChannelType

pytestmark = pytest.mark.timeout(60)


async def test_two_sources_are_two_display_channels_with_a_layout() -> None:
    left, right = spice_server.Framebuffer(320, 200), spice_server.Framebuffer(160, 240)
    left.fill((200, 10, 10))
    right.fill((10, 10, 200))
    agent = spice_server.GuestAgent()
    server = spice_server.Server([left, right], agent=agent)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                displays = sorted(c.id for c in session.channels if c.type == ChannelType.DISPLAY)
                assert displays == [0, 1]
                await session.screenshot(timeout=10)
                while len(session.display.monitor_layout()) < 2:
                    await session.display_changed()
                first, second = session.display.monitor_layout()
                assert (first.channel_id, first.width, first.height) == (0, 320, 200)
                assert (second.channel_id, second.width, second.height) == (1, 160, 240)
                while session.display.monitor_rgb(second)[0, 0].tolist() != [10, 10, 200]:
                    await session.display_changed()
                assert (session.display.monitor_rgb(first) == [200, 10, 10]).all()

                await session.set_monitors([(400, 300), (200, 100)])
                assert [(left.width, left.height), (right.width, right.height)] == [(400, 300), (200, 100)]
                right.fill((1, 2, 3))
                while True:
                    layout = session.display.monitor_layout()
                    sizes = [(m.width, m.height) for m in layout]
                    if sizes == [(400, 300), (200, 100)] and session.display.monitor_rgb(layout[1])[
                        50, 100
                    ].tolist() == [1, 2, 3]:
                        break
                    await session.display_changed()
            nursery.cancel_scope.cancel()


async def test_screenshot_of_one_monitor_and_of_all(tmp_path: Path) -> None:
    left, right = spice_server.Framebuffer(320, 200), spice_server.Framebuffer(160, 240)
    left.fill((200, 10, 10))
    right.fill((10, 10, 200))
    server = spice_server.Server([left, right])
    with trio.fail_after(50):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            for which, name in (("1", "one.png"), ("all", "all.png")):
                result = await trio.run_process(
                    [
                        sys.executable,
                        "-m",
                        "spice_cli",
                        "screenshot",
                        uri,
                        str(tmp_path / name),
                        "--monitor",
                        which,
                    ],
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                )
                assert result.returncode == 0, result.stderr
            bad = await trio.run_process(
                [
                    sys.executable,
                    "-m",
                    "spice_cli",
                    "screenshot",
                    uri,
                    str(tmp_path / "x.png"),
                    "--monitor",
                    "2",
                ],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            assert bad.returncode == 2 and b"2 monitor(s)" in bad.stderr
            nursery.cancel_scope.cancel()
    one = np.asarray(Image.open(tmp_path / "one.png"))
    assert one.shape == (240, 160, 3) and (one == [10, 10, 200]).all()
    both = np.asarray(Image.open(tmp_path / "all.png"))
    assert both.shape == (240, 480, 3)
    assert (both[:200, :320] == [200, 10, 10]).all() and (both[200:, :320] == 0).all()
    assert (both[:, 320:] == [10, 10, 200]).all()
