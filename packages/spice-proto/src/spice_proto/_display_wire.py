"""Wire plumbing shared by the display structures and messages: pointers and codecs.

Display bodies carry u32 pointers: offsets from the start of the body to data
laid out after the fixed part.  :class:`OutWriter` writes the fixed part,
queues whatever a pointer refers to, and appends the queued data (which may
queue more) once the fixed part is done, patching each pointer as it goes.

A :class:`Codec` says how one value sits on the wire.  Its ``read(r, field,
part)`` names what it reads ``field.part`` (either may be empty) in errors, and
puts that name together only when something is wrong, so a well-formed body
decodes without building strings.  Messages and images declare a codec next to
each field, ``x: Annotated[int, U32]`` (a string there overrides the name used in
errors); :func:`layout` collects them in field order.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
import typing
from collections import deque
from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any, Generic, TypeVar

from ._errors import ProtocolError
from ._wire import Payload, Reader, Writer

T = TypeVar("T")
E = TypeVar("E", bound=IntEnum)
N = TypeVar("N", bound=Enum)

#: Something that appends one pointed-to structure.
Emit = Callable[["OutWriter"], None]

_U32 = struct.Struct("<I")


class OutWriter:
    """A :class:`Writer` plus the queue of structures that pointers refer to."""

    __slots__ = ("_pending", "base", "w")

    def __init__(self, w: Writer) -> None:
        self.w = w
        #: Where the body starts in ``w``; pointers are relative to it.
        self.base = w.tell()
        self._pending: deque[tuple[int, Emit]] = deque()

    def pointer(self, emit: Emit | None) -> None:
        """A u32 pointer to what ``emit`` writes, or a null pointer for ``None``."""
        if emit is None:
            self.w.u32(0)
        else:
            self._pending.append((self.w.reserve_u32(), emit))

    def flush(self) -> None:
        """Lay out every queued structure (breadth first) and patch its pointer."""
        while self._pending:
            pos, emit = self._pending.popleft()
            self.w.patch_u32(pos, self.w.tell() - self.base)
            emit(self)


def sub(field: str, part: str) -> str:
    """The name ``field.part``, or whichever of the two is not empty."""
    if not part:
        return field
    if not field:
        return part
    return f"{field}.{part}"


def at(r: Reader, offset: int, field: str, part: str = "") -> Reader:
    """:meth:`Reader.at`, naming ``field.part`` if ``offset`` is past the end."""
    return r.at(offset, "" if offset <= r.size else sub(field, part))


def read_pointer(r: Reader, field: str, part: str = "", *, required: bool = False) -> Reader | None:
    """Read a u32 pointer: a reader at its target, or ``None`` when it is null (an error if
    ``required``)."""
    got = r.try_unpack(_U32)
    offset: int = got[0] if got is not None else r.u32(sub(field, part))
    if offset == 0:
        if required:
            raise ProtocolError("null pointer", where=r.where, field=sub(field, part), offset=r.pos - 4)
        return None
    return at(r, offset, field, part)


def require_pointer(r: Reader, field: str, part: str = "") -> Reader:
    """Read a pointer that must not be null."""
    target = read_pointer(r, field, part, required=True)
    assert target is not None
    return target


def read_bytes(r: Reader, size: int, field: str, part: str = "") -> bytes:
    """``size`` bytes, named ``field.part`` if they are not there."""
    return r.bytes(size, "" if size <= r.remaining else sub(field, part))


def read_payload(r: Reader, size: int, field: str, part: str = "") -> Payload:
    """Like :func:`read_bytes`, for a large payload (a view of an immutable body, no copy)."""
    return r.payload(size, "" if size <= r.remaining else sub(field, part))


def maybe_enum(cls: type[E], value: int) -> int:
    """``cls(value)`` when ``value`` is known, else the plain int (for lists a newer peer may extend)."""
    try:
        return cls(value)
    except ValueError:
        return value


def member(cls: type[N]) -> Callable[[int], N]:
    """``cls(value)``, remembered in a table (enum calls are slow): the named members and
    up to 256 other values seen (flag combinations)."""
    table = {m.value: m for m in cls.__members__.values()}
    limit = len(table) + 256

    def convert(value: int) -> N:
        found = table.get(value)
        if found is None:
            found = cls(value)  # ValueError for a value cls does not know
            if len(table) < limit:
                table[value] = found
        return found

    return convert


def _enum_error(r: Reader, cls: type[IntEnum], value: int, field: str, offset: int) -> ProtocolError:
    return ProtocolError(f"unknown {cls.__name__} {value}", where=r.where, field=field, offset=offset)


# --- codecs ---------------------------------------------------------------------------------------


class Codec(Generic[T]):
    """How one value of type ``T`` is laid out.

    A fixed-size codec also has ``codes`` (its struct letters), so that a layout can read
    and write a run of them with one struct call: :meth:`flat` gives the integers of a
    value and :meth:`take` makes the value from ``got[i:]``, the run's integers.
    """

    __slots__ = ()

    #: Struct letters of a fixed-size codec; ``None`` for a variable-size one.
    codes: str | None = None

    def read(self, r: Reader, field: str, part: str = "") -> T:
        raise NotImplementedError

    def write(self, o: OutWriter, value: T) -> None:
        raise NotImplementedError

    def flat(self, value: T) -> tuple[Any, ...]:
        raise NotImplementedError

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> T:
        """The value from ``got[i:]``, read from offset ``start`` of ``r``."""
        raise NotImplementedError


def _same(value: int) -> int:
    return value


class Scalar(Codec[T]):
    """One integer (``code`` is its struct letter), turned into ``T`` by ``convert``."""

    __slots__ = ("_convert", "_st", "codes")

    def __init__(self, code: str, convert: Callable[[int], T]) -> None:
        self._st = struct.Struct("<" + code)
        self._convert = convert
        self.codes = code

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

    @property
    def plain(self) -> bool:
        """Whether the value is the integer as read."""
        return self._convert is _same


class EnumScalar(Scalar[E]):
    """An integer that must be a member of ``cls``; other values are a ProtocolError."""

    __slots__ = ("_cls",)

    def __init__(self, code: str, cls: type[E]) -> None:
        super().__init__(code, member(cls))
        self._cls = cls

    def read(self, r: Reader, field: str, part: str = "") -> E:
        got = r.try_unpack(self._st)
        if got is None:
            got = r.unpack(self._st, sub(field, part))  # raises
        return self.take(got, 0, r, r.pos - self._st.size, field, part)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> E:
        try:
            return self._convert(got[i])
        except ValueError:
            raise _enum_error(r, self._cls, got[i], sub(field, part), start) from None

    @property
    def plain(self) -> bool:
        return False


U8: Scalar[int] = Scalar("B", _same)
U16: Scalar[int] = Scalar("H", _same)
U32: Scalar[int] = Scalar("I", _same)
U64: Scalar[int] = Scalar("Q", _same)
I32: Scalar[int] = Scalar("i", _same)
I64: Scalar[int] = Scalar("q", _same)


def lenient(code: str, cls: type[E]) -> Scalar[int]:
    """An integer that is a member of ``cls`` when known, else kept as a plain int."""
    return Scalar(code, lambda value: maybe_enum(cls, value))


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
        self._enums = {k: (cls, member(cls)) for k, cls in (enums or {}).items()}
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
            for k, (cls, convert) in self._enums.items():
                try:
                    checked[k] = convert(checked[k])
                except ValueError:
                    _, name, offset = self._parts[k]
                    raise _enum_error(
                        r, cls, checked[k], sub(sub(field, part), name), start + offset
                    ) from None
            values = tuple(checked)
        return self._build(*values)

    def _read_parts(self, r: Reader, name: str) -> T:
        """Part by part, for an error that names the part that is missing or wrong."""
        values: list[Any] = []
        for i, (st, part, _) in enumerate(self._parts):
            value = r.unpack(st, sub(name, part))[0]
            checked = self._enums.get(i)
            if checked is not None:
                cls, convert = checked
                try:
                    value = convert(value)
                except ValueError:
                    raise _enum_error(r, cls, value, sub(name, part), r.pos - st.size) from None
            values.append(value)
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


class Counted(Codec[tuple[T, ...]]):
    """A count (its own field, named ``count_name``) then that many items of ``item``.

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
        count = self._count.read(r, self._count_name)
        name, item = sub(field, part), self._item
        return tuple(r.array(count, lambda rr: item.read(rr, name), name, self._item_size))

    def write(self, o: OutWriter, value: tuple[T, ...]) -> None:
        if self._too_many is not None and len(value) > self._limit:
            raise ValueError(self._too_many.format(len(value)))
        self._count.write(o, len(value))
        for item in value:
            self._item.write(o, item)


