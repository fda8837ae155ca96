"""The stock field codecs: integers, enums, bytes, strings, arrays, pointers, optional fields.

Each is a :class:`~._fields.Codec` to declare next to a field
(``x: Annotated[int, U32]``); see ``_fields`` for how a layout uses them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any, TypeVar

from ._errors import ProtocolError
from ._fields import Codec, OutWriter, member, read_payload, require_pointer, sub
from ._wire import Payload, Reader, Writer

T = TypeVar("T")
E = TypeVar("E", bound=IntEnum)
N = TypeVar("N", bound=Enum)

_U32 = struct.Struct("<I")


def _same(value: T) -> T:
    return value


class Scalar(Codec[T]):
    """One struct value (``code`` is its struct letter), turned into ``T`` by ``convert``."""

    __slots__ = ("_convert", "_st", "codes", "plain")

    scalar = True

    def __init__(self, code: str, convert: Callable[[Any], T]) -> None:
        self._st = struct.Struct("<" + code)
        self._convert = convert
        self.codes = code
        self.plain = convert is _same

    def read(self, r: Reader, field: str, part: str = "") -> T:
        got = r.try_unpack(self._st)
        if got is None:
            got = r.unpack(self._st, sub(field, part))  # raises
        return self._convert(got[0])

    def write(self, o: OutWriter, value: T) -> None:
        o.w.pack(self._st, value)

    def flat(self, value: T) -> tuple[Any, ...]:
        return (value,)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> T:
        return self._convert(got[i])


class EnumScalar(Scalar[E]):
    """An integer that must be a member of ``cls``; other values are a ProtocolError whose
    reason is ``unknown`` with ``{}`` for the value (default ``unknown <cls> <value>``)."""

    __slots__ = ("_cls", "_unknown")

    def __init__(self, code: str, cls: type[E], unknown: str | None = None) -> None:
        super().__init__(code, member(cls))
        self._cls = cls
        self._unknown = unknown if unknown is not None else f"unknown {cls.__name__} {{}}"
        self.plain = False

    def read(self, r: Reader, field: str, part: str = "") -> E:
        got = r.try_unpack(self._st)
        if got is None:
            got = r.unpack(self._st, sub(field, part))  # raises
        return self.take(got, 0, r, r.pos - self._st.size, field, part)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> E:
        try:
            return self._convert(got[i])
        except ValueError:
            raise self.error(r, got[i], sub(field, part), start) from None

    def error(self, r: Reader, value: int, field: str, offset: int) -> ProtocolError:
        """The error for ``value``, which ``cls`` does not know."""
        return ProtocolError(self._unknown.format(value), where=r.where, field=field, offset=offset)


U8: Scalar[int] = Scalar("B", _same)
U16: Scalar[int] = Scalar("H", _same)
U32: Scalar[int] = Scalar("I", _same)
U64: Scalar[int] = Scalar("Q", _same)
I16: Scalar[int] = Scalar("h", _same)
I32: Scalar[int] = Scalar("i", _same)
I64: Scalar[int] = Scalar("q", _same)
#: A u8 / u32 that is a flag: read as a bool (any non-zero value is true).
BOOL8: Scalar[bool] = Scalar("B", bool)
BOOL32: Scalar[bool] = Scalar("I", bool)


def fixed_bytes(size: int) -> Scalar[bytes]:
    """Exactly ``size`` bytes."""
    return Scalar(f"{size}s", _same)


def bit_flags(code: str, cls: type[N]) -> Scalar[N]:
    """An integer read as ``cls`` (a flag enum: any combination of bits is a value)."""
    return Scalar(code, member(cls))


def lenient(code: str, cls: type[E]) -> Scalar[int]:
    """An integer that is a member of ``cls`` when known, else kept as a plain int."""
    convert = member(cls)

    def known_or_plain(value: int) -> int:
        try:
            return convert(value)
        except ValueError:
            return value

    return Scalar(code, known_or_plain)


class Fixed(Codec[T]):
    """A fixed-size structure of integers, read with one struct call.

    ``codes`` has one struct letter per part and ``parts`` their names (for errors);
    ``build`` makes the value from the integers in wire order, ``flatten`` gives them
    back.  Parts listed in ``enums`` must be members of that enum.
    """

    __slots__ = ("_build", "_enums", "_flatten", "_parts", "_st", "codes", "size")

    def __init__(
        self,
        codes: str,
        parts: tuple[str, ...],
        build: Callable[..., T],
        flatten: Callable[[T], tuple[int, ...]],
        enums: dict[int, type[IntEnum]] | None = None,
    ) -> None:
        if len(codes) != len(parts):
            raise ValueError("one struct letter per part")
        self._st = struct.Struct("<" + codes)
        self._parts = tuple(
            (struct.Struct("<" + c), p, struct.calcsize("<" + codes[:i]))
            for i, (c, p) in enumerate(zip(codes, parts, strict=True))
        )
        self._build = build
        self._flatten = flatten
        self._enums = {k: EnumScalar(codes[k], cls) for k, cls in (enums or {}).items()}
        self.size = self._st.size
        self.codes = codes

    def read(self, r: Reader, field: str, part: str = "") -> T:
        got = r.try_unpack(self._st)
        if got is None:
            return self._read_parts(r, sub(field, part))
        if not self._enums:
            return self._build(*got)
        return self.take(got, 0, r, r.pos - self.size, field, part)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> T:
        values = got[i : i + len(self._parts)]
        if self._enums:
            checked = list(values)
            for k, enum in self._enums.items():
                _, name, offset = self._parts[k]
                checked[k] = enum.take(values, k, r, start + offset, sub(field, part), name)
            values = tuple(checked)
        return self._build(*values)

    def _read_parts(self, r: Reader, name: str) -> T:
        """Part by part, for an error that names the part that is missing or wrong."""
        values: list[Any] = []
        for i, (st, part, _) in enumerate(self._parts):
            enum = self._enums.get(i)
            values.append(r.unpack(st, sub(name, part))[0] if enum is None else enum.read(r, name, part))
        return self._build(*values)

    def put(self, w: Writer, value: T) -> None:
        """Write ``value`` to a plain :class:`Writer`."""
        w.pack(self._st, *self._flatten(value))

    def write(self, o: OutWriter, value: T) -> None:
        o.w.pack(self._st, *self._flatten(value))

    def flat(self, value: T) -> tuple[Any, ...]:
        return self._flatten(value)


class Var(Codec[T]):
    """A variable-size structure, read by ``read(r, name)`` and written by ``write(o, value)``."""

    __slots__ = ("_read", "_write")

    def __init__(self, read: Callable[[Reader, str], T], write: Callable[[OutWriter, T], None]) -> None:
        self._read = read
        self._write = write

    def read(self, r: Reader, field: str, part: str = "") -> T:
        return self._read(r, sub(field, part))

    def write(self, o: OutWriter, value: T) -> None:
        self._write(o, value)


class Pointer(Codec[T]):
    """A u32 pointer (never null) to a ``target`` laid out after the fixed part."""

    __slots__ = ("_target",)

    def __init__(self, target: Codec[T]) -> None:
        self._target = target

    def read(self, r: Reader, field: str, part: str = "") -> T:
        return self._target.read(require_pointer(r, field, part), field, part)

    def write(self, o: OutWriter, value: T) -> None:
        target = self._target
        o.pointer(lambda o2: target.write(o2, value))


class SizedBytes(Codec[Payload]):
    """``u32`` size (named ``<name>_size``) then that many bytes of payload (see :data:`Payload`)."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> Payload:
        got = r.try_unpack(_U32)
        size: int = got[0] if got is not None else r.u32(sub(field, part) + "_size")
        return read_payload(r, size, field, part)

    def write(self, o: OutWriter, value: Payload) -> None:
        o.w.u32(len(value)).bytes(value)


