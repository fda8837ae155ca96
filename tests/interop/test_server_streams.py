"""remote-viewer (spice-gtk) against spice_server's video streams and scrolls, on Xvfb, with tshark.

- An animated area becomes an MJPEG stream: STREAM_CREATE (codec 1) and STREAM_DATA on the wire,
  STREAM_REPORTs back; while the stream shows a still picture the window's stream area is within
  the JPEG tolerance of our frame (absolute per-channel difference: mean <= 3, 99th percentile
  <= 16; measured here mean ~2.0, p99 ~7), everything else exact; after the stream ends the
  whole window is exact.
- Scrolls go out as COPY_BITS and the window stays pixel-exact.
- tshark's SPICE dissector finds no malformed packet in either capture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spice_server as ss
import trio
from peers.capture import start_capture, tshark_read
from peers.viewers import ViewerOptions, bgrx_to_rgb, pattern_frame, smooth_frame, start_viewer
from peers.xvfb import Xvfb
from spice_proto import Rect
from spice_server.lowlevel import DisplayPipeline
from test_server_viewers import TIMEOUT, H, W, running, shown_at

pytestmark = pytest.mark.interop

ANIM = Rect(160, 100, 160 + 256, 100 + 192)
JPEG_MEAN, JPEG_P99 = 3.0, 16.0

STREAM_CREATE, STREAM_DATA, STREAM_DESTROY, COPY_BITS = 122, 123, 125, 104
STREAM_ACTIVATE_REPORT = 319


def smooth(variant: int) -> np.ndarray:
    """A photo-like BGRX picture for ANIM that moves with ``variant``."""
    return smooth_frame(ANIM.width, ANIM.height, variant)


async def animate(fb: ss.Framebuffer, frames: int = 40) -> np.ndarray:
    """Draw ``frames`` moving pictures into ANIM at 25 fps, enough for the server to stream
    the area; the last picture."""
    for i in range(frames):
        fb.update(smooth(i), ANIM)
        await trio.sleep(0.04)
    return smooth(frames - 1)


def text_rows(height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = np.full((height, W, 4), 250, np.uint8)
    ink = rng.random((height // 2, W // 2)) < 0.25
    rows[: (height // 2) * 2, : (W // 2) * 2][np.kron(ink, np.ones((2, 2), bool))] = (30, 30, 30, 0)
    return rows


async def message_types(capture: Path, port: int) -> list[int]:
    """Every SPICE message type in the capture, in order (both directions, all channels)."""
    fields = ["-Y", "spice", "-T", "fields", "-e", "spice.message_type"]
    table = await trio.to_thread.run_sync(lambda: tshark_read(capture, port, *fields))
    return [int(v) for line in table.splitlines() for v in line.split(",") if v]


async def no_malformed(capture: Path, port: int) -> None:
    malformed = await trio.to_thread.run_sync(tshark_read, capture, port, "-Y", "_ws.malformed")
    assert malformed.strip() == ""


async def still_stream_shown(
    xvfb: Xvfb,
    fb: ss.Framebuffer,
    pipe: DisplayPipeline,
    last: np.ndarray,
    at: tuple[int, int],
    mean_max: float,
    p99_max: float,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Keep ``last`` coming into ANIM at 25 fps until the viewer's stream area is within the
    tolerance of it; (window, difference in ANIM, what was seen).  The frames keep coming
    while the screen is grabbed, so a slow grab cannot end the stream under the test."""
    x, y = at
    want = bgrx_to_rgb(last).astype(int)
    seen = "nothing"
    async with trio.open_nursery() as nursery:

        async def feed() -> None:
            while True:
                fb.update(last, ANIM)
                await trio.sleep(0.04)

        nursery.start_soon(feed)
        with trio.fail_after(TIMEOUT):
            while True:
                await trio.sleep(0.2)
                shot = await trio.to_thread.run_sync(xvfb.display.screenshot)
                window = shot[y : y + H, x : x + W].copy()
                part = window[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right]
                diff = np.abs(part.astype(int) - want)
                mean, p99 = float(diff.mean()), float(np.percentile(diff, 99))
                seen = f"mean {mean:.2f} p99 {p99:.1f}"
                if mean <= mean_max and p99 <= p99_max:
                    break
        assert pipe.streams, f"the stream ended before the viewer showed it ({seen})"
        nursery.cancel_scope.cancel()
    return window, diff, seen


async def test_remote_viewer_plays_an_animated_area_as_an_mjpeg_stream(xvfb: Xvfb, tmp_path: Path) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            last = await animate(fb)
            pipe = server.clients[0].display
            assert pipe is not None
            (stream,) = pipe.streams.values()
            # a still picture, still streamed: within the JPEG tolerance, the rest exact
            want = bgrx_to_rgb(fb.frame)
            window, diff, seen = await still_stream_shown(xvfb, fb, pipe, last, (x, y), JPEG_MEAN, JPEG_P99)
            assert diff.max() > 0  # lossy: a JPEG frame, not a lossless draw
            window[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            want[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            assert (window == want).all()
            reports = stream.controller.reports
            print(f"remote-viewer stream area vs frame: {seen}; {reports} stream reports")
            assert reports >= 1  # the viewer reports on the stream (5 frames or 1 s a report)
            # the animation stops: the stream ends, the lossless redraw makes the window exact
            await shown_at(xvfb, fb.frame)
            assert not pipe.streams
            xvfb.display.stop_clients()
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    await no_malformed(capture.path, addr.port)
    types = await message_types(capture.path, addr.port)
    for kind in (STREAM_CREATE, STREAM_ACTIVATE_REPORT, STREAM_DATA, STREAM_DESTROY):
        assert kind in types, kind
    codecs = await trio.to_thread.run_sync(
        lambda: tshark_read(
            capture.path, addr.port, "-Y", "spice", "-T", "fields", "-e", "spice.display_stream_codec_type"
        )
    )
    assert {v for v in codecs.split() if v} == {"1"}  # MJPEG


async def test_remote_viewer_scrolls_exactly_with_copy_bits(xvfb: Xvfb, tmp_path: Path) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(text_rows(H, 0))
    server = ss.Server(fb)
    view = Rect(0, 32, W, H - 16)
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, "remote-viewer", ViewerOptions(port=addr.port))
            await shown_at(xvfb, fb.frame)
            for step in range(1, 21):
                fb.scroll(0, -10, view)
                fb.update(text_rows(10, step), Rect(0, view.bottom - 10, W, view.bottom))
                if step % 4 == 0:
                    fb.scroll(-6, 6, view)
                    fb.update(text_rows(6, 50 + step), Rect(0, view.top, W, view.top + 6))
                    fb.update(text_rows(view.height, 70 + step)[:, :6], Rect(W - 6, view.top, W, view.bottom))
                await trio.sleep(0.03)
            await shown_at(xvfb, fb.frame)
            pipe = server.clients[0].display
            assert pipe is not None and pipe.stats["copy_bits"] >= 20, pipe.stats
            xvfb.display.stop_clients()
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    await no_malformed(capture.path, addr.port)
    types = await message_types(capture.path, addr.port)
    assert types.count(COPY_BITS) >= 20  # (MAIN_CHANNELS_LIST shares the number, once)
