"""The declarative message layer: every message is a field list, and a new one needs no code."""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from typing import Annotated, ClassVar

import pytest
import spice_proto as sp
from spice_proto.lowlevel import (
    U8,
    U16,
    U32,
    Counted,
    Entry,
    EnumScalar,
    Items,
    LengthOf,
    PointedCString,
    Reader,
    Rest,
    Struct,
    When,
    Writer,
    layout,
    registered_messages,
    write_fields,
)


def test_every_registered_message_is_a_field_list() -> None:
    """No message class writes its own body: each one's fields all declare a codec."""
    for cls in registered_messages().values():
        assert cls.encode_body is sp.Message.encode_body, cls.__name__
        assert cls.decode_body.__func__ is sp.Message.decode_body.__func__, cls.__name__  # type: ignore[attr-defined]
        assert set(layout(cls, complete=True).fields) == {f.name for f in dataclasses.fields(cls)}, (
            cls.__name__
        )


# --- a channel that does not exist: its messages are declarations only ------------------------------


@dataclass(frozen=True)
class _Item:
    kind: Annotated[sp.ChannelType, EnumScalar("B", sp.ChannelType)]
    size: Annotated[int, U16]


@dataclass(frozen=True)
class _PortLike(sp.Message):
    """u8 flags, u16 count, u32 id, u32 name size + pointer, optional u16, items, rest."""

    TYPE: ClassVar[int] = 101
    CHANNEL: ClassVar[sp.ChannelType | None] = sp.ChannelType.PORT
    DIRECTION: ClassVar[sp.Direction] = sp.Direction.SERVER_TO_CLIENT

    items: tuple[_Item, ...]
    id: int
    name: str | None
    flags: int = 0
    extra: int | None = None
    tail: bytes = b""

    _WIRE: ClassVar[tuple[Entry, ...]] = (
        ("flags", U8, "flags"),
        ("items", LengthOf(U16), "count"),
        ("id", U32, "id"),
        ("name", PointedCString("PortLike.name", absent=None), "name"),
        ("extra", When("flags", 1, U16), "extra"),
        ("items", Items(Struct(_Item), 3, after="count"), "items"),
        ("tail", Rest(), "tail"),
    )


def test_a_new_message_is_a_field_list() -> None:
    msg = _PortLike((_Item(sp.ChannelType.DISPLAY, 7),), id=9, name="com.x", flags=1, extra=5, tail=b"!")
    body = msg.encode()
    fixed = struct.pack("<BHIIIH", 1, 1, 9, 6, 0, 5)
    name_at = len(fixed) + 3 + 1  # the pointed-to name follows the fixed part, items and tail
    assert (
        body == fixed[:7] + struct.pack("<II", 6, name_at) + fixed[15:] + b"\x02\x07\x00" + b"!" + b"com.x\0"
    )
    assert _PortLike.decode(body) == _PortLike(
        (_Item(sp.ChannelType.DISPLAY, 7),), 9, "com.x", 1, 5, b"!com.x\0"
    )
    plain = _PortLike((), id=1, name=None)
    assert plain.encode() == struct.pack("<BHIII", 0, 0, 1, 0, 0)
    assert _PortLike.decode(plain.encode()) == plain


def test_errors_of_a_declared_message_name_the_field_and_its_offset() -> None:
    body = _PortLike((_Item(sp.ChannelType.DISPLAY, 7),), id=9, name=None).encode()
    with pytest.raises(sp.ProtocolError) as info:
        _PortLike.decode(body[:-1])
    assert (info.value.where, info.value.field) == ("_PortLike", "items")
    bad = bytearray(body)
    bad[15] = 0xEE  # the item's kind
    with pytest.raises(sp.ProtocolError, match="unknown ChannelType 238") as info:
        _PortLike.decode(bytes(bad))
    assert (info.value.field, info.value.offset) == ("items.kind", 15)


