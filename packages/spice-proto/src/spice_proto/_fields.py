"""The declarative layer: a message or structure is a list of fields, each with a codec.

A :class:`Codec` says how one value sits on the wire.  Messages and structures declare
one next to each field, ``x: Annotated[int, U32]`` (a string there overrides the name
used in errors); :func:`layout` collects them in field order and :class:`Layout` reads
and writes them.  A class whose wire order differs from its field order (or that has a
count apart from its items) lists its entries in a ``_WIRE`` class attribute instead.

``read(r, field, part)`` names what it reads ``field.part`` (either may be empty) in
errors, and puts that name together only when something is wrong, so a well-formed
body decodes without building strings.  Consecutive fixed-size fields are read and
written with one struct call.

Bodies may carry u32 pointers: offsets from the start of the body to data laid out
after the fixed part.  :class:`OutWriter` writes the fixed part, queues whatever a
pointer refers to, and appends the queued data (which may queue more) once the fixed
part is done, patching each pointer as it goes.  The stock codecs are in
``_field_codecs``.
"""

from __future__ import annotations

import dataclasses
import operator
import struct
import typing
from collections import deque
from collections.abc import Callable, Iterable
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


# --- the codec contract ---------------------------------------------------------------------------


class Codec(Generic[T]):
    """How one value of type ``T`` is laid out.

    A fixed-size codec also has ``codes`` (its struct letters), so that a layout can read
    and write a run of them with one struct call: :meth:`flat` gives the struct values of
    a value and :meth:`take` makes the value from ``got[i:]``, the run's values.  ``plain``
    says the value is the one struct value as it is (no ``take``), ``scalar`` that it is
    one struct value on the way out (no ``flat``).

    A codec whose reading depends on an earlier field of the same layout names that field
    in ``after`` and implements :meth:`read_after`; a codec whose value is only wire data
    (a count, written from the field it counts) has ``argument`` false.
    """

    __slots__ = ()

    #: Struct letters of a fixed-size codec; ``None`` for a variable-size one.
    codes: str | None = None
    #: The value is the single struct value read, as it is.
    plain: bool = False
    #: The value packs as one struct value, as it is.
    scalar: bool = False
    #: Name of the earlier field whose value :meth:`read_after` needs.
    after: str | None = None
    #: Whether the value read is a field of the class (else only wire data).
    argument: bool = True

    def read(self, r: Reader, field: str, part: str = "") -> T:
        raise NotImplementedError

    def read_after(self, r: Reader, field: str, part: str, earlier: Any) -> T:
        """Read, given the value of the field named by ``after``."""
        raise NotImplementedError

    def write(self, o: OutWriter, value: T) -> None:
        raise NotImplementedError

    def flat(self, value: T) -> tuple[Any, ...]:
        raise NotImplementedError

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> T:
        """The value from ``got[i:]``, read from offset ``start`` of ``r``."""
        raise NotImplementedError


# --- layouts --------------------------------------------------------------------------------------

#: One field of a layout: attribute, codec, and its name on the wire (for errors).
Entry = tuple[str, Codec[Any], str]


