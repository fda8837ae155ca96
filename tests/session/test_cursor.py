"""Cursor shapes of every type to RGBA (expected pixels written out by hand), the cache and the state."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import spice_proto as sp
from spice_session._cursor import (
    MAX_CURSOR_SIDE,
    CursorError,
    CursorHidden,
    CursorMoved,
    CursorProblem,
    CursorShapeChanged,
    CursorState,
    decode_cursor,
)

T = sp.CursorType


def header(
    kind: sp.CursorType, w: int, h: int, unique: int = 1, hot: tuple[int, int] = (0, 0)
) -> sp.CursorHeader:
    return sp.CursorHeader(unique, kind, w, h, hot[0], hot[1])


def px(shape_rgba: np.ndarray) -> list[list[tuple[int, ...]]]:
    return [[tuple(int(c) for c in p) for p in row] for row in shape_rgba]


def test_alpha_is_bgra_words_turned_to_rgba_unchanged() -> None:
    data = bytes([0x10, 0x20, 0x30, 0x40, 0xFF, 0x00, 0x80, 0xFF])  # B G R A, B G R A
    shape = decode_cursor(header(T.ALPHA, 2, 1), data)
    assert px(shape.rgba) == [[(0x30, 0x20, 0x10, 0x40), (0x80, 0x00, 0xFF, 0xFF)]]
    assert not shape.has_xor
    assert shape.rgba.shape == (1, 2, 4) and shape.rgba.dtype == np.uint8


def test_mono_and_xor_combinations() -> None:
    # 3x2, one byte per mask row (MSB first; the 5 padding bits are junk and must be ignored).
    and_mask = bytes([0b0011_1111, 0b1001_0101])
    xor_mask = bytes([0b0101_0101, 0b1100_1010])
    shape = decode_cursor(header(T.MONO, 3, 2), and_mask + xor_mask)
    black, white, clear = (0, 0, 0, 255), (255, 255, 255, 255), (0, 0, 0, 0)
    # row 0: AND 0 0 1, XOR 0 1 0 -> black, white, transparent
    # row 1: AND 1 0 0, XOR 1 1 0 -> inverted (white + xor), white, black
    assert px(shape.rgba) == [[black, white, clear], [white, white, black]]
    assert shape.xor.tolist() == [[False, False, False], [True, False, False]]


def test_color4_odd_width_nibbles_palette_and_mask() -> None:
    # 3x2: 2 bytes per pixel row (high nibble first), 16 x u32 palette (0x00RRGGBB LE), AND mask.
    pixels = bytes([0x01, 0x20, 0x33, 0x0F])  # row0: 0 1 2 (pad 0), row1: 3 3 0 (pad F)
    palette = [0x000000, 0xFF0000, 0x00FF00, 0xFFFFFF] + [0x123456] * 12
    mask = bytes([0b0000_0000, 0b1010_0000])  # row1: x0 and x2 masked
    data = pixels + struct.pack("<16I", *palette) + mask
    shape = decode_cursor(header(T.COLOR4, 3, 2), data)
    assert px(shape.rgba) == [
        [(0, 0, 0, 255), (255, 0, 0, 255), (0, 255, 0, 255)],
        [(255, 255, 255, 255), (255, 255, 255, 255), (0, 0, 0, 0)],  # masked white: XOR; masked black: clear
    ]
    assert shape.xor.tolist() == [[False, False, False], [True, False, False]]


def test_color8_palette_lookup() -> None:
    pixels = bytes([0, 1, 255, 2])
    palette = [0] * 256
    palette[1], palette[2], palette[255] = 0x0000FF, 0x808080, 0xABCDEF
    data = pixels + struct.pack("<256I", *palette) + bytes([0, 0])
    shape = decode_cursor(header(T.COLOR8, 2, 2), data)
    assert px(shape.rgba) == [
        [(0, 0, 0, 255), (0, 0, 255, 255)],
        [(0xAB, 0xCD, 0xEF, 255), (0x80, 0x80, 0x80, 255)],
    ]


def test_color16_is_555_expanded_with_top_bits() -> None:
    words = [0x7C00, 0x03E0, 0x001F, 0x4210]
    data = struct.pack("<4H", *words) + bytes([0b0001_0000])  # 4x1, last pixel masked
    shape = decode_cursor(header(T.COLOR16, 4, 1), data)
    # 0x10 (16) -> 16 << 3 | 16 >> 2 = 132; masked non-black pixel XORs
    assert px(shape.rgba) == [[(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (132, 132, 132, 255)]]
    assert shape.xor.tolist() == [[False, False, False, True]]


def test_color24_and_color32_byte_order_and_mask() -> None:
    bgr = bytes([1, 2, 3, 0, 0, 0, 9, 8, 7])  # 3x1: (r3 g2 b1), black, (r7 g8 b9)
    shape24 = decode_cursor(header(T.COLOR24, 3, 1), bgr + bytes([0b0100_0000]))
    assert px(shape24.rgba) == [[(3, 2, 1, 255), (0, 0, 0, 0), (7, 8, 9, 255)]]
    bgrx = bytes([1, 2, 3, 0xAA, 0, 0, 0, 0xAA, 9, 8, 7, 0xAA])
    shape32 = decode_cursor(header(T.COLOR32, 3, 1), bgrx + bytes([0b0110_0000]))
    assert px(shape32.rgba) == [[(3, 2, 1, 255), (0, 0, 0, 0), (7, 8, 9, 255)]]
    assert shape32.xor.tolist() == [[False, False, True]]


@pytest.mark.parametrize("kind", list(T))
def test_short_data_is_a_cursor_error_naming_the_cursor(kind: sp.CursorType) -> None:
    need = sp.cursor_data_size(kind, 5, 4)
    with pytest.raises(CursorError, match=rf"{kind.name} cursor 5x4 .*needs {need} bytes.*got {need - 1}"):
        decode_cursor(header(kind, 5, 4, unique=0xAB), bytes(need - 1))


def test_oversized_cursor_is_refused() -> None:
    side = MAX_CURSOR_SIDE + 1
    with pytest.raises(CursorError, match="larger than"):
        decode_cursor(header(T.MONO, side, 1), bytes(2 * side))


def test_hot_spot_outside_the_shape_is_capped() -> None:
    shape = decode_cursor(header(T.ALPHA, 2, 2, hot=(9, 1)), bytes(16))
    assert (shape.hot_x, shape.hot_y) == (2, 1)


def test_zero_sized_cursor_is_an_empty_shape() -> None:
    shape = decode_cursor(header(T.MONO, 0, 0), b"")
    assert shape.rgba.shape == (0, 0, 4)


# --------------------------------------------------------------------------- state


def _mono_cursor(unique: int, flags: sp.CursorFlags = sp.CursorFlags.CACHE_ME) -> sp.Cursor:
    return sp.Cursor(flags, header(T.MONO, 8, 1, unique, (3, 0)), bytes([0x0F, 0xF0]))


def test_set_from_wire_bytes_changes_shape_and_position() -> None:
    # CURSOR_SET body by hand: x i16, y i16, visible u8, flags u16 (CACHE_ME), header, data.
    body = struct.pack("<hhBH", 100, -5, 1, 2) + struct.pack("<QBHHHH", 0x77, 1, 8, 1, 3, 0) + b"\x0f\xf0"
    msg = sp.CursorSet.decode(body)
    state = CursorState()
    events = state.handle(msg)
    assert len(events) == 1 and isinstance(events[0], CursorShapeChanged)
    ev = events[0]
    assert (ev.x, ev.y, ev.visible) == (100, -5, True)
    assert (state.x, state.y, state.visible) == (100, -5, True)
    assert ev.shape is state.shape and state.cache[0x77] is ev.shape
    assert (ev.shape.hot_x, ev.shape.width) == (3, 8)
    # AND 00001111 XOR 11110000: 4 opaque white pixels, then 4 transparent ones
    assert px(ev.shape.rgba) == [[(255, 255, 255, 255)] * 4 + [(0, 0, 0, 0)] * 4]
    assert not ev.shape.has_xor


def test_cache_me_from_cache_inval_one_and_all() -> None:
    state = CursorState()
    state.handle(sp.CursorInit(0, 0, 0, 0, True, _mono_cursor(1)))
    state.handle(sp.CursorSet(1, 1, True, _mono_cursor(2)))
    first = state.cache[1]
    cached = sp.Cursor(sp.CursorFlags.FROM_CACHE, header(T.MONO, 8, 1, 1))  # no data
    (ev,) = state.handle(sp.CursorSet(5, 6, True, cached))
    assert isinstance(ev, CursorShapeChanged) and ev.shape is first
    assert state.handle(sp.CursorInvalOne(1)) == []
    with pytest.raises(CursorError, match="unique 0x1 is not cached"):
        state.handle(sp.CursorSet(5, 6, True, cached))
    assert set(state.cache) == {2}
    state.handle(sp.CursorInvalAll())
    assert state.cache == {}


def test_uncached_shape_is_not_remembered() -> None:
    state = CursorState()
    state.handle(sp.CursorSet(0, 0, True, _mono_cursor(9, sp.CursorFlags(0))))
    assert state.shape is not None and state.cache == {}


def test_init_clears_the_cache_and_honours_visible_and_trail() -> None:
    state = CursorState()
    state.handle(sp.CursorSet(0, 0, True, _mono_cursor(1)))
    events = state.handle(sp.CursorInit(10, 20, 4, 7, False, _mono_cursor(2)))
    assert [type(e) for e in events] == [CursorShapeChanged, CursorHidden]
    assert set(state.cache) == {2}
    assert (state.trail_length, state.trail_frequency, state.visible) == (4, 7, False)
    state.handle(sp.CursorTrail(1, 2))
    assert (state.trail_length, state.trail_frequency) == (1, 2)


def test_move_hide_none_and_reset() -> None:
    state = CursorState()
    state.handle(sp.CursorInit(0, 0, 0, 0, True, _mono_cursor(1)))
    assert state.handle(sp.CursorMove(-3, 400)) == [CursorMoved(-3, 400)]
    assert (state.x, state.y, state.visible) == (-3, 400, True)
    assert state.handle(sp.CursorHide()) == [CursorHidden()]
    assert state.visible is False and state.shape is not None
    state.handle(sp.CursorSet(0, 0, True, _mono_cursor(1, sp.CursorFlags.FROM_CACHE)))
    assert state.visible is True
    assert state.handle(sp.CursorSet(0, 0, True, sp.Cursor.none())) == [CursorHidden()]
    assert state.shape is None and state.visible is False
    state.handle(sp.CursorSet(0, 0, True, _mono_cursor(3)))
    assert state.handle(sp.CursorReset()) == [CursorHidden()]
    assert state.shape is None and state.cache == {} and not state.visible


def test_handle_safely_reports_a_bad_shape_and_keeps_the_state(caplog: pytest.LogCaptureFixture) -> None:
    state = CursorState()
    state.handle(sp.CursorSet(7, 8, True, _mono_cursor(1)))
    shape = state.shape
    bad = sp.Cursor(sp.CursorFlags.FROM_CACHE, header(T.MONO, 8, 1, 0x55))
    (problem,) = state.handle_safely(sp.CursorSet(100, 100, True, bad))
    assert isinstance(problem, CursorProblem) and "0x55" in str(problem.error)
    assert (state.shape, state.x, state.y, state.visible) == (shape, 7, 8, True)
    assert "cursor: skipped CursorSet" in caplog.text
    assert state.handle_safely(sp.CursorMove(1, 2)) == [CursorMoved(1, 2)]


def test_other_messages_are_ignored() -> None:
    state = CursorState()
    assert state.handle(sp.Ping(1, 2)) == []
    assert state.shape is None
