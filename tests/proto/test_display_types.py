"""Display structures: round trips, hand-written byte layouts, malformed input.

The hypothesis strategies here (``st_*``) are also used by test_msg_display.py.
"""

from __future__ import annotations

import struct
from typing import Any, TypeVar

import pytest
import spice_proto as sp
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    Brush,
    BrushType,
    Clip,
    ClipType,
    GlyphString,
    Image,
    ImageFlags,
    ImageType,
    LineAttr,
    LineFlags,
    MaskFlags,
    Palette,
    Path,
    PathFlags,
    PathSegment,
    Point,
    PointFix,
    ProtocolError,
    QMask,
    RasterGlyph,
    Rect,
    StringFlags,
)
from spice_proto.lowlevel import OutWriter, Reader, Writer

T = TypeVar("T")

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)
i16 = st.integers(-0x8000, 0x7FFF)
i32 = st.integers(-0x80000000, 0x7FFFFFFF)
small_bytes = st.binary(max_size=64)

st_point = st.builds(Point, i32, i32)
st_point16 = st.builds(sp.Point16, i16, i16)
st_point_fix = st.builds(PointFix, i32, i32)
st_rect = st.builds(Rect, i32, i32, i32, i32)
st_transform = st.builds(sp.Transform, u32, u32, u32, u32, u32, u32)
st_clip = st.one_of(
    st.just(Clip()),
    st.lists(st_rect, max_size=4).map(lambda rects: Clip(ClipType.RECTS, tuple(rects))),
)
st_palette = st.builds(Palette, u64, st.lists(u32, max_size=8).map(tuple))


def _descriptor_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"width": u32, "height": u32, "id": u64, "flags": u8.map(ImageFlags)},
    )


@st.composite
def st_bitmap_image(draw: st.DrawFn) -> sp.BitmapImage:
    kw = draw(_descriptor_kwargs())
    stride = draw(st.integers(0, 16))
    rows = draw(st.integers(0, 4))
    from_cache = draw(st.booleans())
    other_flags = draw(u8) & ~BitmapFlags.PAL_FROM_CACHE
    flags = BitmapFlags(other_flags | (BitmapFlags.PAL_FROM_CACHE if from_cache else 0))
    palette = None if from_cache else draw(st.none() | st_palette)
    return sp.BitmapImage(
        **kw,
        format=draw(st.sampled_from(BitmapFmt)),
        bitmap_flags=flags,
        x=draw(u32),
        y=rows,
        stride=stride,
        data=draw(st.binary(min_size=stride * rows, max_size=stride * rows)),
        palette=palette,
        palette_id=draw(u64) if from_cache else None,
    )


@st.composite
def st_lz_plt_image(draw: st.DrawFn) -> sp.LzPltImage:
    from_cache = draw(st.booleans())
    flags = BitmapFlags(
        (draw(u8) & ~BitmapFlags.PAL_FROM_CACHE) | (BitmapFlags.PAL_FROM_CACHE if from_cache else 0)
    )
    return sp.LzPltImage(
        **draw(_descriptor_kwargs()),
        bitmap_flags=flags,
        data=draw(small_bytes),
        palette=None if from_cache else draw(st_palette),
        palette_id=draw(u64) if from_cache else None,
    )


def _binary(cls: type[sp.BinaryImage]) -> st.SearchStrategy[sp.BinaryImage]:
    return st.builds(lambda kw, data: cls(**kw, data=data), _descriptor_kwargs(), small_bytes)


