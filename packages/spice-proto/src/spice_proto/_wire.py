"""Little-endian readers and writers for message bodies.

SPICE data is little-endian and packed.  Pointers inside a body are u32
offsets from the start of that body, so a :class:`Reader` can spawn another
reader positioned at such an offset with :meth:`Reader.at`.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Callable
from typing import TypeVar

from ._errors import ProtocolError

T = TypeVar("T")

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I8 = struct.Struct("<b")
_I16 = struct.Struct("<h")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")


class Reader:
    """Sequential reader over one message body, with errors that say where."""

    __slots__ = ("_data", "_pos", "where")

    def __init__(self, data: bytes | bytearray | memoryview, where: str, pos: int = 0) -> None:
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        self._pos = pos
        self.where = where

    @property
    def pos(self) -> int:
        """Current offset from the start of the body."""
        return self._pos

    @property
    def size(self) -> int:
        """Size of the whole body."""
        return len(self._data)

    @property
    def remaining(self) -> int:
        """Bytes left after the current offset."""
        return len(self._data) - self._pos

    def fail(self, reason: str, field: str | None = None) -> ProtocolError:
        """An error that names this body, ``field`` and the current offset."""
        return ProtocolError(reason, where=self.where, field=field, offset=self._pos)

    def _take(self, n: int, field: str) -> memoryview:
        if n < 0:
            raise self.fail(f"negative length {n}", field)
        end = self._pos + n
        if end > len(self._data):
            raise self.fail(f"needs {n} bytes, only {len(self._data) - self._pos} left", field)
        view = self._data[self._pos : end]
        self._pos = end
        return view

    def _unpack(self, st: struct.Struct, field: str) -> int:
        value: int = st.unpack_from(self._take(st.size, field))[0]
        return value

    def u8(self, field: str) -> int:
        return self._unpack(_U8, field)

    def u16(self, field: str) -> int:
        return self._unpack(_U16, field)

    def u32(self, field: str) -> int:
        return self._unpack(_U32, field)

    def u64(self, field: str) -> int:
        return self._unpack(_U64, field)

    def i8(self, field: str) -> int:
        return self._unpack(_I8, field)

    def i16(self, field: str) -> int:
        return self._unpack(_I16, field)

    def i32(self, field: str) -> int:
        return self._unpack(_I32, field)

    def i64(self, field: str) -> int:
        return self._unpack(_I64, field)

    def bytes(self, n: int, field: str) -> builtins.bytes:
        return builtins.bytes(self._take(n, field))

    def rest(self) -> builtins.bytes:
        """Everything from the current offset to the end of the body."""
        return builtins.bytes(self._take(self.remaining, "rest"))

    def skip(self, n: int, field: str) -> None:
        self._take(n, field)

    def at(self, offset: int, field: str) -> Reader:
        """A reader at ``offset`` from the start of the body (a SPICE pointer)."""
        if offset > len(self._data):
            raise self.fail(f"pointer {offset} past end of body ({len(self._data)} bytes)", field)
        return Reader(self._data, self.where, offset)

    def array(self, count: int, item: Callable[[Reader], T], field: str, item_size: int = 1) -> list[T]:
        """``count`` items read by ``item``; ``item_size`` is the minimum wire size of one,
        checked up front so a hostile count cannot make us loop or allocate without bound."""
        if count < 0 or count * item_size > self.remaining:
            raise self.fail(f"count {count} does not fit in {self.remaining} remaining bytes", field)
        return [item(self) for _ in range(count)]

    def expect_end(self) -> None:
        """Fail if bytes are left over (for bodies that must be exact)."""
        if self.remaining:
            raise self.fail(f"{self.remaining} unexpected trailing bytes")


class Writer:
    """Builds a message body; :meth:`reserve_u32` + :meth:`patch_u32` fill in pointers."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def tell(self) -> int:
        return len(self._buf)

    def u8(self, v: int) -> Writer:
        self._buf += _U8.pack(v)
        return self

    def u16(self, v: int) -> Writer:
        self._buf += _U16.pack(v)
        return self

    def u32(self, v: int) -> Writer:
        self._buf += _U32.pack(v)
        return self

    def u64(self, v: int) -> Writer:
        self._buf += _U64.pack(v)
        return self

    def i8(self, v: int) -> Writer:
        self._buf += _I8.pack(v)
        return self

    def i16(self, v: int) -> Writer:
        self._buf += _I16.pack(v)
        return self

    def i32(self, v: int) -> Writer:
        self._buf += _I32.pack(v)
        return self

    def i64(self, v: int) -> Writer:
        self._buf += _I64.pack(v)
        return self

    def bytes(self, b: builtins.bytes | bytearray | memoryview) -> Writer:
        self._buf += b
        return self

    def reserve_u32(self) -> int:
        """Write a zero u32 and return its position, to be patched later."""
        pos = len(self._buf)
        self._buf += b"\0\0\0\0"
        return pos

    def patch_u32(self, pos: int, v: int) -> None:
        _U32.pack_into(self._buf, pos, v)

    def getvalue(self) -> builtins.bytes:
        return builtins.bytes(self._buf)