# --- layouts --------------------------------------------------------------------------------------

#: One field of a layout: attribute, codec, and its name on the wire (for errors).
Entry = tuple[str, Codec[Any], str]


class _Run:
    """Consecutive fixed-size fields, read and written with one struct call."""

    __slots__ = ("entries", "getter", "needs_flat", "needs_take", "st")

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = tuple(entries)
        codes = ""
        #: Fields that are not one integer as it is: (integer index, count, codec, name, byte offset).
        self.needs_take: list[tuple[int, int, Codec[Any], str, int]] = []
        #: Fields that are not one integer on the way out: (field index, codec), last first.
        self.needs_flat: list[tuple[int, Codec[Any]]] = []
        for k, (_, codec, name) in enumerate(entries):
            assert codec.codes is not None
            if not (isinstance(codec, Scalar) and codec.plain):
                self.needs_take.append(
                    (len(codes), len(codec.codes), codec, name, struct.calcsize("<" + codes))
                )
            if not isinstance(codec, Scalar):
                self.needs_flat.insert(0, (k, codec))
            codes += codec.codes
        self.st = struct.Struct("<" + codes)
        attrs = [attr for attr, _, _ in entries]
        self.getter = operator.attrgetter(*attrs) if len(attrs) > 1 else lambda v: (getattr(v, attrs[0]),)

    def write(self, o: OutWriter, value: object) -> None:
        if not self.needs_flat:
            o.w.pack(self.st, *self.getter(value))
            return
        values = list(self.getter(value))
        for k, codec in self.needs_flat:
            values[k : k + 1] = codec.flat(values[k])
        o.w.pack(self.st, *values)

    def read(self, r: Reader, field: str, out: list[Any]) -> None:
        got = r.try_unpack(self.st)
        if got is None:  # field by field, for the error that names the first one missing
            out.extend(codec.read(r, field, name) for _, codec, name in self.entries)
        elif not self.needs_take:
            out.extend(got)
        else:
            start, done = r.pos - self.st.size, 0
            for i, n, codec, name, offset in self.needs_take:
                out.extend(got[done:i])
                out.append(codec.take(got, i, r, start + offset, field, name))
                done = i + n
            out.extend(got[done:])


