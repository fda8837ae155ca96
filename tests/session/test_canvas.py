"""Draw commands on a surface: clips, masks, ROPs, brushes, scaling, blending, text, strokes, composite."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import spice_lz
import spice_session as ss
from spice_proto import (
    AlphaFlags,
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    Brush,
    Clip,
    CompositeFlags,
    DisplayCopyBits,
    DisplayDrawAlphaBlend,
    DisplayDrawBlackness,
    DisplayDrawBlend,
    DisplayDrawComposite,
    DisplayDrawCopy,
    DisplayDrawFill,
    DisplayDrawInvers,
    DisplayDrawOpaque,
    DisplayDrawRop3,
    DisplayDrawStroke,
    DisplayDrawText,
    DisplayDrawTransparent,
    DisplayDrawWhiteness,
    DisplaySurfaceCreate,
    GlyphString,
    ImageScaleMode,
    LineAttr,
    LzRgbImage,
    MaskFlags,
    Path,
    PathFlags,
    PathSegment,
    Point,
    PointFix,
    QMask,
    RasterGlyph,
    Rect,
    Ropd,
    StringFlags,
    SurfaceFlags,
    SurfaceFmt,
    SurfaceImage,
)
from spice_session._raster import blend_over, rop2, rop3

W, H = 8, 6
FULL = Rect(0, 0, W, H)


def channel(fmt: SurfaceFmt = SurfaceFmt.FMT_32_xRGB) -> ss.lowlevel.DisplayChannelState:
    state = ss.Display(1 << 20, 1 << 20).channel(0)
    state.handle(DisplaySurfaceCreate(0, W, H, fmt, SurfaceFlags.PRIMARY))
    return state


def words(state: ss.lowlevel.DisplayChannelState, surface_id: int = 0) -> np.ndarray:
    w = state.surfaces[surface_id].words
    assert w is not None
    return w & 0xFFFFFF


def image32(values: np.ndarray) -> BitmapImage:
    h, w = values.shape
    return BitmapImage(
        width=w,
        height=h,
        format=BitmapFmt.FMT_32BIT,
        stride=4 * w,
        data=values.astype("<u4").tobytes(),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )


def fill(
    state: ss.lowlevel.DisplayChannelState, box: Rect, color: int, **kw: object
) -> list[ss.events.Event]:
    return state.handle(DisplayDrawFill(0, box, kw.pop("clip", Clip()), Brush.solid(color), **kw))  # type: ignore[arg-type]


def test_fill_with_clip_rects_and_damage() -> None:
    state = channel()
    clip = Clip.of_rects(Rect(0, 0, 2, 2), Rect(5, 4, 20, 20))
    events = fill(state, Rect(1, 1, 7, 6), 0x112233, clip=clip)
    expected = np.zeros((H, W), np.uint32)
    expected[1:2, 1:2] = 0x112233
    expected[4:6, 5:7] = 0x112233
    assert np.array_equal(words(state), expected)
    assert events == [ss.events.Damage(0, Rect(1, 1, 7, 6), 0)]
    assert fill(state, Rect(1, 1, 3, 3), 1, clip=Clip.of_rects(Rect(5, 5, 6, 6))) == []


def test_fill_box_outside_the_surface_is_cut() -> None:
    state = channel()
    fill(state, Rect(-5, -5, 100, 2), 0xABCDEF)
    assert (words(state)[:2] == 0xABCDEF).all() and (words(state)[2:] == 0).all()


@pytest.mark.parametrize(
    ("desc", "expected"),
    [
        (Ropd.OP_PUT, 0b1100),
        (Ropd.OP_OR, 0b1110),
        (Ropd.OP_AND, 0b1000),
        (Ropd.OP_XOR, 0b0110),
        (Ropd.OP_PUT | Ropd.INVERS_SRC, 0b0011),
        (Ropd.OP_AND | Ropd.INVERS_DEST, 0b0100),
        (Ropd.OP_OR | Ropd.INVERS_RES, 0b0001),
        (Ropd.OP_XOR | Ropd.INVERS_SRC | Ropd.INVERS_DEST, 0b0110),
        (Ropd.OP_BLACKNESS, 0b0000),
        (Ropd.OP_WHITENESS, 0b1111),
        (Ropd.OP_INVERS, 0b0101),
        (Ropd.OP_INVERS | Ropd.OP_XOR, 0b0110),  # an OP bit wins over INVERS
        (Ropd(0), 0b1100),  # no OP bit: a copy
        (Ropd.INVERS_RES, 0b0011),
    ],
)
def test_rop_descriptor(desc: Ropd, expected: int) -> None:
    src = np.array([0b1100], np.uint8)
    dest = np.array([0b1010], np.uint8)
    assert int(rop2(desc, src, dest, Ropd.INVERS_SRC, Ropd.INVERS_DEST)[0]) & 0xF == expected


@pytest.mark.parametrize(
    ("fmt", "color", "stored", "ones"),
    [
        (SurfaceFmt.FMT_32_xRGB, 0x80112233, 0x80112233, 0xFFFFFFFF),
        (SurfaceFmt.FMT_32_ARGB, 0x80112233, 0x80112233, 0xFFFFFFFF),
        (SurfaceFmt.FMT_16_555, 0x7C10, 0xFF0084, 0xFFFFFFFF),
        (SurfaceFmt.FMT_16_565, 0xFFE0, 0xFFFF00, 0xFFFFFFFF),
        (SurfaceFmt.FMT_8_A, 0x1280, 0x80, 0xFF),
    ],
)
@pytest.mark.parametrize(
    ("desc", "inverted"),
    [
        (Ropd.OP_PUT, False),
        (Ropd.OP_PUT | Ropd.INVERS_DEST, False),
        (Ropd.OP_PUT | Ropd.INVERS_BRUSH, True),
        (Ropd.OP_PUT | Ropd.INVERS_RES, True),
        (Ropd.OP_PUT | Ropd.INVERS_BRUSH | Ropd.INVERS_RES, False),
        (Ropd.OP_PUT | Ropd.INVERS_BRUSH | Ropd.INVERS_DEST, True),
    ],
)
def test_solid_fill_stores_the_brush_colour_as_the_surface_keeps_it(
    fmt: SurfaceFmt, color: int, stored: int, ones: int, desc: Ropd, inverted: bool
) -> None:
    state = channel(fmt)
    box = Rect(1, 2, 4, 3)
    events = state.handle(DisplayDrawFill(0, box, Clip(), Brush.solid(color), rop_descriptor=desc))
    assert events == [ss.events.Damage(0, box, 0)]
    surface = state.surfaces[0]
    values = surface.words if surface.words is not None else surface.pixels
    expected = np.zeros((H, W), values.dtype)
    expected[2:3, 1:4] = stored ^ ones if inverted else stored
    assert values.tolist() == expected.tolist()


def test_rop3_codes() -> None:
    s, p, d = np.uint8(0b11001100), np.uint8(0b11110000), np.array([0b10101010], np.uint8)
    assert int(rop3(0xCC, s, p, d)[0]) == 0b11001100  # SRCCOPY
    assert int(rop3(0xF0, s, p, d)[0]) == 0b11110000  # PATCOPY
    assert int(rop3(0x66, s, p, d)[0]) == 0b01100110  # SRCINVERT
    assert int(rop3(0x5A, s, p, d)[0]) == 0b01011010  # PATINVERT
    assert int(rop3(0xB8, s, p, d)[0]) == 0b10111000  # (D & S) | (P & ~S)
    assert int(rop3(0x00, s, p, d)[0]) == 0 and int(rop3(0xFF, s, p, d)[0]) == 0xFF


def test_fill_xor_and_pattern_brush_tiles_from_its_origin() -> None:
    state = channel()
    fill(state, FULL, 0x0000FF)
    fill(state, Rect(0, 0, 2, 1), 0x0000F0, rop_descriptor=Ropd.OP_XOR)
    assert words(state)[0, :3].tolist() == [0x0F, 0x0F, 0xFF]
    tile = image32(np.array([[1, 2], [3, 4]], np.uint32))
    state.handle(DisplayDrawFill(0, FULL, Clip(), Brush.of_pattern(tile, Point(1, 0))))
    assert words(state)[:2, :4].tolist() == [[2, 1, 2, 1], [4, 3, 4, 3]]


def test_qmask_selects_pixels() -> None:
    state = channel()
    # 1-bit mask, 4x1, BE bits 1010, at mask position 1 (dest x = box.left + (mx - 1))
    bits = BitmapImage(
        width=4,
        height=1,
        format=BitmapFmt.FMT_1BIT_BE,
        stride=1,
        data=bytes([0b1010_0000]),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )
    fill(state, Rect(2, 0, 8, 1), 0x55, mask=QMask(MaskFlags(0), Point(1, 0), bits))
    assert words(state)[0].tolist() == [0, 0, 0, 0x55, 0, 0, 0, 0]
    fill(state, Rect(2, 1, 8, 2), 0x66, mask=QMask(MaskFlags.INVERS, Point(0, 0), bits))
    assert words(state)[1].tolist() == [0, 0, 0, 0x66, 0, 0x66, 0, 0]


def test_copy_fast_and_slow_paths_agree() -> None:
    px = np.arange(W * H, dtype=np.uint32).reshape(H, W) * 0x010203
    blob = spice_lz.encode((px.astype("<u4")).tobytes(), W, H, spice_lz.ImageType.RGB32)
    image = LzRgbImage(width=W, height=H, data=blob)
    fast, slow = channel(), channel()
    fast.handle(DisplayDrawCopy(0, FULL, Clip(), image, FULL))
    # a clip of two rectangles covering everything forces the general path
    clip = Clip.of_rects(Rect(0, 0, W, 3), Rect(0, 3, W, H))
    slow.handle(DisplayDrawCopy(0, FULL, clip, image, FULL))
    assert np.array_equal(words(fast), px & 0xFFFFFF)
    assert np.array_equal(words(slow), px & 0xFFFFFF)


def test_copy_src_area_offset_and_scaling() -> None:
    state = channel()
    src = np.array([[1, 2, 3], [4, 5, 6]], np.uint32)
    state.handle(DisplayDrawCopy(0, Rect(2, 2, 4, 3), Clip(), image32(src), Rect(1, 1, 3, 2)))
    assert words(state)[2, 2:4].tolist() == [5, 6]
    state.handle(
        DisplayDrawCopy(
            0, Rect(0, 0, 6, 4), Clip(), image32(src), Rect(0, 0, 3, 2), scale_mode=ImageScaleMode.NEAREST
        )
    )
    assert words(state)[:4, :6].tolist() == [[1, 1, 2, 2, 3, 3]] * 2 + [[4, 4, 5, 5, 6, 6]] * 2


def test_copy_from_the_same_surface_and_copy_bits_overlap() -> None:
    state = channel()
    state.surfaces[0].words[0, :] = np.arange(W)  # type: ignore[index]
    state.handle(DisplayCopyBits(0, Rect(2, 0, 8, 1), Clip(), Point(0, 0)))
    assert words(state)[0].tolist() == [0, 1, 0, 1, 2, 3, 4, 5]
    state.handle(
        DisplayDrawCopy(
            0, Rect(0, 0, 6, 1), Clip(), SurfaceImage(width=W, height=H, surface_id=0), Rect(2, 0, 8, 1)
        )
    )
    assert words(state)[0].tolist() == [0, 1, 2, 3, 4, 5, 4, 5]


def test_blend_uses_the_rop() -> None:
    state = channel()
    fill(state, FULL, 0x0F0F0F)
    src = np.full((1, 2), 0xFF00FF, np.uint32)
    state.handle(DisplayDrawBlend(0, Rect(0, 0, 2, 1), Clip(), image32(src), Rect(0, 0, 2, 1), Ropd.OP_AND))
    assert words(state)[0, :3].tolist() == [0x0F000F, 0x0F000F, 0x0F0F0F]


def test_opaque_combines_image_and_brush() -> None:
    state = channel()
    src = np.full((1, 2), 0x00FF00, np.uint32)
    msg = DisplayDrawOpaque(
        0, Rect(0, 0, 2, 1), Clip(), image32(src), Rect(0, 0, 2, 1), Brush.solid(0x0000FF), Ropd.OP_OR
    )
    state.handle(msg)
    assert words(state)[0, :2].tolist() == [0x00FFFF, 0x00FFFF]


def test_blackness_whiteness_invers() -> None:
    state = channel()
    fill(state, FULL, 0x123456)
    state.handle(DisplayDrawInvers(0, Rect(0, 0, 1, 1), Clip()))
    state.handle(DisplayDrawWhiteness(0, Rect(1, 0, 2, 1), Clip()))
    state.handle(DisplayDrawBlackness(0, Rect(2, 0, 3, 1), Clip()))
    assert words(state)[0, :4].tolist() == [0xEDCBA9, 0xFFFFFF, 0, 0x123456]


def test_rop3_draw() -> None:
    state = channel()
    fill(state, FULL, 0x00FF00)
    src = np.full((1, 1), 0xFF0000, np.uint32)
    msg = DisplayDrawRop3(
        0, Rect(0, 0, 1, 1), Clip(), image32(src), Rect(0, 0, 1, 1), Brush.solid(0x0000FF), 0xFE
    )
    state.handle(msg)  # 0xFE: D | S | P
    assert words(state)[0, 0] == 0xFFFFFF


def test_transparent_skips_the_colour_key() -> None:
    state = channel()
    fill(state, FULL, 0x777777)
    src = np.array([[0xFF00FF, 0x000001, 0xFF00FF]], np.uint32)
    msg = DisplayDrawTransparent(
        0, Rect(0, 0, 3, 1), Clip(), image32(src), Rect(0, 0, 3, 1), 0xFF00FF, 0xFF00FF
    )
    state.handle(msg)
    assert words(state)[0, :3].tolist() == [0x777777, 0x000001, 0x777777]


def test_alpha_blend_matches_pixman_rounding() -> None:
    # OVER with constant alpha 128: out = s*128/255 + d*(255 - 128)/255, pixman rounding
    src = np.array([[[200, 100, 50, 0]]], np.uint8)
    dest = np.array([[[10, 20, 30, 0]]], np.uint8)
    out = blend_over(src, dest, 128, src_has_alpha=False)

    def mul(a: int, b: int) -> int:
        t = a * b + 0x80
        return ((t >> 8) + t) >> 8

    assert out[0, 0, :3].tolist() == [
        mul(200, 128) + mul(10, 127),
        mul(100, 128) + mul(20, 127),
        mul(50, 128) + mul(30, 127),
    ]
    state = channel()
    fill(state, FULL, 0x0A141E)
    img = image32(np.array([[0x3264C8]], np.uint32))
    state.handle(
        DisplayDrawAlphaBlend(0, Rect(0, 0, 1, 1), Clip(), AlphaFlags(0), 128, img, Rect(0, 0, 1, 1))
    )
    pixel = int(words(state)[0, 0])
    assert [(pixel >> 16) & 255, (pixel >> 8) & 255, pixel & 255] == [
        mul(50, 128) + mul(10, 127),
        mul(100, 128) + mul(20, 127),
        mul(200, 128) + mul(30, 127),
    ]
    # premultiplied source alpha: a half-transparent white pixel over black gives 128 grey
    state2 = channel()
    premul = image32(np.array([[0x80808080]], np.uint32))
    state2.handle(
        DisplayDrawAlphaBlend(
            0, Rect(0, 0, 1, 1), Clip(), AlphaFlags.SRC_SURFACE_HAS_ALPHA, 255, premul, Rect(0, 0, 1, 1)
        )
    )
    assert int(words(state2)[0, 0]) == 0x808080


def test_text_a1_glyph_with_background() -> None:
    state = channel()
    fill(state, FULL, 0x111111)
    # 3x2 A1 glyph, rows bottom-up: bottom row 101, top row 010
    glyph = RasterGlyph(Point(2, 1), Point(0, 0), 3, 2, bytes([0b1010_0000, 0b0100_0000]))
    msg = DisplayDrawText(
        0,
        Rect(0, 0, W, H),
        Clip(),
        GlyphString(StringFlags.RASTER_A1, (glyph,)),
        Rect(0, 0, W, 1),
        Brush.solid(0xFFFFFF),
        Brush.solid(0x000000),
    )
    events = state.handle(msg)
    assert events and isinstance(events[0], ss.events.Damage)
    assert words(state)[0].tolist() == [0] * W
    assert words(state)[1, 1:6].tolist() == [0x111111, 0x111111, 0xFFFFFF, 0x111111, 0x111111]
    assert words(state)[2, 1:6].tolist() == [0x111111, 0xFFFFFF, 0x111111, 0xFFFFFF, 0x111111]


def test_text_a8_glyph_blends() -> None:
    state = channel()
    glyph = RasterGlyph(Point(0, 0), Point(0, 0), 2, 1, bytes([255, 128]))
    msg = DisplayDrawText(
        0,
        FULL,
        Clip(),
        GlyphString(StringFlags.RASTER_A8, (glyph,)),
        Rect(0, 0, 0, 0),
        Brush.solid(0xFFFFFF),
        Brush(),
    )
    state.handle(msg)
    assert words(state)[0, :3].tolist() == [0xFFFFFF, 0x808080, 0]


def test_stroke_draws_a_thin_line() -> None:
    state = channel()
    seg = PathSegment(
        PathFlags.BEGIN | PathFlags.END,
        (PointFix(1 * 16, 1 * 16), PointFix(5 * 16, 1 * 16), PointFix(5 * 16, 3 * 16)),
    )
    msg = DisplayDrawStroke(0, FULL, Clip(), Path((seg,)), LineAttr(), Brush.solid(0xFF0000))
    state.handle(msg)
    drawn = words(state) == 0xFF0000
    assert drawn[1, 1:6].all() and drawn[1:4, 5].all() and int(drawn.sum()) == 7


def test_composite_over_with_mask_and_repeat() -> None:
    state = channel()
    fill(state, FULL, 0x000000)
    src = BitmapImage(
        width=1,
        height=1,
        format=BitmapFmt.RGBA,
        stride=4,
        data=struct.pack("<I", 0xFFFF0000),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )
    mask = BitmapImage(
        width=2,
        height=1,
        format=BitmapFmt.FMT_8BIT_A,
        stride=4,
        data=bytes([255, 51, 0, 0]),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )
    flags = CompositeFlags(3) | CompositeFlags.SRC_REPEAT0 | CompositeFlags.HAS_MASK  # OVER, repeat NORMAL
    state.handle(DisplayDrawComposite(0, Rect(0, 0, 2, 1), Clip(), flags, src, mask))
    assert words(state)[0, :3].tolist() == [0xFF0000, 0x330000, 0]


def test_composite_src_replaces_and_clear_clears() -> None:
    state = channel()
    fill(state, FULL, 0x123456)
    src = image32(np.array([[0xABCDEF]], np.uint32))
    state.handle(DisplayDrawComposite(0, Rect(0, 0, 1, 1), Clip(), CompositeFlags(1), src))
    state.handle(DisplayDrawComposite(0, Rect(1, 0, 2, 1), Clip(), CompositeFlags(0), src))
    assert words(state)[0, :3].tolist() == [0xABCDEF, 0, 0x123456]


def test_alpha_surface_takes_fills_and_copies() -> None:
    state = ss.Display(1 << 20, 1 << 20).channel(0)
    state.handle(DisplaySurfaceCreate(5, 4, 1, SurfaceFmt.FMT_8_A))
    state.handle(DisplayDrawFill(5, Rect(0, 0, 2, 1), Clip(), Brush.solid(0x80)))
    a8 = BitmapImage(
        width=2,
        height=1,
        format=BitmapFmt.FMT_8BIT_A,
        stride=4,
        data=bytes([7, 9, 0, 0]),
        bitmap_flags=BitmapFlags.TOP_DOWN,
    )
    state.handle(DisplayDrawCopy(5, Rect(2, 0, 4, 1), Clip(), a8, Rect(0, 0, 2, 1)))
    assert state.surfaces[5].pixels.tolist() == [[0x80, 0x80, 7, 9]]