class Rest(Codec[bytes]):
    """Everything to the end of the body."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> bytes:
        return r.rest()

    def write(self, o: OutWriter, value: bytes) -> None:
        o.w.bytes(value)


def _read_items(r: Reader, count: int, item: Codec[T], item_size: int, name: str) -> tuple[T, ...]:
    return tuple(r.array(count, lambda rr: item.read(rr, name), name, item_size))


class Counted(Codec[tuple[T, ...]]):
    """A count (its own field, named ``count_name`` under the structure's name) then that
    many items of ``item``.

    ``item_size`` is an item's minimum wire size (see :meth:`Reader.array`);
    ``too_many`` is the error (with ``{}`` for the length) when the count does not fit.
    """

    __slots__ = ("_count", "_count_name", "_item", "_item_size", "_limit", "_too_many")

    def __init__(
        self, count: Scalar[int], count_name: str, item: Codec[T], item_size: int, too_many: str | None = None
    ) -> None:
        self._count = count
        self._count_name = count_name
        self._item = item
        self._item_size = item_size
        self._too_many = too_many
        self._limit = (1 << (8 * count._st.size)) - 1

    def read(self, r: Reader, field: str, part: str = "") -> tuple[T, ...]:
        count = self._count.read(r, field, self._count_name)
        return _read_items(r, count, self._item, self._item_size, sub(field, part))

    def write(self, o: OutWriter, value: tuple[T, ...]) -> None:
        if self._too_many is not None and len(value) > self._limit:
            raise ValueError(self._too_many.format(len(value)))
        self._count.write(o, len(value))
        for item in value:
            self._item.write(o, item)


class LengthOf(Codec[int]):
    """The number of items of the field it is written from, where the wire has it apart from
    the items (which an :class:`Items` reads later).  Only wire data, not a field value."""

    __slots__ = ("_count", "codes")

    argument = False

    def __init__(self, count: Scalar[int]) -> None:
        self._count = count
        self.codes = count.codes

    def read(self, r: Reader, field: str, part: str = "") -> int:
        return self._count.read(r, field, part)

    def write(self, o: OutWriter, value: Any) -> None:
        self._count.write(o, len(value))

    def flat(self, value: Any) -> tuple[Any, ...]:
        return (len(value),)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> int:
        value: int = got[i]
        return value


class Items(Codec[tuple[T, ...]]):
    """As many items of ``item`` as the earlier field ``after`` says (see :class:`LengthOf`);
    ``item_size`` is an item's minimum wire size."""

    __slots__ = ("_item", "_item_size", "after")

    def __init__(self, item: Codec[T], item_size: int, *, after: str) -> None:
        self._item = item
        self._item_size = item_size
        self.after = after

    def read_after(self, r: Reader, field: str, part: str, earlier: Any) -> tuple[T, ...]:
        return _read_items(r, earlier, self._item, self._item_size, sub(field, part))

    def write(self, o: OutWriter, value: tuple[T, ...]) -> None:
        for item in value:
            self._item.write(o, item)


class When(Codec[T | None]):
    """``codec`` when the earlier flags field ``after`` has ``bit``, else nothing (``None``)."""

    __slots__ = ("_bit", "_codec", "after")

    def __init__(self, after: str, bit: int, codec: Codec[T]) -> None:
        self.after = after
        self._bit = bit
        self._codec = codec

    def read_after(self, r: Reader, field: str, part: str, earlier: Any) -> T | None:
        return self._codec.read(r, field, part) if earlier & self._bit else None

    def write(self, o: OutWriter, value: T | None) -> None:
        if value is not None:
            self._codec.write(o, value)


# --- strings --------------------------------------------------------------------------------------


def _utf8(raw: bytes, r: Reader, field: str) -> str:
    """A NUL-terminated UTF-8 string: everything before the first NUL."""
    head = raw.split(b"\0", 1)[0]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise r.fail(f"not UTF-8: {exc.reason} at byte {exc.start}", field) from None


def _cstring(text: str, where: str) -> bytes:
    """``text`` as UTF-8 with the terminating NUL the peers count in the size field."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProtocolError(f"{text!r} is not encodable as UTF-8: {exc.reason}", where=where) from None
    if b"\0" in raw:
        raise ProtocolError(f"{text!r} contains a NUL byte", where=where)
    return raw + b"\0"


class CString(Codec[str]):
    """A NUL-terminated UTF-8 string whose u32 size counts the NUL: ``<name>_len`` then the
    bytes.  Encoding errors name ``where``."""

    __slots__ = ("_where",)

    def __init__(self, where: str) -> None:
        self._where = where

    def read(self, r: Reader, field: str, part: str = "") -> str:
        name = sub(field, part)
        size = r.u32(name + "_len")
        return _utf8(r.bytes(size, name), r, name)

    def write(self, o: OutWriter, value: str) -> None:
        raw = _cstring(value, self._where)
        o.w.u32(len(raw)).bytes(raw)


class PointedCString(Codec[str | None]):
    """Like :class:`CString`, but the u32 size (``<name>_size``) is followed by a u32 pointer
    to the bytes (``<name>_data``).  A null pointer reads as ``absent``; ``None`` is
    written as size 0 and a null pointer."""

    __slots__ = ("_absent", "_where")

    def __init__(self, where: str, absent: str | None) -> None:
        self._where = where
        self._absent = absent

    def read(self, r: Reader, field: str, part: str = "") -> str | None:
        name = sub(field, part)
        size = r.u32(name + "_size")
        offset = r.u32(name + "_data")
        if not offset:
            return self._absent
        target = r.at(offset, name + "_data")
        return _utf8(target.bytes(size, name + "_data"), target, name + "_data")

    def write(self, o: OutWriter, value: str | None) -> None:
        if value is None:
            o.w.u32(0).u32(0)
            return
        raw = _cstring(value, self._where)
        o.w.u32(len(raw))

        def emit(o2: OutWriter) -> None:
            o2.w.bytes(raw)

        o.pointer(emit)


class Text(Codec[str]):
    """A u32 length (``<name>_len``, not counting a NUL) then UTF-8 text, which is written
    with a NUL after it; trailing NULs are dropped and bad UTF-8 replaced when reading."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> str:
        name = sub(field, part)
        length = r.u32(name + "_len")
        return r.bytes(length, name).rstrip(b"\0").decode("utf-8", errors="replace")

    def write(self, o: OutWriter, value: str) -> None:
        raw = value.encode("utf-8")
        o.w.u32(len(raw)).bytes(raw).u8(0)
