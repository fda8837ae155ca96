"""Pointer plumbing shared by the display structures and messages.

Display bodies carry u32 pointers: offsets from the start of the body to data
laid out after the fixed part.  :class:`OutWriter` writes the fixed part,
queues whatever a pointer refers to, and appends the queued data (which may
queue more) once the fixed part is done, patching each pointer as it goes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import IntEnum
from typing import TypeVar

from ._errors import ProtocolError
from ._wire import Reader, Writer

E = TypeVar("E", bound=IntEnum)

#: Something that appends one pointed-to structure.
Emit = Callable[["OutWriter"], None]


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


def read_pointer(r: Reader, field: str) -> Reader | None:
    """Read a u32 pointer: a reader at its target, or ``None`` when it is null."""
    offset = r.u32(field)
    if offset == 0:
        return None
    return r.at(offset, field)


def require_pointer(r: Reader, field: str) -> Reader:
    """Read a pointer that must not be null."""
    start = r.pos
    target = read_pointer(r, field)
    if target is None:
        raise ProtocolError("null pointer", where=r.where, field=field, offset=start)
    return target


def read_enum(r: Reader, cls: type[E], read: Callable[[str], int], field: str) -> E:
    """Read an integer with ``read`` and map it to ``cls``; unknown values are errors."""
    start = r.pos
    value = read(field)
    try:
        return cls(value)
    except ValueError:
        raise ProtocolError(
            f"unknown {cls.__name__} {value}", where=r.where, field=field, offset=start
        ) from None


def maybe_enum(cls: type[E], value: int) -> int:
    """``cls(value)`` when ``value`` is known, else the plain int (for lists a newer peer may extend)."""
    try:
        return cls(value)
    except ValueError:
        return value