class _Run:
    """Consecutive fixed-size fields, read and written with one struct call."""

    __slots__ = ("entries", "getter", "needs_flat", "needs_take", "size", "st")

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = tuple(entries)
        codes = ""
        #: Struct values of each field so far, to find where a field's values start.
        counts = 0
        #: Fields that are not one value as it is: (value index, count, codec, name, byte offset).
        self.needs_take: list[tuple[int, int, Codec[Any], str, int]] = []
        #: Fields that are not one value on the way out: (field index, codec), last first.
        self.needs_flat: list[tuple[int, Codec[Any]]] = []
        for k, (_, codec, name) in enumerate(entries):
            assert codec.codes is not None
            n = _values_in(codec.codes)
            if not codec.plain:
                self.needs_take.append((counts, n, codec, name, struct.calcsize("<" + codes)))
            if not codec.scalar:
                self.needs_flat.insert(0, (k, codec))
            codes += codec.codes
            counts += n
        self.st = struct.Struct("<" + codes)
        #: How many struct values the run has.
        self.size = counts
        attrs = [attr for attr, _, _ in entries]
        self.getter = operator.attrgetter(*attrs) if len(attrs) > 1 else lambda v: (getattr(v, attrs[0]),)

    def flatten(self, value: object) -> tuple[Any, ...]:
        """The struct values of the run's fields of ``value``."""
        if not self.needs_flat:
            return tuple(self.getter(value))
        values = list(self.getter(value))
        for k, codec in self.needs_flat:
            values[k : k + 1] = codec.flat(values[k])
        return tuple(values)

    def write(self, o: OutWriter, value: object) -> None:
        if not self.needs_flat:
            o.w.pack(self.st, *self.getter(value))
        else:
            o.w.pack(self.st, *self.flatten(value))

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, out: list[Any]) -> None:
        """Append the fields' values from ``got[i:]`` (read from offset ``start``) to ``out``."""
        done = i
        for k, n, codec, name, offset in self.needs_take:
            out.extend(got[done : i + k])
            out.append(codec.take(got, i + k, r, start + offset, field, name))
            done = i + k + n
        out.extend(got[done : i + self.size])

    def read(self, r: Reader, field: str, out: list[Any]) -> None:
        got = r.try_unpack(self.st)
        if got is None:  # field by field, for the error that names the first one missing
            out.extend(codec.read(r, field, name) for _, codec, name in self.entries)
        elif not self.needs_take:
            out.extend(got)
        else:
            self.take(got, 0, r, r.pos - self.st.size, field, out)


def _values_in(codes: str) -> int:
    """How many values struct gives for ``codes`` (``16s`` is one)."""
    st = struct.Struct("<" + codes)
    return len(st.unpack(bytes(st.size)))


#: A step of a layout that is not a run: attribute, codec, wire name, and the index of
#: the earlier value the codec reads after (-1: none).
_Step = tuple[str, Codec[Any], str, int]


class Layout:
    """The wire fields of a structure or message, in wire order.

    ``read`` gives the values of the fields in ``order`` (attribute names; by default the
    wire order), leaving out wire-only values such as a count read apart from its items.
    """

    __slots__ = ("_args", "entries", "fields", "run", "steps", "whole")

    def __init__(
        self, entries: Iterable[Entry], prefix: str = "", order: Iterable[str] | None = None
    ) -> None:
        local = tuple(entries)
        self.entries: tuple[Entry, ...] = tuple((a, c, sub(prefix, n)) for a, c, n in local)
        arguments = [k for k, (_, codec, _) in enumerate(local) if codec.argument]
        #: The attribute of each value :meth:`read` gives, in order.
        self.fields: tuple[str, ...] = (
            tuple(order) if order is not None else tuple(local[k][0] for k in arguments)
        )
        by_attr = {local[k][0]: k for k in arguments}
        if set(self.fields) != set(by_attr) or len(by_attr) != len(arguments):
            raise TypeError(f"layout fields {sorted(by_attr)} do not match {list(self.fields)}")
        args = [by_attr[a] for a in self.fields]
        self._args = None if args == list(range(len(local))) else args
        self.steps: list[_Run | _Step] = []
        pending: list[Entry] = []
        for k, entry in enumerate((*self.entries, None)):
            if entry is not None and entry[1].codes is not None and entry[1].after is None:
                pending.append(entry)
                continue
            if pending:
                self.steps.append(_Run(pending))
                pending = []
            if entry is not None:
                self.steps.append((*entry, _earlier(local, k)))
        #: The one run this layout is, when it is all fixed-size fields in order (else None).
        self.run: _Run | None = None
        if len(self.steps) == 1 and self._args is None and type(self.steps[0]) is _Run:
            self.run = self.steps[0]
        #: The struct and the getter of the values that write the whole layout in one call, as
        #: :meth:`write` would: when it is that one run with every value taken as it is, or empty.
        self.whole: tuple[struct.Struct, Callable[[Any], tuple[Any, ...]]] | None = None
        if not self.entries:
            self.whole = _NOTHING, _no_values
        elif self.run is not None and not self.run.needs_flat:
            self.whole = self.run.st, self.run.getter

    def write(self, o: OutWriter, value: object) -> None:
        """Write the fields of ``value``."""
        for step in self.steps:
            if type(step) is _Run:
                step.write(o, value)
            else:
                attr, codec, _, _ = step  # type: ignore[misc]
                codec.write(o, getattr(value, attr))

    def read(self, r: Reader, field: str = "") -> list[Any]:
        """The values of the fields in ``fields`` order (named under ``field`` in errors)."""
        out: list[Any] = []
        for step in self.steps:
            if type(step) is _Run:
                step.read(r, field, out)
            else:
                _, codec, name, earlier = step  # type: ignore[misc]
                if earlier < 0:
                    out.append(codec.read(r, field, name))
                else:
                    out.append(codec.read_after(r, field, name, out[earlier]))
        if self._args is None:
            return out
        return [out[k] for k in self._args]


