"""Display channel messages: every class round-trips, key layouts are checked byte by byte,
malformed bodies raise ProtocolError naming the message and field."""

from __future__ import annotations

import struct
from typing import Any

import pytest
import spice_proto as sp
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    Brush,
    ChannelType,
    Clip,
    CompositeFlags,
    Direction,
    DisplayMsg,
    DisplayMsgc,
    ImageFlags,
    Point,
    ProtocolError,
    Rect,
    Ropd,
)
from spice_proto.lowlevel import Writer, message_class, registered_messages
from test_display_types import (
    le32,
    small_bytes,
    st_brush,
    st_clip,
    st_glyph_string,
    st_head,
    st_image,
    st_line_attr,
    st_path,
    st_point,
    st_point16,
    st_qmask,
    st_rect,
    st_resource,
    st_transform,
    u8,
    u16,
    u32,
    u64,
)

i32s = st.integers(-0x80000000, 0x7FFFFFFF)
i64 = st.integers(-(2**63), 2**63 - 1)
st_base = st.tuples(u32, st_rect, st_clip)
st_rop = u16.map(Ropd)
st_scale = st.sampled_from(sp.ImageScaleMode)
st_wait = st.builds(sp.ChannelWait, st.sampled_from(ChannelType), u8, u64)


def _draw(cls: Any, *rest: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(lambda base, *more: cls(*base, *more), st_base, *rest)


@st.composite
def _composite(draw: st.DrawFn) -> sp.DisplayDrawComposite:
    flags = CompositeFlags(draw(u32))
    mask = draw(st_image) if flags & CompositeFlags.HAS_MASK else None
    src_t = draw(st_transform) if flags & CompositeFlags.HAS_SRC_TRANSFORM else None
    mask_t = draw(st_transform) if flags & CompositeFlags.HAS_MASK_TRANSFORM else None
    surface_id, box, clip = draw(st_base)
    return sp.DisplayDrawComposite(
        surface_id, box, clip, flags, draw(st_image), mask, src_t, mask_t, draw(st_point16), draw(st_point16)
    )


STRATEGIES: dict[type[sp.Message], st.SearchStrategy[Any]] = {
    sp.DisplayMode: st.builds(sp.DisplayMode, u32, u32, u32),
    sp.DisplayMark: st.just(sp.DisplayMark()),
    sp.DisplayReset: st.just(sp.DisplayReset()),
    sp.DisplayCopyBits: st.builds(lambda b, p: sp.DisplayCopyBits(*b, p), st_base, st_point),
    sp.DisplayInvalList: st.builds(sp.DisplayInvalList, st.lists(st_resource, max_size=5).map(tuple)),
    sp.DisplayInvalAllPixmaps: st.builds(sp.DisplayInvalAllPixmaps, st.lists(st_wait, max_size=4).map(tuple)),
    sp.DisplayInvalPalette: st.builds(sp.DisplayInvalPalette, u64),
    sp.DisplayInvalAllPalettes: st.just(sp.DisplayInvalAllPalettes()),
    sp.DisplayStreamCreate: st.builds(
        sp.DisplayStreamCreate,
        u32,
        u32,
        u8.map(sp.StreamFlags),
        u8.map(lambda v: sp._fields.maybe_enum(sp.VideoCodecType, v)),
        u64,
        u32,
        u32,
        u32,
        u32,
        st_rect,
        st_clip,
    ),
    sp.DisplayStreamData: st.builds(sp.DisplayStreamData, u32, u32, small_bytes),
    sp.DisplayStreamDataSized: st.builds(sp.DisplayStreamDataSized, u32, u32, u32, u32, st_rect, small_bytes),
    sp.DisplayStreamClip: st.builds(sp.DisplayStreamClip, u32, st_clip),
    sp.DisplayStreamDestroy: st.builds(sp.DisplayStreamDestroy, u32),
    sp.DisplayStreamDestroyAll: st.just(sp.DisplayStreamDestroyAll()),
    sp.DisplayStreamActivateReport: st.builds(sp.DisplayStreamActivateReport, u32, u32, u32, u32),
    sp.DisplayDrawFill: _draw(sp.DisplayDrawFill, st_brush, st_rop, st_qmask),
    sp.DisplayDrawOpaque: _draw(
        sp.DisplayDrawOpaque, st_image, st_rect, st_brush, st_rop, st_scale, st_qmask
    ),
    sp.DisplayDrawCopy: _draw(sp.DisplayDrawCopy, st_image, st_rect, st_rop, st_scale, st_qmask),
    sp.DisplayDrawBlend: _draw(sp.DisplayDrawBlend, st_image, st_rect, st_rop, st_scale, st_qmask),
    sp.DisplayDrawBlackness: _draw(sp.DisplayDrawBlackness, st_qmask),
    sp.DisplayDrawWhiteness: _draw(sp.DisplayDrawWhiteness, st_qmask),
    sp.DisplayDrawInvers: _draw(sp.DisplayDrawInvers, st_qmask),
    sp.DisplayDrawRop3: _draw(sp.DisplayDrawRop3, st_image, st_rect, st_brush, u8, st_scale, st_qmask),
    sp.DisplayDrawStroke: _draw(sp.DisplayDrawStroke, st_path, st_line_attr, st_brush, u16, u16),
    sp.DisplayDrawText: _draw(sp.DisplayDrawText, st_glyph_string(), st_rect, st_brush, st_brush, u16, u16),
    sp.DisplayDrawTransparent: _draw(sp.DisplayDrawTransparent, st_image, st_rect, u32, u32),
    sp.DisplayDrawAlphaBlend: _draw(sp.DisplayDrawAlphaBlend, u8.map(sp.AlphaFlags), u8, st_image, st_rect),
    sp.DisplayDrawComposite: _composite(),
    sp.DisplaySurfaceCreate: st.builds(
        sp.DisplaySurfaceCreate, u32, u32, u32, st.sampled_from(sp.SurfaceFmt), u32.map(sp.SurfaceFlags)
    ),
    sp.DisplaySurfaceDestroy: st.builds(sp.DisplaySurfaceDestroy, u32),
    sp.DisplayMonitorsConfig: st.builds(
        sp.DisplayMonitorsConfig, st.lists(st_head, max_size=4).map(tuple), u16
    ),
    sp.DisplayGlScanoutUnix: st.builds(
        sp.DisplayGlScanoutUnix, u32, u32, u32, u32, u32.map(sp.GlScanoutFlags)
    ),
    sp.DisplayGlDraw: st.builds(sp.DisplayGlDraw, u32, u32, u32, u32),
    sp.DisplayQualityIndicator: st.builds(sp.DisplayQualityIndicator, small_bytes),
    sp.DisplayInit: st.builds(sp.DisplayInit, u8, i64, u8, i32s),
    sp.DisplayStreamReport: st.builds(sp.DisplayStreamReport, u32, u32, u32, u32, u32, u32, i32s, u32),
    sp.DisplayPreferredCompression: u8.map(
        lambda v: sp.DisplayPreferredCompression(sp._fields.maybe_enum(sp.ImageCompression, v))
    ),
    sp.DisplayGlDrawDone: st.just(sp.DisplayGlDrawDone()),
    sp.DisplayPreferredVideoCodecType: st.builds(
        sp.DisplayPreferredVideoCodecType,
        st.lists(u8.map(lambda v: sp._fields.maybe_enum(sp.VideoCodecType, v)), max_size=6).map(tuple),
    ),
}
CLASSES = sorted(STRATEGIES, key=lambda c: c.__name__)


def test_every_display_message_number_has_its_class() -> None:
    registry = registered_messages()
    server = {t for (d, ch, t) in registry if ch == ChannelType.DISPLAY and d == Direction.SERVER_TO_CLIENT}
    client = {t for (d, ch, t) in registry if ch == ChannelType.DISPLAY and d == Direction.CLIENT_TO_SERVER}
    assert server == {int(m) for m in DisplayMsg}
    assert client == {int(m) for m in DisplayMsgc}
    assert set(STRATEGIES) == {registry[k] for k in registry if k[1] == ChannelType.DISPLAY}
    assert {c.__name__ for c in STRATEGIES} <= set(sp.__all__)
    assert message_class(ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, 316) is sp.DisplayStreamDataSized
    assert (
        message_class(ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, 319) is sp.DisplayStreamActivateReport
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip(cls: type[sp.Message]) -> None:
    @given(STRATEGIES[cls])
    def check(msg: sp.Message) -> None:
        assert type(msg) is cls
        body = msg.encode()
        field_by_field = Writer()
        msg.encode_body(field_by_field)
        assert body == field_by_field.getvalue()  # (one struct call for fixed-size bodies)
        assert cls.decode(body) == msg
        assert sp.decode_message(ChannelType.DISPLAY, cls.DIRECTION, cls.TYPE, body) == msg
        if cls is not sp.DisplayQualityIndicator:  # its body is all data
            # Newer peers may append fields: trailing bytes are ignored.
            assert cls.decode(body + b"\xaa\xbb") == msg

    check()


@pytest.mark.parametrize(
    "cls", [c for c in CLASSES if c is not sp.DisplayQualityIndicator], ids=lambda c: c.__name__
)
def test_every_truncation_is_a_protocol_error(cls: type[sp.Message]) -> None:
    @given(STRATEGIES[cls], st.data())
    def check(msg: sp.Message, data: st.DataObject) -> None:
        body = msg.encode()
        if not body:
            return
        cut = data.draw(st.integers(0, len(body) - 1))
        with pytest.raises(ProtocolError) as info:
            cls.decode(body[:cut])
        assert info.value.where == cls.__name__
        assert info.value.field

    check()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_random_bodies_decode_or_raise_protocol_error(cls: type[sp.Message]) -> None:
    @given(st.binary(max_size=120))
    def check(body: bytes) -> None:
        try:
            msg = cls.decode(body)
        except ProtocolError as exc:
            where = exc.where
        else:
            where = cls.__name__
            assert type(msg) is cls
        assert where == cls.__name__

    check()


# --- hand-checked layouts -----------------------------------------------------------------------


def test_draw_copy_with_quic_image_layout() -> None:
    image = sp.QuicImage(id=0x42, flags=ImageFlags.CACHE_ME, width=100, height=50, data=b"QUIC\x00\x01")
    msg = sp.DisplayDrawCopy(
        surface_id=0,
        box=Rect(left=10, top=20, right=110, bottom=70),
        clip=Clip(),
        src_bitmap=image,
        src_area=Rect(0, 0, 100, 50),
    )
    expected = bytes.fromhex(
        "00000000"  # surface_id
        "14000000 0a000000 46000000 6e000000"  # box: top 20, left 10, bottom 70, right 110
        "00"  # clip type NONE
        "39000000"  # src_bitmap pointer: 57, just after the fixed part
        "00000000 00000000 32000000 64000000"  # src_area: top, left, bottom 50, right 100
        "0800"  # rop_descriptor OP_PUT
        "00"  # scale_mode INTERPOLATE
        "00 00000000 00000000 00000000"  # mask: flags, pos, null bitmap
        # offset 57: the image descriptor
        "4200000000000000"  # id
        "01"  # type QUIC
        "01"  # flags CACHE_ME
        "64000000 32000000"  # width 100, height 50
        "06000000"  # data_size
        "515549430001"  # the QUIC bytes
    )
    assert msg.encode() == expected
    assert sp.DisplayDrawCopy.decode(expected) == msg


def test_draw_fill_with_solid_brush_and_rect_clip_layout() -> None:
    msg = sp.DisplayDrawFill(
        surface_id=1,
        box=Rect(0, 0, 8, 8),
        clip=Clip.of_rects(Rect(0, 0, 4, 4), Rect(4, 4, 8, 8)),
        brush=Brush.solid(0x00FF00FF),
        rop_descriptor=Ropd.OP_PUT,
    )
    expected = bytes.fromhex(
        "01000000"  # surface_id 1
        "00000000 00000000 08000000 08000000"  # box
        "01"  # clip type RECTS
        "02000000"  # num_rects, rects inline
        "00000000 00000000 04000000 04000000"
        "04000000 04000000 08000000 08000000"
        "01 ff00ff00"  # brush: SOLID, color
        "0800"  # rop OP_PUT
        "00 00000000 00000000 00000000"  # no mask
    )
    assert msg.encode() == expected
    assert sp.DisplayDrawFill.decode(expected) == msg


def test_surface_create_layout() -> None:
    msg = sp.DisplaySurfaceCreate(0, 1024, 768, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)
    expected = bytes.fromhex("00000000 00040000 00030000 20000000 01000000")
    assert msg.encode() == expected
    assert sp.DisplaySurfaceCreate.decode(expected) == msg


def test_stream_create_layout() -> None:
    msg = sp.DisplayStreamCreate(
        surface_id=0,
        id=3,
        flags=sp.StreamFlags.TOP_DOWN,
        codec_type=sp.VideoCodecType.MJPEG,
        stamp=0x0102030405060708,
        stream_width=320,
        stream_height=240,
        src_width=640,
        src_height=480,
        dest=Rect(100, 50, 740, 530),
        clip=Clip.of_rects(Rect(100, 50, 740, 530)),
    )
    expected = bytes.fromhex(
        "00000000 03000000"  # surface_id, id
        "01 01"  # flags TOP_DOWN, codec MJPEG
        "0807060504030201"  # stamp
        "40010000 f0000000 80020000 e0010000"  # stream 320x240, src 640x480
        "32000000 64000000 12020000 e4020000"  # dest: top 50, left 100, bottom 530, right 740
        "01 01000000 32000000 64000000 12020000 e4020000"  # clip RECTS, one rect
    )
    assert msg.encode() == expected
    assert sp.DisplayStreamCreate.decode(expected) == msg


def test_monitors_config_layout() -> None:
    msg = sp.DisplayMonitorsConfig(
        (sp.Head(0, 0, 1024, 768, 0, 0, 0), sp.Head(1, 0, 800, 600, 1024, 0, 0)), 2
    )
    expected = bytes.fromhex(
        "0200 0200"  # count, max_allowed
        "00000000 00000000 00040000 00030000 00000000 00000000 00000000"  # id, surface, w, h, x, y, flags
        "01000000 00000000 20030000 58020000 00040000 00000000 00000000"
    )
    assert msg.encode() == expected
    assert sp.DisplayMonitorsConfig.decode(expected) == msg


def test_stream_data_and_sized_layouts() -> None:
    assert sp.DisplayStreamData(2, 1000, b"JPG").encode() == le32(2, 1000, 3) + b"JPG"
    sized = sp.DisplayStreamDataSized(2, 1000, 16, 8, Rect(1, 2, 17, 10), b"xy")
    assert sized.encode() == le32(2, 1000, 16, 8) + struct.pack("<4i", 2, 1, 10, 17) + le32(2) + b"xy"


def test_copy_bits_layout() -> None:
    msg = sp.DisplayCopyBits(0, Rect(10, 10, 20, 20), Clip(), Point(0, 5))
    assert msg.encode() == le32(0) + struct.pack("<4i", 10, 10, 20, 20) + b"\x00" + struct.pack("<2i", 0, 5)


def test_inval_messages_layout() -> None:
    inval = sp.DisplayInvalList((sp.ResourceId(sp.ResourceType.PIXMAP, 0x99),))
    assert inval.encode() == b"\x01\x00" + b"\x01" + struct.pack("<Q", 0x99)
    wait = sp.DisplayInvalAllPixmaps((sp.ChannelWait(ChannelType.DISPLAY, 0, 77),))
    assert wait.encode() == b"\x01" + b"\x02\x00" + struct.pack("<Q", 77)
    assert sp.DisplayInvalPalette(5).encode() == struct.pack("<Q", 5)


def test_draw_composite_layout_follows_flags() -> None:
    src = sp.SurfaceImage(width=1, height=1, surface_id=2)
    flags = CompositeFlags.HAS_SRC_TRANSFORM | CompositeFlags.OP3
    t = sp.Transform(0x10000, 0, 0, 0, 0x10000, 0)
    msg = sp.DisplayDrawComposite(0, Rect(0, 0, 1, 1), Clip(), flags, src, None, t, None, sp.Point16(-1, 2))
    fixed = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x00" + le32(int(flags))
    fixed += le32(21 + 4 + 4 + 24 + 8) + le32(0x10000, 0, 0, 0, 0x10000, 0) + struct.pack("<4h", -1, 2, 0, 0)
    image = struct.pack("<QBBII", 0, 104, 0, 1, 1) + le32(2)
    assert msg.encode() == fixed + image
    with pytest.raises(ValueError, match="HAS_MASK"):
        sp.DisplayDrawComposite(0, Rect(0, 0, 1, 1), Clip(), CompositeFlags.HAS_MASK, src)


def test_draw_stroke_and_text_pointer_layout() -> None:
    stroke = sp.DisplayDrawStroke(
        0,
        Rect(0, 0, 1, 1),
        Clip(),
        sp.Path((sp.PathSegment(sp.PathFlags.BEGIN, (sp.PointFix(16, 16),)),)),
        sp.LineAttr(sp.LineFlags.STYLED, (32,)),
        Brush.solid(1),
    )
    # base 21, path ptr 4, attr (flags, nseg, ptr) 6, brush 5, modes 4 = 40: path at 40, style after it
    fixed = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x00" + le32(40) + bytes([8, 1]) + le32(40 + 17)
    fixed += b"\x01" + le32(1) + struct.pack("<HH", 8, 8)
    path = le32(1) + b"\x01" + le32(1) + struct.pack("<2i", 16, 16)
    assert stroke.encode() == fixed + path + struct.pack("<i", 32)

    text = sp.DisplayDrawText(
        0,
        Rect(0, 0, 1, 1),
        Clip(),
        sp.GlyphString(sp.StringFlags.RASTER_A8),
        Rect(0, 0, 1, 1),
        Brush(),
        Brush(),
    )
    body = text.encode()
    assert body[21:25] == le32(len(body) - 3)
    assert body[-3:] == b"\x00\x00\x04"


def test_client_messages_layout() -> None:
    init = sp.DisplayInit(1, 20 * 1024 * 1024, 7, 16 * 1024 * 1024)
    assert init.encode() == b"\x01" + struct.pack("<q", 20 << 20) + b"\x07" + struct.pack("<i", 16 << 20)
    report = sp.DisplayStreamReport(1, 2, 3, 4, 5, 0xFFFFFFFF, -7, 0xFFFFFFFF)
    assert report.encode() == le32(1, 2, 3, 4, 5, 0xFFFFFFFF) + struct.pack("<i", -7) + le32(0xFFFFFFFF)
    pref = sp.DisplayPreferredCompression(sp.ImageCompression.LZ4)
    assert pref.encode() == b"\x07"
    codecs = sp.DisplayPreferredVideoCodecType((sp.VideoCodecType.VP8, sp.VideoCodecType.MJPEG))
    assert codecs.encode() == b"\x02\x02\x01"
    assert sp.DisplayGlDrawDone().encode() == b""
    assert sp.DisplayGlScanoutUnix(64, 32, 256, 0x34325258).encode() == le32(64, 32, 256, 0x34325258, 0)


def test_unknown_codec_numbers_are_kept() -> None:
    msg = sp.DisplayPreferredVideoCodecType.decode(b"\x02\x01\x63")
    assert msg.codecs == (sp.VideoCodecType.MJPEG, 0x63)


# --- malformed ------------------------------------------------------------------------------------


def _copy_body(image: bytes) -> bytes:
    fixed = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x00" + le32(57) + struct.pack("<4i", 0, 0, 1, 1)
    return fixed + b"\x08\x00\x00" + b"\x00" + struct.pack("<2i", 0, 0) + le32(0) + image


def _error(cls: type[sp.Message], body: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        sp.decode_message(ChannelType.DISPLAY, cls.DIRECTION, cls.TYPE, body)
    assert info.value.where == cls.__name__
    return info.value


def test_draw_copy_unknown_image_type() -> None:
    err = _error(sp.DisplayDrawCopy, _copy_body(struct.pack("<QBBII", 0, 77, 0, 1, 1)))
    assert err.field == "src_bitmap.type"
    assert "DisplayDrawCopy" in str(err) and "77" in str(err)


def test_draw_copy_image_pointer_past_end() -> None:
    body = bytearray(_copy_body(b""))
    body[21:25] = le32(5000)
    err = _error(sp.DisplayDrawCopy, bytes(body))
    assert err.field == "src_bitmap" and "past end" in str(err)


def test_draw_copy_null_image_pointer() -> None:
    body = bytearray(_copy_body(b""))
    body[21:25] = le32(0)
    assert "null" in str(_error(sp.DisplayDrawCopy, bytes(body)))


def test_draw_copy_image_data_larger_than_body() -> None:
    err = _error(sp.DisplayDrawCopy, _copy_body(struct.pack("<QBBII", 0, 1, 0, 1, 1) + le32(1 << 31) + b"q"))
    assert err.field == "src_bitmap.data"


def test_counts_larger_than_body() -> None:
    assert _error(sp.DisplayMonitorsConfig, b"\xff\xff\x00\x00" + b"\x00" * 28).field == "heads"
    assert _error(sp.DisplayInvalList, b"\x10\x00" + b"\x00" * 9).field == "resources"
    assert _error(sp.DisplayInvalAllPixmaps, b"\x05" + b"\x00" * 10).field == "wait_list"
    assert _error(sp.DisplayStreamData, le32(0, 0, 100) + b"x").field == "data"
    assert _error(sp.DisplayPreferredVideoCodecType, b"\x09\x01").field == "codecs"
    clip = b"\x01" + le32(1000) + b"\x00" * 16
    assert _error(sp.DisplayStreamClip, le32(1) + clip).field == "clip.rects"


def test_unknown_enum_values() -> None:
    assert _error(sp.DisplaySurfaceCreate, le32(0, 1, 1, 33, 0)).field == "format"
    fill = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x03"
    assert _error(sp.DisplayDrawFill, fill).field == "base.clip.type"


def test_stroke_path_pointer_must_not_be_null() -> None:
    body = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x00" + le32(0) + b"\x00" + b"\x00" + le32(0, 0)
    err = _error(sp.DisplayDrawStroke, body)
    assert err.field == "path" and "null" in str(err)


def test_shared_and_self_pointing_targets_decode_finitely() -> None:
    # DRAW_OPAQUE whose source image and pattern brush point at the same bytes.
    image = struct.pack("<QBBII", 0, 104, 0, 1, 1) + le32(9)
    base = le32(0) + struct.pack("<4i", 0, 0, 1, 1) + b"\x00"
    fixed_size = 21 + 4 + 16 + 13 + 2 + 1 + 13
    body = base + le32(fixed_size) + struct.pack("<4i", 0, 0, 1, 1)
    body += b"\x02" + le32(fixed_size) + struct.pack("<2i", 3, 4) + b"\x08\x00" + b"\x01"
    body += b"\x00" + struct.pack("<2i", 0, 0) + le32(0) + image
    msg = sp.DisplayDrawOpaque.decode(body)
    assert msg.src_bitmap == sp.SurfaceImage(width=1, height=1, surface_id=9)
    assert msg.brush.pattern is not None and msg.brush.pattern.image == msg.src_bitmap
    assert msg.scale_mode == sp.ImageScaleMode.NEAREST
    # A bitmap whose palette pointer points back at its own descriptor: read once as a palette.
    bitmap = struct.pack("<QBBII", 7, 0, 0, 1, 1) + bytes([5, 0]) + le32(1, 1, 1, 57) + b"\x00"
    msg2 = sp.DisplayDrawCopy.decode(_copy_body(bitmap))
    assert isinstance(msg2.src_bitmap, sp.BitmapImage)
    assert msg2.src_bitmap.palette == sp.Palette(7, ())
