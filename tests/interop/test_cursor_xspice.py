"""The X cursor set in Xspice arrives on the cursor channel with the right shape.

Ground truth: for themed cursors (``xsetroot -cursor_name``) the X server's own cursor
image, read with XFixesGetCursorImage through ctypes (ARGB words, compared exactly with
our RGBA and hot spot); for a custom cursor (``xsetroot -xcf``, an Xcursor file made with
xcursorgen from a picture drawn here) that picture itself, and XFixes again.

Core bitmap cursors (``xsetroot -cursor file mask``) are not used here: with Xspice no
CURSOR_SET follows them (X has the cursor, XFixes shows it, but the driver does not pass
it on), so the custom shape comes as an Xcursor (ARGB) file instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from peers.require import missing, require_binary
from peers.xspice import Xspice
from PIL import Image
from spice_session import CursorImage, CursorState
from spice_session.events import CursorShapeChanged

pytestmark = pytest.mark.interop

DEADLINE = 20.0
QUIET = 0.5  # seconds without cursor messages: the server has said all it will


class _XFixesCursorImage(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_short),
        ("y", ctypes.c_short),
        ("width", ctypes.c_ushort),
        ("height", ctypes.c_ushort),
        ("xhot", ctypes.c_ushort),
        ("yhot", ctypes.c_ushort),
        ("cursor_serial", ctypes.c_ulong),
        ("pixels", ctypes.POINTER(ctypes.c_ulong)),
        ("atom", ctypes.c_ulong),
        ("name", ctypes.c_char_p),
    ]


def x_cursor_image(display: str) -> tuple[npt.NDArray[np.uint8], tuple[int, int]]:
    """The X server's current cursor (XFixesGetCursorImage) as RGBA and its hot spot."""
    x11_name, xfixes_name = ctypes.util.find_library("X11"), ctypes.util.find_library("Xfixes")
    if x11_name is None or xfixes_name is None:
        missing("libX11 / libXfixes not installed")
    x11, xfixes = ctypes.CDLL(x11_name), ctypes.CDLL(xfixes_name)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XFree.argtypes = [ctypes.c_void_p]
    int_p = ctypes.POINTER(ctypes.c_int)
    xfixes.XFixesQueryVersion.argtypes = [ctypes.c_void_p, int_p, int_p]
    xfixes.XFixesGetCursorImage.restype = ctypes.POINTER(_XFixesCursorImage)
    xfixes.XFixesGetCursorImage.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open X display {display}"
    try:
        major, minor = ctypes.c_int(6), ctypes.c_int(0)
        assert xfixes.XFixesQueryVersion(dpy, ctypes.byref(major), ctypes.byref(minor))
        image = xfixes.XFixesGetCursorImage(dpy)
        assert image, "XFixesGetCursorImage failed"
        try:
            c = image.contents
            words = np.ctypeslib.as_array(c.pixels, (c.width * c.height,)).astype(np.uint32)
            argb = words.reshape(c.height, c.width)
            rgba = np.stack([argb >> 16, argb >> 8, argb, argb >> 24], axis=2) & 0xFF
            return rgba.astype(np.uint8), (int(c.xhot), int(c.yhot))
        finally:
            x11.XFree(image)
    finally:
        x11.XCloseDisplay(dpy)


class CursorWatch:
    """A main + cursor channel pair on an Xspice, feeding a :class:`CursorState`."""

    def __init__(self, cursor: spice_net.Channel) -> None:
        self.channel = cursor
        self.state = CursorState()
        self.changes: list[CursorShapeChanged] = []

    async def settle(self) -> CursorImage | None:
        """Handle cursor messages until QUIET seconds pass without one; the current shape."""
        while True:
            with trio.move_on_after(QUIET) as quiet:
                message = await self.channel.receive()
                for event in self.state.handle(message):
                    if isinstance(event, CursorShapeChanged):
                        self.changes.append(event)
            if quiet.cancelled_caught:
                return self.state.shape


async def watch_cursor(server: Xspice, body: Callable[[CursorWatch], Awaitable[None]]) -> None:
    with trio.fail_after(DEADLINE):
        main = await spice_net.open_channel(server.host, server.port, channel_type=sp.ChannelType.MAIN)
        async with main:
            while not isinstance(init := await main.receive(), sp.MainInit):
                pass
            await main.send(sp.MainAttachChannels())
            cursor = await spice_net.open_channel(
                server.host, server.port, channel_type=sp.ChannelType.CURSOR, connection_id=init.session_id
            )
            async with cursor:
                await body(CursorWatch(cursor))


