"""Cursor channel bodies: the cursor shape, its size rules, and the eight messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    ChannelType,
    Cursor,
    CursorFlags,
    CursorHeader,
    CursorHide,
    CursorInit,
    CursorInvalAll,
    CursorInvalOne,
    CursorMove,
    CursorMsg,
    CursorReset,
    CursorSet,
    CursorTrail,
    CursorType,
    Direction,
    Message,
    ProtocolError,
    cursor_data_size,
    decode_message,
)
from spice_proto.lowlevel import message_class

S2C = Direction.SERVER_TO_CLIENT

ALPHA_2X1 = Cursor(
    CursorFlags.CACHE_ME,
    CursorHeader(unique=5, type=CursorType.ALPHA, width=2, height=1, hot_spot_x=1, hot_spot_y=0),
    bytes.fromhex("ff00008000ff00ff"),
)
FROM_CACHE = Cursor(CursorFlags.FROM_CACHE, CursorHeader(5, CursorType.ALPHA, 2, 1))

EXAMPLES: list[Message] = [
    CursorInit(-3, 400, 0, 0, True, ALPHA_2X1),
    CursorInit(0, 0, 2, 3, False, Cursor.none()),
    CursorReset(),
    CursorSet(10, 20, True, ALPHA_2X1),
    CursorSet(10, 20, True, FROM_CACHE),
    CursorMove(-32768, 32767),
    CursorHide(),
    CursorTrail(4, 100),
    CursorInvalOne(0x0102030405060708),
    CursorInvalAll(),
]


def test_every_cursor_message_has_a_class_and_an_example() -> None:
    covered = {int(type(m).TYPE) for m in EXAMPLES}
    for number in CursorMsg:
        cls = message_class(ChannelType.CURSOR, S2C, number)
        assert cls is not None and cls.__name__.startswith("Cursor"), number
        assert int(number) in covered


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    body = msg.encode()
    assert decode_message(ChannelType.CURSOR, S2C, type(msg).TYPE, body) == msg


def _shape_data_size(msg: Message) -> int:
    cursor = getattr(msg, "cursor", None)
    return len(cursor.data) if isinstance(cursor, Cursor) else 0


@pytest.mark.parametrize("msg", [m for m in EXAMPLES if m.encode()], ids=lambda m: type(m).__name__)
def test_every_truncation_raises(msg: Message) -> None:
    """Cut anywhere before the shape data, the message is an error; cut in the shape data, the
    cursor keeps what came (the client judges the shape, see test_short_shape_data_is_kept)."""
    body = msg.encode()
    fixed = len(body) - _shape_data_size(msg)
    for cut in range(fixed):
        with pytest.raises(ProtocolError) as info:
            type(msg).decode(body[:cut])
        assert info.value.where == type(msg).__name__ and info.value.field
    for cut in range(fixed, len(body)):
        short = type(msg).decode(body[:cut])
        assert short.cursor.data == msg.cursor.data[: cut - fixed]  # type: ignore[attr-defined]


def test_set_mono_cursor_layout_by_hand() -> None:
    # 9x2 MONO: each mask row is 2 bytes (9 bits padded), AND mask then XOR mask.
    body = bytes.fromhex(
        "0a00"  # position.x 10
        "feff"  # position.y -2 (i16)
        "01"  # visible
        "0200"  # flags CACHE_ME
        "0807060504030201"  # header.unique
        "01"  # header.type MONO (one byte)
        "0900"  # width 9
        "0200"  # height 2
        "0100"  # hot_spot_x
        "0100"  # hot_spot_y
        "ff80"
        "ff80"  # AND mask, 2 rows
        "0000"
        "0000"  # XOR mask, 2 rows
    )
    msg = CursorSet.decode(body)
    assert (msg.x, msg.y, msg.visible) == (10, -2, True)
    assert msg.cursor.flags == CursorFlags.CACHE_ME
    assert msg.cursor.header == CursorHeader(0x0102030405060708, CursorType.MONO, 9, 2, 1, 1)
    assert msg.cursor.data == bytes.fromhex("ff80ff8000000000")
    assert msg.encode() == body
    short = CursorSet.decode(body[:-1])  # the shape is left to the client to judge (and skip)
    assert short.cursor.header == msg.cursor.header
    assert short.cursor.data == msg.cursor.data[:-1]


def test_set_alpha_cursor_layout_by_hand() -> None:
    body = bytes.fromhex(
        "1400"  # x 20
        "1e00"  # y 30
        "00"  # not visible
        "0000"  # flags: none
        "2a00000000000000"  # unique 42
        "00"  # ALPHA
        "0200"  # width 2
        "0200"  # height 2
        "0000"  # hot spot 0,0
        "0100"
        "000000ff"
        "ffffffff"
        "11223344"
        "55667788"  # 2x2 32-bit pixels
    )
    msg = CursorSet.decode(body)
    assert msg.cursor.header is not None
    assert msg.cursor.header.type is CursorType.ALPHA
    assert msg.cursor.header.data_size == 16
    assert msg.visible is False and (msg.x, msg.y) == (20, 30)
    assert msg.encode() == body
    assert len(CursorSet.decode(body[:-4]).cursor.data) == 12


def test_none_cursor_has_no_header() -> None:
    msg = CursorSet(0, 0, False, Cursor.none())
    assert msg.encode() == bytes.fromhex("00000000000100")
    decoded = CursorSet.decode(msg.encode())
    assert decoded.cursor.is_none and decoded.cursor.header is None


def test_from_cache_cursor_carries_no_data() -> None:
    body = CursorSet(1, 2, True, FROM_CACHE).encode()
    assert len(body) == 5 + 2 + 17
    assert CursorSet.decode(body).cursor == FROM_CACHE


def test_init_layout_by_hand() -> None:
    body = bytes.fromhex("fdff900102000300010100")
    msg = CursorInit.decode(body)
    assert msg == CursorInit(-3, 400, 2, 3, True, Cursor.none())
    assert msg.encode() == body


def test_small_messages_by_hand() -> None:
    assert CursorMove(-1, 2).encode() == bytes.fromhex("ffff0200")
    assert CursorTrail(4, 100).encode() == bytes.fromhex("04006400")
    assert CursorInvalOne(0x0102030405060708).encode() == bytes.fromhex("0807060504030201")
    assert CursorHide().encode() == CursorReset().encode() == CursorInvalAll().encode() == b""


def test_unknown_cursor_type_is_an_error() -> None:
    body = bytes.fromhex("000000000100000000000000000000070100010000000000")
    with pytest.raises(ProtocolError, match=r"CursorSet.*'cursor.header.type'.*unknown cursor type 7"):
        CursorSet.decode(body + bytes(64))


def test_header_without_none_flag_required_for_encoding() -> None:
    with pytest.raises(ProtocolError, match="needs a header"):
        CursorSet(0, 0, True, Cursor(CursorFlags(0))).encode()


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        (CursorType.ALPHA, 4 * 3 * 2),
        (CursorType.MONO, 2 * 1 * 2),  # two masks of 1 byte per row
        (CursorType.COLOR4, 2 * 2 + 16 * 4 + 1 * 2),  # nibbles (row of 3 -> 2 bytes), palette, mask
        (CursorType.COLOR8, 3 * 2 + 256 * 4 + 1 * 2),
        (CursorType.COLOR16, 2 * 3 * 2 + 1 * 2),
        (CursorType.COLOR24, 3 * 3 * 2 + 1 * 2),
        (CursorType.COLOR32, 4 * 3 * 2 + 1 * 2),
    ],
)
def test_data_size_rules_3x2(kind: CursorType, size: int) -> None:
    assert cursor_data_size(kind, 3, 2) == size


def test_data_size_rules_wide() -> None:
    # 17 pixels wide: masks take 3 bytes a row
    assert cursor_data_size(CursorType.MONO, 17, 4) == 2 * 3 * 4
    assert cursor_data_size(CursorType.COLOR32, 17, 4) == 4 * 17 * 4 + 3 * 4
    assert cursor_data_size(CursorType.ALPHA, 64, 64) == 16384
    with pytest.raises(ValueError, match="unknown cursor type 9"):
        cursor_data_size(9, 1, 1)


@given(
    st.sampled_from(list(CursorType)),
    st.integers(0, 40),
    st.integers(0, 40),
    st.integers(0, 2**64 - 1),
    st.integers(-(2**15), 2**15 - 1),
)
def test_cursor_round_trip(kind: CursorType, width: int, height: int, unique: int, x: int) -> None:
    header = CursorHeader(unique, kind, width, height, width // 2, height // 2)
    data = bytes(i & 0xFF for i in range(cursor_data_size(kind, width, height)))
    msg = CursorSet(x, -x - 1, True, Cursor(CursorFlags.CACHE_ME, header, data))
    body = msg.encode()
    assert len(body) == 5 + 2 + 17 + len(data)
    assert CursorSet.decode(body) == msg
    if data:  # short shape data is kept as sent, for the client to judge
        assert CursorSet.decode(body[:-1]).cursor.data == data[:-1]