st_image: st.SearchStrategy[Image] = st.one_of(
    st_bitmap_image(),
    st_lz_plt_image(),
    *(_binary(c) for c in (sp.QuicImage, sp.LzRgbImage, sp.GlzRgbImage, sp.JpegImage, sp.Lz4Image)),
    st.builds(
        lambda kw, n, d: sp.ZlibGlzRgbImage(**kw, glz_data_size=n, data=d),
        _descriptor_kwargs(),
        u32,
        small_bytes,
    ),
    st.builds(
        lambda kw, f, n, d: sp.JpegAlphaImage(**kw, jpeg_flags=sp.JpegAlphaFlags(f), jpeg_size=n, data=d),
        _descriptor_kwargs(),
        u8,
        u32,
        small_bytes,
    ),
    st.builds(lambda kw, s: sp.SurfaceImage(**kw, surface_id=s), _descriptor_kwargs(), u32),
    st.builds(lambda kw: sp.FromCacheImage(**kw), _descriptor_kwargs()),
    st.builds(lambda kw: sp.FromCacheLosslessImage(**kw), _descriptor_kwargs()),
)
st_brush = st.one_of(
    st.just(Brush()),
    u32.map(Brush.solid),
    st.builds(Brush.of_pattern, st_image, st_point),
)
st_qmask = st.builds(QMask, u8.map(MaskFlags), st_point, st.none() | st_image)
st_path = st.builds(
    Path,
    st.lists(
        st.builds(PathSegment, u8.map(PathFlags), st.lists(st_point_fix, max_size=4).map(tuple)), max_size=4
    ).map(tuple),
)
st_line_attr = st.one_of(
    u8.map(lambda f: LineAttr(LineFlags(f & ~LineFlags.STYLED))),
    st.builds(
        lambda f, style: LineAttr(LineFlags(f | LineFlags.STYLED), tuple(style)),
        u8,
        st.lists(i32, max_size=6),
    ),
)


@st.composite
def st_glyph_string(draw: st.DrawFn) -> GlyphString:
    bpp_flag = draw(st.sampled_from([0, StringFlags.RASTER_A1, StringFlags.RASTER_A4, StringFlags.RASTER_A8]))
    flags = StringFlags(bpp_flag | (draw(u8) & StringFlags.RASTER_TOP_DOWN) | (draw(u8) & 0xF0))
    if not bpp_flag:
        return GlyphString(flags)
    bpp = {StringFlags.RASTER_A1: 1, StringFlags.RASTER_A4: 4, StringFlags.RASTER_A8: 8}[bpp_flag]
    glyphs = []
    for _ in range(draw(st.integers(0, 3))):
        w, h = draw(st.integers(0, 12)), draw(st.integers(0, 4))
        size = (bpp * w + 7) // 8 * h
        glyphs.append(
            RasterGlyph(draw(st_point), draw(st_point), w, h, draw(st.binary(min_size=size, max_size=size)))
        )
    return GlyphString(flags, tuple(glyphs))


st_head = st.builds(sp.Head, u32, u32, u32, u32, u32, u32, u32)
st_resource = st.builds(sp.ResourceId, st.sampled_from(sp.ResourceType), u64)


# --- helpers ------------------------------------------------------------------------------------


_NEEDS_OUT_WRITER = (Image, Palette, Brush, QMask, Path, LineAttr, GlyphString)


def encode_struct(value: Any) -> bytes:
    """Lay out a structure the way a message body would, pointed-to data after it."""
    w = Writer()
    o = OutWriter(w)
    if isinstance(value, _NEEDS_OUT_WRITER):
        value._write(o)
    else:
        value._write(w)
    o.flush()
    return w.getvalue()


def decode_struct(cls: Any, data: bytes) -> Any:
    return cls._read(Reader(data, "test"), "s")


