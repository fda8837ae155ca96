"""Hostile display data never crashes the handler: every bad image or geometry is a DisplayProblem."""

from __future__ import annotations

import struct

import spice_lz
import spice_session as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_proto import (
    BitmapFmt,
    BitmapImage,
    Brush,
    Clip,
    DisplayCopyBits,
    DisplayDrawCopy,
    DisplayDrawFill,
    DisplaySurfaceCreate,
    GlzRgbImage,
    JpegAlphaImage,
    JpegImage,
    Lz4Image,
    LzRgbImage,
    Point,
    QuicImage,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
    ZlibGlzRgbImage,
)


def channel() -> ss.lowlevel.DisplayChannelState:
    state = ss.Display(1 << 20, 1 << 20).channel(0)
    state.handle(DisplaySurfaceCreate(0, 32, 16, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY))
    return state


def outcome_ok(events: list[ss.events.Event]) -> None:
    for event in events:
        assert isinstance(event, (ss.events.Damage, ss.events.DisplayProblem)), event


dims = st.integers(1, 40)
coords = st.integers(-50, 80)


@st.composite
def images(draw: st.DrawFn) -> object:
    w, h = draw(dims), draw(dims)
    data = draw(st.binary(max_size=300))
    kind = draw(
        st.sampled_from(["quic", "lz", "glz", "zlib", "jpeg", "jpeg_alpha", "lz4", "bitmap", "lz_real"])
    )
    if kind == "quic":
        return QuicImage(width=w, height=h, data=b"QUIC\0\0\0\0" + data)
    if kind == "lz":
        return LzRgbImage(width=w, height=h, data=data)
    if kind == "glz":
        return GlzRgbImage(width=w, height=h, data=data)
    if kind == "zlib":
        return ZlibGlzRgbImage(width=w, height=h, glz_data_size=draw(st.integers(0, 5000)), data=data)
    if kind == "jpeg":
        return JpegImage(width=w, height=h, data=b"\xff\xd8" + data)
    if kind == "jpeg_alpha":
        return JpegAlphaImage(width=w, height=h, jpeg_size=draw(st.integers(0, 400)), data=data)
    if kind == "lz4":
        return Lz4Image(width=w, height=h, data=bytes([1, 8]) + struct.pack(">I", len(data)) + data)
    if kind == "lz_real":  # a valid blob whose size disagrees with the descriptor
        blob = spice_lz.encode(bytes(4 * 6 * 5), 6, 5, spice_lz.ImageType.RGB32)
        return LzRgbImage(width=w, height=h, data=blob)
    fmt = draw(st.sampled_from(list(BitmapFmt)[1:]))
    stride = draw(st.integers(0, 200))
    return BitmapImage(width=w, height=h, format=fmt, stride=stride, data=bytes(stride * h))


@settings(max_examples=300, deadline=None)
@given(images(), coords, coords, coords, coords)
def test_any_image_any_box(image: object, x0: int, y0: int, x1: int, y1: int) -> None:
    state = channel()
    w, h = image.width, image.height  # type: ignore[attr-defined]
    box = Rect(x0, y0, x1, y1)
    outcome_ok(state.handle(DisplayDrawCopy(0, box, Clip(), image, Rect(0, 0, w, h))))  # type: ignore[arg-type]
    outcome_ok(state.handle(DisplayDrawCopy(0, box, Clip(), image, Rect(x0, y0, x1, y1))))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(coords, coords, coords, coords, st.lists(st.tuples(coords, coords, coords, coords), max_size=4))
def test_any_geometry(x0: int, y0: int, x1: int, y1: int, rects: list[tuple[int, int, int, int]]) -> None:
    state = channel()
    clip = Clip.of_rects(*(Rect(*r) for r in rects)) if rects else Clip()
    outcome_ok(state.handle(DisplayDrawFill(0, Rect(x0, y0, x1, y1), clip, Brush.solid(0xFFFFFF))))
    outcome_ok(state.handle(DisplayCopyBits(0, Rect(x0, y0, x1, y1), clip, Point(y1, x0))))