async def test_named_x_cursors_arrive_with_the_x_servers_shape(xspice: Xspice) -> None:
    require_binary("xsetroot")

    async def body(watch: CursorWatch) -> None:
        await watch.settle()
        for name in ("hand2", "crosshair", "xterm", "left_ptr"):
            before = len(watch.changes)
            xspice.display.run(["xsetroot", "-cursor_name", name])
            shape = await watch.settle()
            assert len(watch.changes) > before, f"no CURSOR_SET after xsetroot -cursor_name {name}"
            assert shape is not None
            truth, hot = x_cursor_image(xspice.display.name)
            assert shape.rgba.shape == truth.shape, name
            assert (shape.hot_x, shape.hot_y) == hot, name
            assert np.array_equal(shape.rgba, truth), f"{name}: {(shape.rgba != truth).sum()} values differ"
            assert watch.state.visible

    await watch_cursor(xspice, body)


def make_xcursor(directory: Path, rgba: npt.NDArray[np.uint8], hot: tuple[int, int]) -> Path:
    """An Xcursor file (xcursorgen) holding one image, from a straight-alpha RGBA array."""
    png, config, out = directory / "shape.png", directory / "shape.cfg", directory / "shape.xcf"
    Image.fromarray(rgba, "RGBA").save(png)
    config.write_text(f"{rgba.shape[1]} {hot[0]} {hot[1]} {png}\n")
    subprocess.run(["xcursorgen", str(config), str(out)], check=True, capture_output=True, timeout=10)
    return out


async def test_custom_argb_cursor_from_an_xcursor_file(xspice: Xspice, tmp_path: Path) -> None:
    require_binary("xsetroot")
    require_binary("xcursorgen")
    size, hot = 20, (5, 9)
    yy, xx = np.mgrid[0:size, 0:size]
    picture = np.zeros((size, size, 4), np.uint8)
    inside = (np.abs(xx - 9.5) + np.abs(yy - 9.5)) <= 9  # a diamond...
    picture[inside] = (200, 30, 90, 255)
    picture[inside & ((xx // 3 + yy // 2) % 2 == 0)] = (10, 240, 120, 255)  # ...with a pattern
    picture[8:12, 8:12] = (255, 255, 0, 128)  # a half-transparent square in the middle
    xcf = make_xcursor(tmp_path, picture, hot)

    async def body(watch: CursorWatch) -> None:
        await watch.settle()
        xspice.display.run(["xsetroot", "-xcf", str(xcf), str(size)])
        shape = await watch.settle()
        assert shape is not None, "no cursor shape after xsetroot -xcf"
        assert shape.type == sp.CursorType.ALPHA  # what Xspice's driver sends
        assert (shape.width, shape.height, shape.hot_x, shape.hot_y) == (size, size, *hot)
        assert not shape.has_xor
        opaque = picture[:, :, 3] == 255
        clear = picture[:, :, 3] == 0
        assert np.array_equal(shape.rgba[opaque], picture[opaque])
        assert (shape.rgba[clear] == 0).all()
        # X keeps cursor pixels premultiplied by alpha, and so does the wire: (255, 255, 0) at 128
        half = shape.rgba[8:12, 8:12].reshape(-1, 4).astype(int)
        assert (np.abs(half - (128, 128, 0, 128)) <= 1).all(), half[0]
        truth, _ = x_cursor_image(xspice.display.name)
        assert np.array_equal(shape.rgba, truth)

    await watch_cursor(xspice, body)


async def test_session_cursor_state_follows_xsetroot(xspice: Xspice) -> None:
    require_binary("xsetroot")
    async with ss.connect(xspice.uri) as session:
        events = session.events()
        with trio.fail_after(DEADLINE):
            opened = False
            while not opened:  # the channels link in parallel: the cursor's may come after draws
                event = await events.receive()
                opened = (
                    isinstance(event, ss.events.ChannelOpened) and event.channel_type == sp.ChannelType.CURSOR
                )
            xspice.display.run(["xsetroot", "-cursor_name", "hand2"])
            changed: ss.events.CursorShapeChanged | None = None
            while True:
                with trio.move_on_after(QUIET) as quiet:
                    event = await events.receive()
                    if isinstance(event, ss.events.CursorShapeChanged):
                        changed = event
                if quiet.cancelled_caught and changed is not None:
                    break
        truth, hot = x_cursor_image(xspice.display.name)
        shape = session.cursor.shape
        assert shape is not None and shape is changed.shape
        assert (shape.hot_x, shape.hot_y) == hot
        assert np.array_equal(shape.rgba, truth)
        assert session.cursor.visible
        assert (session.cursor.x, session.cursor.y) == (512, 384)  # the pointer sits mid-screen
