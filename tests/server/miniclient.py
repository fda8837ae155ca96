"""A small SPICE client for testing spice_server: links channels with spice_net and
decodes every DRAW_COPY itself with the codec packages (independent of spice_session)."""

from __future__ import annotations

import ssl
import struct
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
import spice_glz
import spice_lz
import spice_quic
import trio
from spice_net import Channel, open_channel
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    Caps,
    ChannelType,
    DisplayCap,
    DisplayDrawCopy,
    DisplayInit,
    DisplayInvalList,
    DisplayMark,
    DisplayPreferredCompression,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    FromCacheImage,
    GlzRgbImage,
    Image,
    ImageFlags,
    InputsCap,
    Lz4Image,
    LzRgbImage,
    MainAttachChannels,
    MainChannelsList,
    MainInit,
    Message,
    QuicImage,
    UnknownMessage,
)


def decode_image(image: Image, window: spice_glz.Window, cache: dict[int, np.ndarray]) -> np.ndarray:
    """A DRAW_COPY source image as (h, w, 4) BGRX."""
    w, h = image.width, image.height
    if isinstance(image, BitmapImage):
        assert image.format == BitmapFmt.FMT_32BIT and image.bitmap_flags & BitmapFlags.TOP_DOWN
        rows = np.frombuffer(image.data, np.uint8).reshape(h, image.stride)
        out = rows[:, : 4 * w].reshape(h, w, 4).copy()
    elif isinstance(image, QuicImage):
        q = spice_quic.decode(image.data)
        out = (
            np.frombuffer(bytes(q.pixels), np.uint8).reshape(h, q.stride)[:, : 4 * w].reshape(h, w, 4).copy()
        )
    elif isinstance(image, LzRgbImage):
        z = spice_lz.decode(image.data)
        out = (
            np.frombuffer(bytes(z.pixels), np.uint8).reshape(h, z.stride)[:, : 4 * w].reshape(h, w, 4).copy()
        )
    elif isinstance(image, GlzRgbImage):
        g = spice_glz.decode(image.data, window=window)
        out = (
            np.frombuffer(bytes(g.pixels), np.uint8).reshape(h, g.stride)[:, : 4 * w].reshape(h, w, 4).copy()
        )
    elif isinstance(image, Lz4Image):
        out = np.frombuffer(inflate_lz4(image, w, h), np.uint8).reshape(h, w, 4).copy()
    elif isinstance(image, FromCacheImage):
        out = cache[image.id]
    else:
        raise AssertionError(f"unexpected image {type(image).__name__}")
    assert out.shape == (h, w, 4)
    if image.flags & ImageFlags.CACHE_ME:
        cache[image.id] = out
    return out


def inflate_lz4(image: Lz4Image, w: int, h: int) -> bytes:
    """The top-down 32-bit rows of an LZ4 image whose blocks stand alone (spice_server's)."""
    import lz4.block  # type: ignore[import-untyped]

    data = bytes(image.data)
    assert data[0] == 1 and data[1] == BitmapFmt.FMT_32BIT, data[:2]
    out, pos = bytearray(), 2
    while pos < len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        out += lz4.block.decompress(data[pos + 4 : pos + 4 + size], uncompressed_size=4 * w * h - len(out))
        pos += 4 + size
    assert len(out) == 4 * w * h
    return bytes(out)


@dataclass
class Screen:
    """The display channel's state as this client sees it."""

    canvas: np.ndarray | None = None
    marked: bool = False
    image_types: Counter[str] = field(default_factory=Counter)
    messages: list[Message | UnknownMessage] = field(default_factory=list)
    window: spice_glz.Window = field(default_factory=lambda: spice_glz.Window(4 * 1024 * 1024))
    cache: dict[int, np.ndarray] = field(default_factory=dict)

    def apply(self, msg: Message | UnknownMessage) -> None:
        self.messages.append(msg)
        if isinstance(msg, DisplaySurfaceCreate):
            self.canvas = np.zeros((msg.height, msg.width, 4), np.uint8)
        elif isinstance(msg, DisplaySurfaceDestroy):
            self.canvas = None
        elif isinstance(msg, DisplayDrawCopy):
            assert self.canvas is not None
            b = msg.box
            img = decode_image(msg.src_bitmap, self.window, self.cache)
            self.image_types[type(msg.src_bitmap).__name__] += 1
            self.canvas[b.top : b.bottom, b.left : b.right] = img
        elif isinstance(msg, DisplayInvalList):
            for res in msg.resources:
                del self.cache[res.id]
        elif isinstance(msg, DisplayMark):
            self.marked = True

    def rgb_equals(self, frame: np.ndarray) -> bool:
        return (
            self.canvas is not None
            and self.canvas.shape == frame.shape
            and bool((self.canvas[:, :, :3] == frame[:, :, :3]).all())
        )


@dataclass
class MiniSession:
    main: Channel
    init: MainInit
    channels: dict[ChannelType, Channel]
    screen: Screen

    @property
    def display(self) -> Channel:
        return self.channels[ChannelType.DISPLAY]

    async def read_display_until(self, done: Callable[[Screen], bool], timeout: float = 10.0) -> None:
        with trio.fail_after(timeout):
            while not done(self.screen):
                self.screen.apply(await self.display.receive())

    async def show(self, frame: np.ndarray, timeout: float = 10.0) -> None:
        """Read display messages until the canvas equals ``frame`` (BGR part)."""
        await self.read_display_until(lambda s: s.marked and s.rgb_equals(frame), timeout)


@asynccontextmanager
async def mini_session(
    port: int,
    *,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    glz_window: int = 4 * 1024 * 1024,
    cache_size: int = 20 * 1024 * 1024,
    preferred: int | None = None,
    kinds: tuple[ChannelType, ...] = (ChannelType.DISPLAY, ChannelType.INPUTS, ChannelType.CURSOR),
) -> AsyncIterator[MiniSession]:
    async with AsyncExitStack() as stack:
        main = await open_channel(
            "127.0.0.1", port, channel_type=ChannelType.MAIN, password=password, ssl_context=ssl_context
        )
        stack.push_async_callback(main.aclose)
        init = await main.receive()
        assert isinstance(init, MainInit)
        await main.send(MainAttachChannels())
        while not isinstance(await main.receive(), MainChannelsList):
            pass
        caps = {
            ChannelType.DISPLAY: Caps.of(DisplayCap.PREF_COMPRESSION, DisplayCap.MONITORS_CONFIG),
            ChannelType.INPUTS: Caps.of(InputsCap.KEY_SCANCODE),
            ChannelType.CURSOR: Caps(),
        }
        channels: dict[ChannelType, Channel] = {}
        for kind in kinds:
            ch = await open_channel(
                "127.0.0.1",
                port,
                channel_type=kind,
                connection_id=init.session_id,
                password=password,
                ssl_context=ssl_context,
                channel_caps=caps[kind],
            )
            stack.push_async_callback(ch.aclose)
            channels[kind] = ch
        screen = Screen(window=spice_glz.Window(max(1, glz_window)))
        if ChannelType.DISPLAY in channels:
            if preferred is not None:
                await channels[ChannelType.DISPLAY].send(DisplayPreferredCompression(preferred))
            await channels[ChannelType.DISPLAY].send(DisplayInit(1, cache_size, 1, glz_window))
        yield MiniSession(main, init, channels, screen)
