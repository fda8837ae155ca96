"""The session draws images and stream frames decoded from the wire, whose payloads are
read-only views into the message body (no copy), exactly as it draws the same messages
built from ``bytes``."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import pytest
import simplejpeg
import spice_glz
import spice_lz
import spice_proto as sp
import spice_quic
import spice_session as ss
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    Clip,
    DisplayDrawCopy,
    DisplaySurfaceCreate,
    GlzRgbImage,
    Image,
    JpegAlphaFlags,
    JpegAlphaImage,
    JpegImage,
    Lz4Image,
    LzPltImage,
    LzRgbImage,
    Palette,
    QuicImage,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
    ZlibGlzRgbImage,
)
from spice_session._surface import Surface
from spice_session._video import AvDecoder
from spice_session.lowlevel import MediaClock, StreamManager
from test_images import lz4_payload, rgb_picture
from test_streams import blocks_rgb, encode_av

W, H = 24, 16
BOX = Rect(5, 3, 5 + W, 3 + H)


def _glz(px: np.ndarray) -> bytes:
    blob: bytes = spice_glz.Encoder(1 << 20).encode(px.tobytes(), W, H, spice_glz.ImageType.RGB32)
    return blob


def _jpeg(px: np.ndarray) -> bytes:
    data: bytes = simplejpeg.encode_jpeg(np.ascontiguousarray(px[..., :3]), quality=90, colorspace="BGR")
    return data


def _jpeg_alpha(px: np.ndarray) -> JpegAlphaImage:
    jpeg = _jpeg(px)
    alpha = spice_lz.encode(px.tobytes(), W, H, spice_lz.ImageType.XXXA)
    return JpegAlphaImage(
        width=W, height=H, jpeg_size=len(jpeg), data=jpeg + alpha, jpeg_flags=JpegAlphaFlags.TOP_DOWN
    )


def _zlib_glz(px: np.ndarray) -> ZlibGlzRgbImage:
    glz = _glz(px)
    return ZlibGlzRgbImage(width=W, height=H, glz_data_size=len(glz), data=zlib.compress(glz))


def _lz_plt(px: np.ndarray) -> LzPltImage:
    indices = (px[..., 0] % 4).astype(np.uint8).tobytes()
    blob = spice_lz.encode(indices, W, H, spice_lz.ImageType.PLT8)
    palette = Palette(1, (0x102030, 0x405060, 0x708090, 0xA0B0C0))
    return LzPltImage(width=W, height=H, data=blob, palette=palette)


IMAGES: dict[str, Callable[[np.ndarray], Image]] = {
    "quic": lambda px: QuicImage(
        width=W, height=H, data=spice_quic.encode(px.tobytes(), W, H, spice_quic.ImageType.RGB32)
    ),
    "lz": lambda px: LzRgbImage(
        width=W, height=H, data=spice_lz.encode(px.tobytes(), W, H, spice_lz.ImageType.RGB32)
    ),
    "glz": lambda px: GlzRgbImage(width=W, height=H, data=_glz(px)),
    "zlib_glz": _zlib_glz,
    "jpeg": lambda px: JpegImage(width=W, height=H, data=_jpeg(px)),
    "jpeg_alpha": _jpeg_alpha,
    "lz4": lambda px: Lz4Image(
        width=W, height=H, data=lz4_payload(px.tobytes(), BitmapFmt.FMT_32BIT, True, W * H * 2)
    ),
    "lz_plt": _lz_plt,
    "bitmap": lambda px: BitmapImage(
        width=W,
        height=H,
        format=BitmapFmt.FMT_32BIT,
        stride=4 * W,
        data=px.tobytes(),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    ),
}


def draw(message: DisplayDrawCopy, fmt: SurfaceFmt) -> tuple[np.ndarray, list[ss.events.Event]]:
    state = ss.Display(1 << 20, 1 << 20).channel(0)
    state.handle(DisplaySurfaceCreate(0, 40, 30, fmt, SurfaceFlags.PRIMARY))
    events = state.handle(message)
    assert state.errors == 0, events
    return state.surfaces[0].pixels.copy(), events


@pytest.mark.parametrize("fmt", [SurfaceFmt.FMT_32_xRGB, SurfaceFmt.FMT_32_ARGB, SurfaceFmt.FMT_16_565])
@pytest.mark.parametrize("kind", IMAGES)
def test_images_decoded_from_the_wire_draw_like_built_ones(kind: str, fmt: SurfaceFmt) -> None:
    px = rgb_picture(W, H, seed=5)
    px[..., 3] = np.arange(W * H, dtype=np.uint32).reshape(H, W) % 251  # an alpha plane for XXXA
    built = DisplayDrawCopy(0, BOX, Clip(), IMAGES[kind](px), Rect(0, 0, W, H))
    body = built.encode()
    decoded = DisplayDrawCopy.decode(body)
    image = decoded.src_bitmap
    assert image is not None
    data = image.data  # type: ignore[attr-defined]
    assert isinstance(data, memoryview) and data.obj is body  # a view, not a copy
    expected, expected_events = draw(built, fmt)
    got, events = draw(decoded, fmt)
    assert events == expected_events
    assert np.array_equal(got, expected)
    assert expected[BOX.top : BOX.bottom, BOX.left : BOX.right].any()


@pytest.mark.parametrize("sized", [False, True])
def test_mjpeg_frame_decoded_from_the_wire_is_placed(sized: bool) -> None:
    px = rgb_picture(32, 32, seed=3)
    frame = _jpeg(px)
    dest = Rect(8, 4, 40, 36)
    built: sp.DisplayStreamData | sp.DisplayStreamDataSized
    if sized:
        built = sp.DisplayStreamDataSized(3, 50_100, 32, 32, dest, frame)
    else:
        built = sp.DisplayStreamData(3, 50_100, frame)
    body = built.encode()
    decoded = type(built).decode(body)
    assert isinstance(decoded.data, memoryview) and decoded.data.obj is body
    clock = MediaClock(lambda: 1000.0)
    clock.sync(50_000)
    placed = []
    for message in (built, decoded):
        s = Surface(0, 64, 48, SurfaceFmt.FMT_32_xRGB, primary=True)
        mgr = StreamManager(clock)
        create = sp.DisplayStreamCreate(
            0, 3, sp.StreamFlags.TOP_DOWN, sp.VideoCodecType.MJPEG, 0, 32, 32, 32, 32, dest, Clip()
        )
        mgr.handle(create, {0: s})
        assert mgr.handle(message, {0: s})
        placed.append(s.pixels.copy())
    assert np.array_equal(placed[0], placed[1])
    expected = simplejpeg.decode_jpeg(frame, colorspace="BGRX", fastdct=True, fastupsample=True)
    assert np.array_equal(placed[1][4:36, 8:40, :3], expected[..., :3])


def test_pyav_decoder_takes_a_frame_that_is_a_view() -> None:
    frames = [blocks_rgb(64, 48)]
    (packet,) = encode_av("libvpx", frames, {"deadline": "realtime", "lag-in-frames": "0"})
    decoded = sp.DisplayStreamData.decode(sp.DisplayStreamData(1, 2, packet).encode())
    assert isinstance(decoded.data, memoryview)
    (got,) = AvDecoder("vp8").decode(decoded.data)
    (expected,) = AvDecoder("vp8").decode(packet)
    assert got.shape == (48, 64, 4) and np.array_equal(got, expected)