def test_unknown_enum_values_are_reported_at_the_field() -> None:
    body = sp.Disconnecting(5, sp.LinkErr.OK).encode()[:8] + struct.pack("<I", 77)
    with pytest.raises(sp.ProtocolError, match="unknown LinkErr value 77") as info:
        sp.Disconnecting.decode(body)
    assert (info.value.field, info.value.offset) == ("reason", 8)
    header = sp.CursorHeader(1, sp.CursorType.ALPHA, 1, 1)
    cursor = sp.CursorSet(0, 0, True, sp.Cursor(sp.CursorFlags(0), header, bytes(4))).encode()
    bad = cursor[:15] + b"\x07" + cursor[16:]  # 5 fixed bytes, 2 of flags, 8 of unique: the type
    with pytest.raises(sp.ProtocolError, match="unknown cursor type 7") as info:
        sp.CursorSet.decode(bad)
    assert (info.value.field, info.value.offset) == ("cursor.header.type", 15)


def test_a_structure_inside_a_message_names_its_fields() -> None:
    header = sp.CursorHeader(1, sp.CursorType.ALPHA, 1, 1)
    body = sp.CursorSet(0, 0, True, sp.Cursor(sp.CursorFlags(0), header, bytes(4))).encode()
    with pytest.raises(sp.ProtocolError) as info:
        sp.CursorSet.decode(body[:17])
    assert (info.value.field, info.value.offset) == ("cursor.header.width", 16)


def test_declaration_mistakes_are_caught_when_the_layout_is_built() -> None:
    @dataclass(frozen=True)
    class NoCodec:
        a: Annotated[int, U8]
        b: int

    with pytest.raises(TypeError, match=r"NoCodec\.b declares no codec"):
        layout(NoCodec, complete=True)

    @dataclass(frozen=True)
    class Missing:
        a: int
        b: int
        _WIRE: ClassVar[tuple[Entry, ...]] = (("a", U8, "a"),)

    with pytest.raises(TypeError, match="do not match"):
        layout(Missing, complete=True)

    @dataclass(frozen=True)
    class Dangling:
        items: tuple[int, ...]
        _WIRE: ClassVar[tuple[Entry, ...]] = (("items", Items(U8, 1, after="count"), "items"),)

    with pytest.raises(TypeError, match="no field 'count' before it"):
        layout(Dangling, complete=True)


_MANY = Counted(U8, "n", U8, 1, "at most 255, got {}")


def test_counted_refuses_more_items_than_its_count_can_say() -> None:
    @dataclass(frozen=True)
    class Many:
        xs: Annotated[tuple[int, ...], _MANY]

    with pytest.raises(ValueError, match="at most 255, got 256"):
        _encode(Many(tuple(range(256))))
    assert _encode(Many((1, 2))) == b"\x02\x01\x02"
    assert layout(Many).read(Reader(b"\x02\x01\x02", "Many")) == [(1, 2)]


def _encode(value: object) -> bytes:
    w = Writer()
    write_fields(w, value)
    return w.getvalue()


# --- bodies of fixed-size fields: packed in one call ----------------------------------------------


def _field_by_field(message: sp.Message) -> bytes:
    w = Writer()
    message.encode_body(w)
    return w.getvalue()


def test_a_body_of_fixed_size_fields_is_packed_in_one_call_as_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = (sp.DisplayStreamReport(1, 2, 0xFFFF_FFFF, 4, 5, 6, -7, 8), sp.CursorMove(-1, 2), sp.Ack())
    expected = [_field_by_field(m) for m in messages]
    assert expected[2] == b""

    def refuse(self: object, w: object) -> None:
        raise AssertionError("written field by field")

    monkeypatch.setattr(sp.Message, "encode_body", refuse)  # (still the classes' own: inherited)
    assert [m.encode() for m in messages] == expected
    with pytest.raises(struct.error):  # out of range: as struct says, field by field too
        sp.CursorMove(0x8000, 0).encode()

    @dataclass(frozen=True)
    class _Own(sp.CursorMove):  # a class that writes its own body keeps doing so
        def encode_body(self, w: Writer) -> None:
            w.u8(9)

    assert _Own(1, 2).encode() == b"\x09"


def test_a_body_with_anything_but_fixed_size_fields_is_written_field_by_field() -> None:
    messages = [
        sp.WaitForChannels((sp.ChannelWait(sp.ChannelType.DISPLAY, 0, 5),)),
        sp.DisplayStreamData(3, 4, b"frame"),
        sp.CursorSet(1, 2, True, sp.Cursor(sp.CursorFlags.NONE)),
    ]
    for message in messages:
        assert message.encode() == _field_by_field(message)