class Layout:
    """The wire fields of a structure or message, in order."""

    __slots__ = ("entries", "steps")

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self.entries = entries
        self.steps: list[_Run | Entry] = []
        pending: list[Entry] = []
        for entry in (*entries, None):
            if entry is not None and entry[1].codes is not None:
                pending.append(entry)
                continue
            if pending:
                self.steps.append(_Run(pending))
                pending = []
            if entry is not None:
                self.steps.append(entry)

    def write(self, o: OutWriter, value: object) -> None:
        """Write the fields of ``value``."""
        for step in self.steps:
            if type(step) is _Run:
                step.write(o, value)
            else:
                attr, codec, _ = step  # type: ignore[misc]
                codec.write(o, getattr(value, attr))

    def read(self, r: Reader, field: str = "") -> list[Any]:
        """The values of the fields in order (named under ``field`` in errors)."""
        out: list[Any] = []
        for step in self.steps:
            if type(step) is _Run:
                step.read(r, field, out)
            else:
                _, codec, name = step  # type: ignore[misc]
                out.append(codec.read(r, field, name))
        return out


_LAYOUTS: dict[type, Layout] = {}


def layout(cls: type, prefix: str = "", *, complete: bool = False) -> Layout:
    """The fields of dataclass ``cls`` that declare a codec, in field order (computed once).

    Wire names are the attribute names (or the string given next to the codec), under
    ``prefix`` when there is one.  With ``complete``, every field must have a codec.
    """
    found = _LAYOUTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        entries: list[Entry] = []
        for f in dataclasses.fields(cls):
            extras = getattr(hints[f.name], "__metadata__", ())
            codecs = [x for x in extras if isinstance(x, Codec)]
            if codecs:
                names = [x for x in extras if isinstance(x, str)]
                entries.append((f.name, codecs[0], sub(prefix, names[0] if names else f.name)))
            elif complete:
                raise TypeError(f"{cls.__name__}.{f.name} declares no codec")
        found = _LAYOUTS[cls] = Layout(tuple(entries))
    return found
