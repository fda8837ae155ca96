"""tshark's SPICE dissector reads a whole remote-viewer session with our server without a complaint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import spice_server as ss
import spice_session
import trio
from peers.capture import start_capture, tshark_read
from peers.viewers import ViewerOptions, pattern_frame, start_viewer
from peers.xvfb import Xvfb
from spice_proto import Rect
from test_server_inputs import xdotool
from test_server_viewers import H, W, running, shown_at

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("mode", ["auto_glz", "off"])
async def test_capture_has_no_malformed_packets(
    mode: str, xvfb: Xvfb, tmp_path: Path, xvfb_factory: Callable[..., Xvfb]
) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, image_compression=mode)
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            new = pattern_frame(W, H, variant=1)
            fb.update(new[:, : W // 2], Rect(0, 0, W // 2, H))
            await shown_at(xvfb, fb.frame)
            fb.update(new[:, W // 2 :], Rect(W // 2, 0, W, H))
            fb.update(new[5:9, 5:9], Rect(5, 5, 9, 9))
            await shown_at(xvfb, fb.frame)
            server.set_cursor(bytes(range(256)) * 4, 16, 16, 2, 3)
            await xdotool(xvfb, "mousemove", str(x + 10), str(y + 10))
            await xdotool(xvfb, "click", "1")
            await xdotool(xvfb, "key", "a")
            await trio.sleep(1.0)
            xvfb.display.stop_clients()  # the viewer disconnects; its last packets get captured
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    malformed = await trio.to_thread.run_sync(tshark_read, capture.path, addr.port, "-Y", "_ws.malformed")
    assert malformed.strip() == ""
    # ... and the capture really holds a SPICE session: every channel and the images we sent
    fields = ["-Y", "spice", "-T", "fields", "-e", "spice.channel_type", "-e", "spice.image_type"]
    table = await trio.to_thread.run_sync(lambda: tshark_read(capture.path, addr.port, *fields))
    channel_types = set()
    image_types = set()
    for line in table.splitlines():
        chan, _, images = line.partition("\t")
        channel_types.update(v for v in chan.split(",") if v)
        image_types.update(v for v in images.split(",") if v)
    assert {"1", "2", "3", "4"} <= channel_types, channel_types
    expected_images = {"auto_glz": {"1", "102"}, "off": {"0"}}[mode]  # QUIC and GLZ_RGB; BITMAP
    assert expected_images <= image_types, image_types


async def test_our_client_is_read_by_the_dissector(tmp_path: Path) -> None:
    """spice_session linking with a password: tshark reads each channel's messages after the
    ticket (it used to label them all "Client ticket" when the mechanism word and the ticket
    shared a segment)."""
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, password="sesame")
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            uri = f"spice://127.0.0.1:{addr.port}"
            async with spice_session.connect(uri, password="sesame") as session:
                await session.screenshot(settle=0.2)
                await session.inputs.key("a")
                await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    malformed = await trio.to_thread.run_sync(tshark_read, capture.path, addr.port, "-Y", "_ws.malformed")
    assert malformed.strip() == ""
    fields = ["-Y", f"spice && tcp.dstport == {addr.port}", "-T", "fields", "-e", "spice.message_type"]
    table = await trio.to_thread.run_sync(lambda: tshark_read(capture.path, addr.port, *fields))
    sent = {int(v) for line in table.splitlines() for v in line.split(",") if v}
    assert 101 in sent, sent  # DISPLAY_INIT / INPUTS_KEY_DOWN: client messages dissected
