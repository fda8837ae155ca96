"""GLZ images from a real libspice-server (Xspice) decode in order against one window."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import spice_glz
import spice_net
import spice_proto as sp
import trio
from peers.xspice import Xspice

pytestmark = pytest.mark.interop

WINDOW_PIXELS = 16 << 20
CAPS = sp.Caps.of(sp.DisplayCap.SIZED_STREAM, sp.DisplayCap.MONITORS_CONFIG, sp.DisplayCap.COMPOSITE)


def _images(value: Any) -> Iterator[Any]:
    """GLZ_RGB and ZLIB_GLZ_RGB images anywhere inside a message, in field order."""
    if isinstance(value, (sp.GlzRgbImage, sp.ZlibGlzRgbImage)):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _images(getattr(value, f.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _images(item)


def _blob(image: Any) -> bytes:
    if isinstance(image, sp.ZlibGlzRgbImage):
        return zlib.decompress(image.data)
    return bytes(image.data)


async def _glz_images(server: Xspice, want: int) -> list[Any]:
    """Link main + display, announce a GLZ window, gather GLZ images (in message order)."""
    found: list[Any] = []
    with trio.move_on_after(25):
        main = await spice_net.open_channel(server.host, server.port, channel_type=sp.ChannelType.MAIN)
        async with main:
            init = None
            while init is None:
                msg = await main.receive()
                init = msg if isinstance(msg, sp.MainInit) else None
            await main.send(sp.MainAttachChannels())
            display = await spice_net.open_channel(
                server.host,
                server.port,
                channel_type=sp.ChannelType.DISPLAY,
                connection_id=init.session_id,
                channel_caps=CAPS,
            )
            async with display:
                await display.send(sp.DisplayInit(1, 20 << 20, 1, WINDOW_PIXELS))
                async for msg in display:
                    # images of one message in id order (the server numbers them as it encodes)
                    found += sorted(_images(msg), key=lambda im: spice_glz.read_header(_blob(im)).image_id)
                    if len(found) >= want:
                        break
    return found


@pytest.mark.parametrize("zlib_wrapped", [False, True], ids=["glz", "zlib_glz"])
async def test_xspice_glz_stream_decodes(xspice_factory: Callable[..., Xspice], zlib_wrapped: bool) -> None:
    options: dict[str, Any] = {"image_compression": "glz"}
    if zlib_wrapped:
        options["zlib_glz_wan_compression"] = "always"
    server = xspice_factory(**options)
    server.display.start_xterm("ls -laR /usr/share | head -4000; exec sleep infinity", geometry="100x50+0+0")
    images = await _glz_images(server, want=40)
    kind = sp.ZlibGlzRgbImage if zlib_wrapped else sp.GlzRgbImage
    assert sum(isinstance(im, kind) for im in images) >= 5, f"too few {kind.__name__} images"
    window = spice_glz.Window(WINDOW_PIXELS)
    ids = []
    for image in images:
        if isinstance(image, sp.ZlibGlzRgbImage):
            img = spice_glz.decode_zlib(image.data, window=window, glz_data_size=image.glz_data_size)
        else:
            img = spice_glz.decode(image.data, window=window)
        assert (img.width, img.height) == (image.width, image.height)
        assert img.image_type in (spice_glz.ImageType.RGB32, spice_glz.ImageType.RGBA)
        ids.append(img.image_id)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert window.ids()[-1] == ids[-1] and len(window) >= 2
    # the server's images do copy from earlier ones: alone, those fail
    errors = []
    for image in images[1:]:
        try:
            spice_glz.decode(_blob(image), window=spice_glz.Window(WINDOW_PIXELS))
        except spice_glz.DecodeError as exc:
            errors.append(str(exc))
    assert errors, "no image referred to an earlier one"
    assert all("not in the window" in e for e in errors), errors