_NOTHING = struct.Struct("<")


def _no_values(value: object) -> tuple[()]:
    return ()


def _earlier(entries: tuple[Entry, ...], k: int) -> int:
    """Index of the entry before ``k`` named by ``entries[k]``'s codec's ``after`` (-1: none)."""
    name = entries[k][1].after
    if name is None:
        return -1
    for j in range(k - 1, -1, -1):
        if entries[j][2] == name:
            return j
    raise TypeError(f"{entries[k][0]}: no field {name!r} before it")


#: Layouts of whole classes (``complete``), and of classes only partly on the wire.
_LAYOUTS: dict[type, Layout] = {}
_PARTIAL: dict[type, Layout] = {}


def layout(cls: type, prefix: str = "", *, complete: bool = False) -> Layout:
    """The wire fields of dataclass ``cls`` (computed once).

    They are its ``_WIRE`` entries when it has them, else the fields that declare a codec,
    in field order; wire names are the attribute names (or the string given next to the
    codec), under ``prefix`` when there is one.  With ``complete``, every field must be
    on the wire and :meth:`Layout.read` gives them in field order.
    """
    cache = _LAYOUTS if complete else _PARTIAL
    found = cache.get(cls)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        entries: tuple[Entry, ...] | None = getattr(cls, "_WIRE", None)
        if entries is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            declared: list[Entry] = []
            for name in names:
                extras = getattr(hints[name], "__metadata__", ())
                codecs = [x for x in extras if isinstance(x, Codec)]
                if codecs:
                    wire_names = [x for x in extras if isinstance(x, str)]
                    declared.append((name, codecs[0], wire_names[0] if wire_names else name))
                elif complete:
                    raise TypeError(f"{cls.__name__}.{name} declares no codec")
            entries = tuple(declared)
        found = cache[cls] = Layout(entries, prefix, names if complete else None)
    return found


def write_fields(w: Writer, value: object) -> None:
    """Append the wire fields of ``value`` (see :func:`layout`) and what they point to."""
    cls = type(value)
    o = OutWriter(w)
    (_LAYOUTS.get(cls) or layout(cls, complete=True)).write(o, value)
    if o._pending:
        o.flush()


def read_fields(cls: Callable[..., T], r: Reader) -> T:
    """A ``cls`` made from its wire fields, read from ``r``."""
    found = _LAYOUTS.get(cls)  # type: ignore[call-overload]
    return cls(*(found or layout(cls, complete=True)).read(r))  # type: ignore[arg-type]


class Struct(Codec[T]):
    """A structure declared like a message (a dataclass with a codec per field), inline.

    When all its fields are fixed size it is fixed size too and joins the runs of the
    layout it sits in.
    """

    __slots__ = ("_cls", "_layout", "_run", "codes")

    def __init__(self, cls: type[T]) -> None:
        self._cls: Callable[..., T] = cls
        self._layout = layout(cls, complete=True)
        self._run = self._layout.run
        self.codes = None if self._run is None else self._run.st.format[1:]

    def read(self, r: Reader, field: str, part: str = "") -> T:
        return self._cls(*self._layout.read(r, sub(field, part)))

    def write(self, o: OutWriter, value: T) -> None:
        self._layout.write(o, value)

    def flat(self, value: T) -> tuple[Any, ...]:
        assert self._run is not None
        return self._run.flatten(value)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> T:
        assert self._run is not None
        out: list[Any] = []
        self._run.take(got, i, r, start, sub(field, part), out)
        return self._cls(*out)
