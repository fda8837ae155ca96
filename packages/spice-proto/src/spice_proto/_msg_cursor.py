"""Message bodies of the cursor channel (server to client only), and the cursor shape.

A :class:`Cursor` is u16 flags; unless ``CursorFlags.NONE`` is set, a 17-byte
:class:`CursorHeader` {unique u64, type u8, width u16, height u16, hot_spot_x
u16, hot_spot_y u16}; then the shape data, which runs to the end of the body.
Positions are two i16 (spice.proto's Point16), kept here as plain ``x, y``.

Shape data sizes, per :class:`CursorType` (w x h pixels; a "mask" is 1 bit per
pixel, rows padded to whole bytes, i.e. ``ceil(w / 8) * h`` bytes):

- ALPHA: 32-bit pixels with alpha, ``4 * w * h``
- MONO: AND mask then XOR mask, ``2 * ceil(w / 8) * h``
- COLOR4: 4-bit pixels (rows padded to a byte), a 16 x u32 palette, then the AND mask
- COLOR8: 8-bit pixels, a 256 x u32 palette, then the AND mask
- COLOR16 / COLOR24 / COLOR32: 2, 3, 4 bytes per pixel, then the AND mask

A cursor with ``FROM_CACHE`` set names a cached shape by ``header.unique`` and
carries no data.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ._enums import ChannelType, CursorFlags, CursorMsg, CursorType
from ._errors import ProtocolError
from ._field_codecs import BOOL8, I16, U16, U64, EnumScalar, bit_flags
from ._fields import Codec, OutWriter, Struct, sub
from ._frozen import frozen
from ._message import Direction, Message, register
from ._wire import Reader

__all__ = [
    "Cursor",
    "CursorHeader",
    "CursorHide",
    "CursorInit",
    "CursorInvalAll",
    "CursorInvalOne",
    "CursorMove",
    "CursorReset",
    "CursorSet",
    "CursorTrail",
    "cursor_data_size",
]

_S2C = Direction.SERVER_TO_CLIENT


def cursor_data_size(kind: CursorType | int, width: int, height: int) -> int:
    """Bytes of shape data a cursor of this type and size needs (see the module docstring)."""
    mask = (width + 7) // 8 * height
    if kind == CursorType.ALPHA:
        return 4 * width * height
    if kind == CursorType.MONO:
        return 2 * mask
    if kind == CursorType.COLOR4:
        return (width + 1) // 2 * height + 16 * 4 + mask
    if kind == CursorType.COLOR8:
        return width * height + 256 * 4 + mask
    if kind == CursorType.COLOR16:
        return 2 * width * height + mask
    if kind == CursorType.COLOR24:
        return 3 * width * height + mask
    if kind == CursorType.COLOR32:
        return 4 * width * height + mask
    raise ValueError(f"unknown cursor type {int(kind)}")


@frozen
class CursorHeader:
    """SpiceCursorHeader: the shape's cache key, type, size and hot spot (17 bytes)."""

    unique: Annotated[int, U64]
    type: Annotated[CursorType, EnumScalar("B", CursorType, "unknown cursor type {}")]
    width: Annotated[int, U16]
    height: Annotated[int, U16]
    hot_spot_x: Annotated[int, U16] = 0
    hot_spot_y: Annotated[int, U16] = 0

    WIRE_SIZE: ClassVar[int] = 17

    @property
    def data_size(self) -> int:
        """The shape data this header calls for."""
        return cursor_data_size(self.type, self.width, self.height)


@frozen
class Cursor:
    """SpiceCursor: flags, the header unless ``NONE``, and the shape data (rest of the body)."""

    flags: CursorFlags
    header: CursorHeader | None = None
    data: bytes = b""

    @classmethod
    def none(cls) -> Cursor:
        """The "no cursor" value: flags NONE, nothing else."""
        return cls(CursorFlags.NONE)

    @property
    def is_none(self) -> bool:
        return bool(self.flags & CursorFlags.NONE)


_HEADER: Struct[CursorHeader] = Struct(CursorHeader)
_CURSOR_FLAGS = bit_flags("H", CursorFlags)


class CursorCodec(Codec[Cursor]):
    """A :class:`Cursor`: flags, the header unless ``NONE``, and the shape data to the end of
    the body.  Data shorter than ``header.data_size`` is kept as sent: the framing is intact,
    so whoever uses the shape judges it (a client skips such a cursor, the session goes on)."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> Cursor:
        name = sub(field, part)
        flags = _CURSOR_FLAGS.read(r, name, "flags")
        if flags & CursorFlags.NONE:
            return Cursor(flags, None, r.rest())
        return Cursor(flags, _HEADER.read(r, name, "header"), r.rest())

    def write(self, o: OutWriter, value: Cursor) -> None:
        _CURSOR_FLAGS.write(o, value.flags)
        if not value.is_none:
            if value.header is None:
                raise ProtocolError("a cursor without the NONE flag needs a header", where="Cursor")
            _HEADER.write(o, value.header)
        o.w.bytes(value.data)


_CURSOR = CursorCodec()

# --------------------------------------------------------------------------- messages


@frozen
class _ToClient(Message):
    """A cursor channel message (they all come from the server)."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.CURSOR
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@register
@frozen
class CursorInit(_ToClient):
    """SPICE_MSG_CURSOR_INIT: position (i16 x, i16 y), u16 trail length and frequency,
    u8 visible, the cursor; also clears the client's shape cache."""

    TYPE = CursorMsg.INIT

    x: Annotated[int, I16, "position.x"]
    y: Annotated[int, I16, "position.y"]
    trail_length: Annotated[int, U16]
    trail_frequency: Annotated[int, U16]
    visible: Annotated[bool, BOOL8]
    cursor: Annotated[Cursor, _CURSOR]


@register
@frozen
class CursorReset(_ToClient):
    """SPICE_MSG_CURSOR_RESET: hide the cursor and clear the shape cache until the next INIT."""

    TYPE = CursorMsg.RESET


@register
@frozen
class CursorSet(_ToClient):
    """SPICE_MSG_CURSOR_SET: position (i16 x, i16 y), u8 visible, the new shape."""

    TYPE = CursorMsg.SET

    x: Annotated[int, I16, "position.x"]
    y: Annotated[int, I16, "position.y"]
    visible: Annotated[bool, BOOL8]
    cursor: Annotated[Cursor, _CURSOR]


@register
@frozen
class CursorMove(_ToClient):
    """SPICE_MSG_CURSOR_MOVE: new position (i16 x, i16 y)."""

    TYPE = CursorMsg.MOVE

    x: Annotated[int, I16, "position.x"]
    y: Annotated[int, I16, "position.y"]


@register
@frozen
class CursorHide(_ToClient):
    """SPICE_MSG_CURSOR_HIDE."""

    TYPE = CursorMsg.HIDE


@register
@frozen
class CursorTrail(_ToClient):
    """SPICE_MSG_CURSOR_TRAIL: u16 length, u16 frequency."""

    TYPE = CursorMsg.TRAIL

    length: Annotated[int, U16]
    frequency: Annotated[int, U16]


@register
@frozen
class CursorInvalOne(_ToClient):
    """SPICE_MSG_CURSOR_INVAL_ONE: drop the cached shape ``id`` (a header's ``unique``)."""

    TYPE = CursorMsg.INVAL_ONE

    id: Annotated[int, U64]


@register
@frozen
class CursorInvalAll(_ToClient):
    """SPICE_MSG_CURSOR_INVAL_ALL: clear the shape cache."""

    TYPE = CursorMsg.INVAL_ALL