def le32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def i32s(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


# --- round trips ----------------------------------------------------------------------------------


@given(st_image)
def test_image_round_trip(image: Image) -> None:
    assert decode_struct(Image, encode_struct(image)) == image


@pytest.mark.parametrize(
    ("cls", "strategy"),
    [
        (Point, st_point),
        (sp.Point16, st_point16),
        (PointFix, st_point_fix),
        (Rect, st_rect),
        (sp.Transform, st_transform),
        (Clip, st_clip),
        (Palette, st_palette),
        (Brush, st_brush),
        (QMask, st_qmask),
        (Path, st_path),
        (LineAttr, st_line_attr),
        (GlyphString, st_glyph_string()),
        (sp.Head, st_head),
        (sp.ResourceId, st_resource),
    ],
)
def test_struct_round_trip(cls: Any, strategy: st.SearchStrategy[Any]) -> None:
    @given(strategy)
    def check(value: Any) -> None:
        assert decode_struct(cls, encode_struct(value)) == value

    check()


# --- hand-written layouts -------------------------------------------------------------------------


def test_rect_wire_order_is_top_left_bottom_right() -> None:
    rect = Rect(left=1, top=2, right=30, bottom=40)
    assert encode_struct(rect) == i32s(2, 1, 40, 30)
    assert (rect.width, rect.height) == (29, 38)


def _pixels(r: Rect) -> set[tuple[int, int]]:
    return {(x, y) for x in range(r.left, r.right) for y in range(r.top, r.bottom)}


_small_rects = st.builds(Rect, *(st.integers(-4, 12) for _ in range(4)))


@given(_small_rects, _small_rects, st.integers(-5, 5), st.integers(-5, 5))
def test_rect_geometry_matches_pixel_sets(a: Rect, b: Rect, dx: int, dy: int) -> None:
    """Area, emptiness, intersection, containment and shifts agree with the pixels covered."""
    assert a.area == len(_pixels(a))
    assert a.empty == (not _pixels(a))
    assert _pixels(a.intersect(b)) == _pixels(a) & _pixels(b)
    if not a.empty and not b.empty:
        assert a.contains(b) == (_pixels(b) <= _pixels(a))
        union = a.union(b)
        assert _pixels(a) | _pixels(b) <= _pixels(union)
        assert (union.left, union.top) == (min(a.left, b.left), min(a.top, b.top))
    assert _pixels(a.shifted(dx, dy)) == {(x + dx, y + dy) for x, y in _pixels(a)}
    assert Rect.of_size(7, 3) == Rect(0, 0, 7, 3)


def test_clip_rects_are_inline() -> None:
    clip = Clip.of_rects(Rect(0, 0, 5, 6), Rect(-1, 2, 3, 4))
    assert encode_struct(clip) == b"\x01" + le32(2) + i32s(0, 0, 6, 5) + i32s(2, -1, 4, 3)
    assert encode_struct(Clip()) == b"\x00"


def test_solid_brush_and_pattern_brush_layout() -> None:
    assert encode_struct(Brush.solid(0x00FF8040)) == b"\x01" + le32(0x00FF8040)
    assert encode_struct(Brush()) == b"\x00"
    image = sp.SurfaceImage(width=2, height=3, surface_id=7)
    # type, pointer (to offset 13: 1 + 4 + 8), pos, then the image: descriptor + surface id
    expected = b"\x02" + le32(13) + i32s(-4, 5)
    expected += struct.pack("<QBBII", 0, ImageType.SURFACE, 0, 2, 3) + le32(7)
    assert encode_struct(Brush.of_pattern(image, Point(-4, 5))) == expected


def test_bitmap_with_inline_palette_layout() -> None:
    image = sp.BitmapImage(
        id=0x1122334455667788,
        flags=ImageFlags.CACHE_ME,
        width=3,
        height=2,
        format=BitmapFmt.FMT_8BIT,
        bitmap_flags=BitmapFlags.TOP_DOWN,
        stride=4,
        data=bytes(range(8)),
        palette=Palette(0xABC, (0xFF0000, 0x00FF00)),
    )
    assert (image.x, image.y) == (3, 2)
    descriptor = struct.pack("<QBBII", 0x1122334455667788, 0, 1, 3, 2)
    # format 5 (8BIT), flags TOP_DOWN=4, x, y, stride, palette pointer, 8 data bytes, then the palette
    bitmap = bytes([5, 4]) + le32(3, 2, 4) + le32(18 + 2 + 12 + 4 + 8) + bytes(range(8))
    palette = struct.pack("<QH", 0xABC, 2) + le32(0xFF0000, 0x00FF00)
    assert encode_struct(image) == descriptor + bitmap + palette


def test_bitmap_with_cached_palette_carries_a_u64_id() -> None:
    image = sp.BitmapImage(
        width=1,
        height=1,
        format=BitmapFmt.FMT_1BIT_BE,
        bitmap_flags=BitmapFlags.PAL_FROM_CACHE,
        stride=1,
        data=b"\x80",
        palette_id=0x0102030405060708,
    )
    body = encode_struct(image)
    assert body[18:] == bytes([2, 2]) + le32(1, 1, 1) + struct.pack("<Q", 0x0102030405060708) + b"\x80"


def test_quic_and_lz4_images_are_size_then_bytes() -> None:
    quic = sp.QuicImage(width=16, height=8, data=b"QUIC....")
    assert encode_struct(quic) == struct.pack("<QBBII", 0, 1, 0, 16, 8) + le32(8) + b"QUIC...."
    lz4 = sp.Lz4Image(width=1, height=1, data=b"\x01\x08" + b"\x00\x00\x00\x01" + b"\x10")
    assert encode_struct(lz4)[18:] == le32(7) + b"\x01\x08\x00\x00\x00\x01\x10"


def test_jpeg_alpha_and_zlib_glz_layouts() -> None:
    ja = sp.JpegAlphaImage(
        width=1, height=1, jpeg_flags=sp.JpegAlphaFlags.TOP_DOWN, jpeg_size=3, data=b"abcde"
    )
    assert encode_struct(ja)[18:] == b"\x01" + le32(3, 5) + b"abcde"
    zg = sp.ZlibGlzRgbImage(width=1, height=1, glz_data_size=100, data=b"zz")
    assert encode_struct(zg)[18:] == le32(100, 2) + b"zz"


def test_lz_plt_palette_pointer() -> None:
    image = sp.LzPltImage(width=1, height=1, data=b"LZ", palette=Palette(9, (1,)))
    # flags, data_size, palette pointer (to 18 + 1 + 4 + 4 + 2 = 29), data, palette
    assert encode_struct(image)[18:] == b"\x00" + le32(2, 29) + b"LZ" + struct.pack("<QH", 9, 1) + le32(1)


def test_qmask_layout() -> None:
    assert encode_struct(QMask()) == b"\x00" + i32s(0, 0) + le32(0)
    mask = QMask(MaskFlags.INVERS, Point(1, 2), sp.FromCacheImage(id=5, width=1, height=1))
    assert encode_struct(mask) == b"\x01" + i32s(1, 2) + le32(13) + struct.pack("<QBBII", 5, 103, 0, 1, 1)


def test_line_attr_style_and_path_layout() -> None:
    attr = LineAttr(LineFlags.STYLED, (16, 32))
    assert encode_struct(attr) == bytes([8, 2]) + le32(6) + i32s(16, 32)
    assert encode_struct(LineAttr()) == b"\x00"
    path = Path((PathSegment(PathFlags.BEGIN | PathFlags.END, (PointFix(16, 32),)),))
    assert encode_struct(path) == le32(1) + b"\x03" + le32(1) + i32s(16, 32)


def test_glyph_string_layout() -> None:
    glyph = RasterGlyph(Point(1, 2), Point(0, -3), 9, 2, b"\xff\x80\x7f\x00")  # A1: 2 bytes per row
    s = GlyphString(StringFlags.RASTER_A1, (glyph,))
    assert (
        encode_struct(s)
        == struct.pack("<HB", 1, 1) + i32s(1, 2, 0, -3) + struct.pack("<HH", 9, 2) + glyph.data
    )


def test_head_field_order() -> None:
    head = sp.Head(monitor_id=1, surface_id=0, width=1024, height=768, x=10, y=20, flags=0)
    assert encode_struct(head) == le32(1, 0, 1024, 768, 10, 20, 0)


# --- validation and malformed input -----------------------------------------------------------------


def test_constructors_reject_inconsistent_structures() -> None:
    with pytest.raises(ValueError, match="stride"):
        sp.BitmapImage(width=2, height=2, format=BitmapFmt.FMT_32BIT, stride=8, data=b"short")
    with pytest.raises(ValueError, match="PAL_FROM_CACHE"):
        sp.BitmapImage(width=0, height=0, format=BitmapFmt.FMT_8BIT, stride=0, data=b"", palette_id=3)
    with pytest.raises(ValueError, match="palette"):
        sp.LzPltImage(width=1, height=1, data=b"")
    with pytest.raises(ValueError, match="rectangles"):
        Clip(ClipType.NONE, (Rect(0, 0, 1, 1),))
    with pytest.raises(ValueError, match="PATTERN"):
        Brush(BrushType.PATTERN)
    with pytest.raises(ValueError, match="SOLID"):
        Brush(BrushType.NONE, color=5)
    with pytest.raises(ValueError, match="STYLED"):
        LineAttr(LineFlags(0), (1,))
    with pytest.raises(ValueError, match="glyph data"):
        GlyphString(StringFlags.RASTER_A8, (RasterGlyph(Point(0, 0), Point(0, 0), 2, 2, b"abc"),))


def _error(cls: Any, data: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_struct(cls, data)
    return info.value


def test_unknown_and_reserved_image_types_are_errors() -> None:
    err = _error(Image, struct.pack("<QBBII", 0, 50, 0, 1, 1))
    assert err.field == "s.type" and "50" in str(err)
    err = _error(Image, struct.pack("<QBBII", 0, ImageType.RESERVED, 0, 1, 1))
    assert "RESERVED" in str(err)


def test_image_data_size_past_end() -> None:
    err = _error(Image, struct.pack("<QBBII", 0, 1, 0, 1, 1) + le32(1000) + b"abc")
    assert err.field == "s.data" and "1000" in str(err)


def test_bitmap_stride_times_rows_past_end() -> None:
    body = struct.pack("<QBBII", 0, 0, 0, 4, 4) + bytes([8, 0]) + le32(4, 100000, 16, 0) + b"\0" * 10
    assert _error(Image, body).field == "s.bitmap.data"


def test_palette_pointer_past_end() -> None:
    body = struct.pack("<QBBII", 0, 0, 0, 1, 1) + bytes([5, 0]) + le32(1, 1, 1, 9999) + b"\0"
    err = _error(Image, body)
    assert err.field == "s.bitmap.palette" and "past end" in str(err)


def test_palette_count_larger_than_body() -> None:
    body = struct.pack("<QBBII", 0, 0, 0, 1, 1) + bytes([5, 0]) + le32(1, 1, 1, 37) + b"\0"
    body += struct.pack("<QH", 1, 0xFFFF) + le32(1)
    assert _error(Image, body).field == "s.bitmap.palette.ents"


def test_lz_plt_needs_a_palette_pointer() -> None:
    body = struct.pack("<QBBII", 0, 100, 0, 1, 1) + b"\0" + le32(0, 0)
    err = _error(Image, body)
    assert err.field == "s.lz_plt.palette" and "null" in str(err)


def test_clip_count_larger_than_body() -> None:
    err = _error(Clip, b"\x01" + le32(0x10000000) + i32s(0, 0, 1, 1))
    assert err.field == "s.rects"


def test_unknown_clip_and_brush_types() -> None:
    assert _error(Clip, b"\x07").field == "s.type"
    assert _error(Brush, b"\x09").field == "s.type"


def test_pattern_brush_needs_an_image() -> None:
    assert "null" in str(_error(Brush, b"\x02" + le32(0) + i32s(0, 0)))


def test_styled_line_with_null_style_pointer() -> None:
    assert _error(LineAttr, bytes([8, 3]) + le32(0)).field == "s.style"


def test_path_and_glyph_counts_checked() -> None:
    assert _error(Path, le32(0xFFFFFFFF) + b"\0" * 5).field == "s.segments"
    assert _error(GlyphString, struct.pack("<HB", 500, 4) + b"\0" * 40).field == "s.glyphs"


@given(st.binary(max_size=80))
def test_random_bytes_give_an_image_or_a_protocol_error(data: bytes) -> None:
    try:
        decode_struct(Image, data)
    except ProtocolError:
        pass
