"""remote-viewer and spicy (spice-gtk, GStreamer) play spice_server's VP8, VP9 and H.264 streams,
on Xvfb, with tshark.

The server's ``video_codecs`` order puts the codec first; the viewer decodes it with
GStreamer (gstreamer1.0-plugins-good: vpxdec; H.264: avdec_h264 of gstreamer1.0-libav after
h264parse of gstreamer1.0-plugins-bad; without the decoder spice-gtk does not offer H.264,
without the parser its decodebin finds no decoder for our byte stream and the stream is
reported invalid).  tshark shows the codec in STREAM_CREATE and finds no malformed packet;
while the stream shows a still picture the window's stream area is within the tolerance of
our frame (absolute per-channel difference: mean <= 6, 99th percentile <= 40; the values
seen are printed), everything else exact; after the stream ends the whole window is exact.

LZ4: a viewer started with ``--spice-preferred-compression=lz4`` (it has the LZ4_COMPRESSION
cap) gets LZ4 images (type 109 on the wire) and shows the frame pixel-exact.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import spice_server as ss
import trio
from peers.capture import start_capture, tshark_read
from peers.viewers import ViewerOptions, bgrx_to_rgb, pattern_frame, start_viewer
from peers.xvfb import Xvfb
from spice_proto import VideoCodecType
from spice_server.lowlevel import Codec
from test_server_streams import ANIM, animate, no_malformed, still_stream_shown
from test_server_viewers import H, W, running, shown_at

pytestmark = pytest.mark.interop

MEAN, P99 = 6.0, 40.0


async def codecs_on_the_wire(capture: Path, port: int) -> set[str]:
    fields = ["-Y", "spice", "-T", "fields", "-e", "spice.display_stream_codec_type"]
    out = await trio.to_thread.run_sync(lambda: tshark_read(capture, port, *fields))
    return {v for v in out.split() if v}


@pytest.mark.parametrize("viewer", ["remote-viewer", "spicy"])
@pytest.mark.parametrize(
    "codec", [VideoCodecType.VP8, VideoCodecType.VP9, VideoCodecType.H264], ids=lambda c: c.name
)
async def test_viewers_play_the_codec(xvfb: Xvfb, tmp_path: Path, codec: VideoCodecType, viewer: str) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, video_codecs=[codec, VideoCodecType.MJPEG])
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            pipe = server.clients[0].display
            assert pipe is not None
            assert pipe.video_codec is codec, f"{viewer} does not offer the codec (GStreamer plugins?)"
            last = await animate(fb)
            (stream_id,) = pipe.streams
            assert pipe._streams.codecs[stream_id] is codec
            want = bgrx_to_rgb(fb.frame)
            window, diff, seen = await still_stream_shown(xvfb, fb, pipe, last, (x, y), MEAN, P99)
            assert diff.max() > 0  # lossy: a video frame, not a lossless draw
            window[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            want[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 0
            assert (window == want).all()
            print(f"{viewer} {codec.name} stream area vs frame: {seen}")
            await shown_at(xvfb, fb.frame)  # the stream ends: the lossless redraw makes it exact
            assert not pipe.streams
            xvfb.display.stop_clients()
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    await no_malformed(capture.path, addr.port)
    assert await codecs_on_the_wire(capture.path, addr.port) == {str(int(codec))}


@pytest.mark.parametrize("viewer", ["remote-viewer", "spicy"])
async def test_viewers_asking_for_lz4_get_lz4_images(xvfb: Xvfb, tmp_path: Path, viewer: str) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)  # auto_glz, but the viewer prefers LZ4 (and has the LZ4_COMPRESSION cap)
    async with running(server) as addr:
        assert addr.port is not None
        capture = await trio.to_thread.run_sync(start_capture, addr.port, tmp_path)
        try:
            start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port, preferred_compression="lz4"))
            await shown_at(xvfb, fb.frame)
            for variant in (1, 2):
                fb.update(pattern_frame(W, H, variant=variant))
                await shown_at(xvfb, fb.frame)  # pixel-exact
            pipe = server.clients[0].display
            assert pipe is not None and pipe.encoder.counts[Codec.LZ4] >= 2
            xvfb.display.stop_clients()
            await trio.sleep(0.5)
        finally:
            await trio.to_thread.run_sync(capture.stop)
    await no_malformed(capture.path, addr.port)
    fields = ["-Y", "spice", "-T", "fields", "-e", "spice.image_type"]
    out = await trio.to_thread.run_sync(lambda: tshark_read(capture.path, addr.port, *fields))
    assert "109" in {v for line in out.split() for v in line.split(",") if v}  # LZ4
