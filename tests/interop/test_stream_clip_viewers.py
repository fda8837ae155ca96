"""remote-viewer and spicy (spice-gtk) clip spice_server's stream where other drawing covers it,
on Xvfb, with tshark.

A stream runs on ANIM; then a "window" is drawn over its top-left corner and the application
keeps drawing its frames with the window on top.  The server sends STREAM_CLIP (display message
124, clip type RECTS: the stream's box minus the corner) and draws the corner losslessly; the
viewer's window shows the covered corner and everything outside the stream pixel-exact while the
rest of the stream area is within the JPEG tolerance of the frame (mean <= 3, p99 <= 16) and the
stream still runs.  tshark finds STREAM_CLIP with its rectangles and no malformed packet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spice_server as ss
import trio
from peers.capture import start_capture, tshark_read
from peers.viewers import ViewerOptions, bgrx_to_rgb, pattern_frame, start_viewer
from peers.xvfb import Xvfb
from spice_proto import Rect
from test_server_streams import (
    ANIM,
    JPEG_MEAN,
    JPEG_P99,
    animate,
    message_types,
    no_malformed,
    smooth,
    still_stream_shown,
)
from test_server_viewers import H, W, running, shown_at

pytestmark = pytest.mark.interop

STREAM_CLIP = 124
WINDOW = Rect(ANIM.left - 60, ANIM.top - 40, ANIM.left + 90, ANIM.top + 70)
CORNER = WINDOW.intersect(ANIM)


def composed(variant: int, content: np.ndarray) -> np.ndarray:
    """The stream's picture as the application draws it, the window's content on top."""
    out = smooth(variant)
    c = CORNER.shifted(-ANIM.left, -ANIM.top)
    w = CORNER.shifted(-WINDOW.left, -WINDOW.top)
    out[c.top : c.bottom, c.left : c.right] = content[w.top : w.bottom, w.left : w.right]
    return out


@pytest.mark.parametrize("viewer", ["remote-viewer", "spicy"])
async def test_viewers_clip_a_partly_covered_stream(xvfb: Xvfb, tmp_path: Path, viewer: str) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    content = pattern_frame(WINDOW.width, WINDOW.height, variant=2)
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            await animate(fb)
            pipe = server.clients[0].display
            assert pipe is not None
            (stream,) = pipe.streams.values()
            fb.update(content, WINDOW)  # the window opens over the stream's corner
            for i in range(40, 50):
                fb.update(composed(i, content), ANIM)
                await trio.sleep(0.04)
            last = composed(50, content)
            window, diff, seen = await still_stream_shown(xvfb, fb, pipe, last, (x, y), JPEG_MEAN, JPEG_P99)
            assert pipe.streams == {stream.id: stream}  # the same stream all along
            assert stream.covered == [CORNER]
            want = bgrx_to_rgb(fb.frame)
            assert diff.max() > 0  # lossy: stream frames
            corner = (slice(CORNER.top, CORNER.bottom), slice(CORNER.left, CORNER.right))
            assert (window[corner] == want[corner]).all(), "the covered corner is not exact"
            window[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            want[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            assert (window == want).all()
            print(f"{viewer}: clipped stream area vs frame: {seen}")
            await shown_at(xvfb, fb.frame)  # the stream ends: the whole window exact
            assert not pipe.streams
            xvfb.display.stop_clients()
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    await no_malformed(capture.path, addr.port)
    assert STREAM_CLIP in await message_types(capture.path, addr.port)
    # Wireshark names SpiceRect's fields left, top, right, bottom; the wire order is top, left, bottom, right
    fields = ["-e", "spice.clip_type", "-e", "spice.rectlist_size"]
    fields += [
        "-e",
        "spice.rect.left",
        "-e",
        "spice.rect.top",
        "-e",
        "spice.rect.right",
        "-e",
        "spice.rect.bottom",
    ]
    argv = ["-Y", f"spice.message_type == {STREAM_CLIP}", "-T", "fields", *fields]
    table = await trio.to_thread.run_sync(lambda: tshark_read(capture.path, addr.port, *argv))
    (line,) = table.splitlines()  # one STREAM_CLIP: the window opened once
    clip_type, count, tops, lefts, bottoms, rights = line.split("\t")
    rects = {
        Rect(int(left), int(top), int(right), int(bottom))
        for top, left, bottom, right in zip(
            tops.split(","), lefts.split(","), bottoms.split(","), rights.split(","), strict=True
        )
    }
    assert (clip_type, count) == ("1", "2")  # RECTS: below and right of the corner
    assert rects == {
        Rect(ANIM.left, CORNER.bottom, ANIM.right, ANIM.bottom),
        Rect(CORNER.right, ANIM.top, ANIM.right, CORNER.bottom),
    }
