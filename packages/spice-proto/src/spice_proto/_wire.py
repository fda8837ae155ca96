"""Little-endian readers and writers for message bodies.

SPICE data is little-endian and packed.  Pointers inside a body are u32
offsets from the start of that body, so a :class:`Reader` can spawn another
reader positioned at such an offset with :meth:`Reader.at`.

Large payloads (compressed images, video frames) are read with
:meth:`Reader.payload`, which hands out a read-only view into the body instead
of a copy when the body is immutable (see :data:`Payload`).
"""

from __future__ import annotations

import builtins
import struct
from bisect import bisect_right
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from ._errors import ProtocolError

T = TypeVar("T")

#: A large payload field (image data, a video frame): ``bytes``, or a read-only
#: ``memoryview`` into the immutable message body it was decoded from (no copy).
#: Both compare and hash by content, so ``QuicImage(data=b"...")`` equals the same
#: image decoded from the wire; call ``bytes(payload)`` where real ``bytes`` are needed.
Payload: TypeAlias = builtins.bytes | memoryview

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I8 = struct.Struct("<b")
_I16 = struct.Struct("<h")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")

#: ``bytes`` at least this long are kept by reference and joined once by ``getvalue``.
_BIG = 4096


class Reader:
    """Sequential reader over one message body, with errors that say where."""

    __slots__ = ("_data", "_frozen", "_pos", "where")

    def __init__(self, data: builtins.bytes | bytearray | memoryview, where: str, pos: int = 0) -> None:
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
        #: Whether the body can never change (it is, or views, a ``bytes``): then
        #: :meth:`payload` may hand out views of it.
        self._frozen = isinstance(self._data.obj, builtins.bytes)
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
        value: int = self.unpack(st, field)[0]
        return value

    def unpack(self, st: struct.Struct, field: str) -> tuple[Any, ...]:
        """All of ``st`` at once (``field`` names it in the error when it does not fit)."""
        pos = self._pos
        end = pos + st.size
        if end > len(self._data):
            raise self.fail(f"needs {st.size} bytes, only {len(self._data) - pos} left", field)
        self._pos = end
        return st.unpack_from(self._data, pos)

    def try_unpack(self, st: struct.Struct) -> tuple[Any, ...] | None:
        """All of ``st`` at once, or ``None`` (and no move) when it does not fit; the caller
        then reads part by part so that the error names the part that is missing."""
        pos = self._pos
        end = pos + st.size
        if end > len(self._data):
            return None
        self._pos = end
        return st.unpack_from(self._data, pos)

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

    def payload(self, n: int, field: str) -> Payload:
        """``n`` bytes of a large payload: a read-only view of the body when the body is
        immutable, else a copy (a view of a mutable buffer could change under the user)."""
        view = self._take(n, field)
        return view if self._frozen else builtins.bytes(view)

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


def _immutable(b: builtins.bytes | bytearray | memoryview) -> bool:
    """Whether ``b`` is a ``bytes`` or a plain byte view of one (its contents cannot change)."""
    if type(b) is builtins.bytes:
        return True
    return type(b) is memoryview and b.format == "B" and b.c_contiguous and isinstance(b.obj, builtins.bytes)


class Writer:
    """Builds a message body; :meth:`reserve_u32` + :meth:`patch_u32` fill in pointers.

    Small writes go to a bytearray; a large ``bytes`` (an image, a video frame), or a byte
    view of one, is kept by reference and copied exactly once, when :meth:`getvalue` joins
    the pieces.
    """

    __slots__ = ("_base", "_buf", "_chunks", "_starts")

    def __init__(self) -> None:
        self._buf = bytearray()
        #: Finished pieces before ``_buf`` and where each starts; ``_buf`` starts at ``_base``.
        self._chunks: list[builtins.bytes | bytearray | memoryview] = []
        self._starts: list[int] = []
        self._base = 0

    def tell(self) -> int:
        return self._base + len(self._buf)

    def pack(self, st: struct.Struct, *values: Any) -> Writer:
        """Append ``values`` packed with ``st``."""
        self._buf += st.pack(*values)
        return self

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
        if len(b) >= _BIG and _immutable(b):
            # Immutable, so keeping a reference is as good as a copy.
            if self._buf:
                self._push(self._buf)
                self._buf = bytearray()
            self._push(b)
        else:
            self._buf += b
        return self

    def _push(self, chunk: builtins.bytes | bytearray | memoryview) -> None:
        self._chunks.append(chunk)
        self._starts.append(self._base)
        self._base += len(chunk)

    def reserve_u32(self) -> int:
        """Write a zero u32 and return its position, to be patched later."""
        pos = self.tell()
        self._buf += b"\0\0\0\0"
        return pos

    def patch_u32(self, pos: int, v: int) -> None:
        rel = pos - self._base
        if rel >= 0 and rel + 4 <= len(self._buf):
            _U32.pack_into(self._buf, rel, v)
            return
        if 0 <= pos < self._base:
            i = bisect_right(self._starts, pos) - 1
            chunk, rel = self._chunks[i], pos - self._starts[i]
            if isinstance(chunk, bytearray) and rel + 4 <= len(chunk):
                _U32.pack_into(chunk, rel, v)
                return
        # Anywhere else (across pieces, inside a kept bytes, out of range): one flat buffer.
        if self._chunks:
            self._buf = bytearray(self.getvalue())
            self._chunks, self._starts, self._base = [], [], 0
        _U32.pack_into(self._buf, pos, v)

    def getvalue(self) -> builtins.bytes:
        if not self._chunks:
            return builtins.bytes(self._buf)
        return b"".join([*self._chunks, self._buf])
