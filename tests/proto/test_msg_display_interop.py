"""Display bodies from a real libspice-server (Xspice): each compression setting gives its image
class, video becomes an MJPEG stream, and every display message we decode re-encodes to the very
bytes the server sent (so our pointer layout is the server's)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_proto as sp
import trio
from peers.require import require_binary
from peers.xspice import Xspice
from PIL import Image

pytestmark = pytest.mark.interop

#: A bound, not a speed: under full load (two test workers and the fuzzers at once) Xspice
#: and its xterm once took more than 20 s to draw the first bitmap.
DEADLINE = 60.0
DISPLAY_CAPS = sp.Caps.of(
    sp.DisplayCap.SIZED_STREAM,
    sp.DisplayCap.MONITORS_CONFIG,
    sp.DisplayCap.COMPOSITE,
    sp.DisplayCap.A8_SURFACE,
    sp.DisplayCap.STREAM_REPORT,
    sp.DisplayCap.LZ4_COMPRESSION,
    sp.DisplayCap.PREF_COMPRESSION,
    sp.DisplayCap.MULTI_CODEC,
    sp.DisplayCap.CODEC_MJPEG,
)


class _RecordingStream(trio.abc.Stream):
    """Passes bytes through and keeps everything received."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.received = bytearray()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.received += data
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _collect(
    server: Xspice, done: Callable[[list[sp.Message]], bool], *extra: sp.Message
) -> list[sp.Message]:
    """Link main + display, send DISPLAY_INIT (and ``extra``), gather display messages until ``done``.

    Also checks every gathered message re-encodes to bytes that were on the wire.
    """
    seen: list[sp.Message] = []
    with trio.fail_after(DEADLINE):
        main = await spice_net.open_channel(server.host, server.port, channel_type=sp.ChannelType.MAIN)
        async with main:
            init = None
            while init is None:
                msg = await main.receive()
                init = msg if isinstance(msg, sp.MainInit) else None
            await main.send(sp.MainAttachChannels())
            recorder = _RecordingStream(await trio.open_tcp_stream(server.host, server.port))
            display = await spice_net.link_channel(
                recorder,
                channel_type=sp.ChannelType.DISPLAY,
                connection_id=init.session_id,
                channel_caps=DISPLAY_CAPS,
            )
            async with display:
                await display.send(sp.DisplayInit(1, 20 << 20, 1, 16 << 20))
                for msg in extra:
                    await display.send(msg)
                async for msg in display:
                    if isinstance(msg, sp.Message) and msg.CHANNEL == sp.ChannelType.DISPLAY:
                        seen.append(msg)
                    if done(seen):
                        break
    for msg in seen:
        body = msg.encode()
        assert type(msg).decode(body) == msg
        assert body in recorder.received, f"{type(msg).__name__} does not re-encode to the wire bytes"
    return seen


@pytest.mark.parametrize(
    ("compression", "image_class"),
    [
        ("off", sp.BitmapImage),
        ("quic", sp.QuicImage),
        ("lz", sp.LzRgbImage),
        ("glz", sp.GlzRgbImage),
        ("lz4", sp.Lz4Image),  # asked for by the client with PREFERRED_COMPRESSION
        ("zlib_glz", sp.ZlibGlzRgbImage),  # glz + ZLIB_GLZ_WAN_COMPRESSION=always
    ],
)
async def test_xspice_images_decode_and_reencode_verbatim(
    xspice_factory: Callable[..., Xspice], compression: str, image_class: type[sp.Image]
) -> None:
    extra: list[sp.Message] = []
    if compression == "zlib_glz":
        server = xspice_factory(image_compression="glz", zlib_glz_wan_compression="always")
    elif compression == "lz4":
        server = xspice_factory(image_compression="quic")
        extra.append(sp.DisplayPreferredCompression(sp.ImageCompression.LZ4))
    else:
        server = xspice_factory(image_compression=compression)
    server.display.start_xterm()

    def done(seen: list[sp.Message]) -> bool:
        return len(seen) >= 8 and any(isinstance(getattr(m, "src_bitmap", None), image_class) for m in seen)

    seen = await _collect(server, done, *extra)
    kinds = {type(m) for m in seen}
    assert {sp.DisplaySurfaceCreate, sp.DisplayDrawCopy} <= kinds
    primary = next(m for m in seen if isinstance(m, sp.DisplaySurfaceCreate))
    assert (primary.width, primary.height, primary.surface_id) == (1024, 768, 0)
    assert sp.SurfaceFlags.PRIMARY in primary.flags
    copies = [m for m in seen if isinstance(m, sp.DisplayDrawCopy) and isinstance(m.src_bitmap, image_class)]
    image = copies[0].src_bitmap
    assert image.width > 0 and image.height > 0
    if isinstance(image, sp.BitmapImage):
        assert image.format in (sp.BitmapFmt.FMT_32BIT, sp.BitmapFmt.RGBA, sp.BitmapFmt.FMT_24BIT)
        assert len(image.data) == image.stride * image.height
    elif isinstance(image, sp.QuicImage):
        assert image.data[:4] == b"QUIC"
    elif isinstance(image, (sp.LzRgbImage, sp.GlzRgbImage)):
        assert image.data[:4] == b"  ZL"
    elif isinstance(image, sp.Lz4Image):
        assert image.data[0] in (0, 1)  # top_down
        assert sp.BitmapFmt(image.data[1]) in (sp.BitmapFmt.FMT_32BIT, sp.BitmapFmt.RGBA)
    else:
        assert isinstance(image, sp.ZlibGlzRgbImage)
        glz = zlib.decompress(image.data)
        assert len(glz) == image.glz_data_size and glz[:4] == b"  ZL"


async def test_xspice_animation_becomes_an_mjpeg_stream(
    xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> None:
    require_binary("animate")
    # Off-screen surfaces off, so the animation is drawn straight on the primary and gets streamed.
    server = xspice_factory(streaming_video="all", extra_env={"QXL_ENABLE_SURFACES": "0"})
    rng = np.random.default_rng(7)
    frames = [Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for _ in range(8)]
    gif = tmp_path / "noise.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=40, loop=0)
    server.display.start_client("animate", ["animate", "-delay", "4", str(gif)])

    def done(seen: list[sp.Message]) -> bool:
        return sum(isinstance(m, sp.DisplayStreamData) for m in seen) >= 3

    seen = await _collect(server, done)
    create = next(m for m in seen if isinstance(m, sp.DisplayStreamCreate))
    assert create.codec_type == sp.VideoCodecType.MJPEG
    assert (create.stream_width, create.stream_height) == (320, 240)
    assert (create.dest.width, create.dest.height) == (320, 240)
    frames_seen = [m for m in seen if isinstance(m, sp.DisplayStreamData)]
    assert all(m.id == create.id for m in frames_seen)
    assert all(m.data[:2] == b"\xff\xd8" for m in frames_seen)  # JPEG SOI
