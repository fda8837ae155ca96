"""Message base class and the registry that maps wire numbers to classes.

Every message body is a frozen dataclass subclassing :class:`Message`, with
class attributes naming its wire number, channel and direction, and a codec
declared next to each field (``x: Annotated[int, U32]``, see ``_fields``); the
body is those fields in order (or the class's ``_WIRE`` entries).  Registering a
class with :func:`register` makes :func:`decode_message` find it.
"""

from __future__ import annotations

import builtins
import enum
import struct
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from ._enums import ChannelType
from ._errors import ProtocolError
from ._fields import layout, read_fields, write_fields
from ._frozen import frozen
from ._wire import Reader, Writer


class Direction(enum.Enum):
    """Who sends a message: the server (``SPICE_MSG_*``) or the client (``SPICE_MSGC_*``)."""

    SERVER_TO_CLIENT = "server"
    CLIENT_TO_SERVER = "client"


@frozen
class Message:
    """A decoded message body.  Subclasses set the three class attributes and declare a
    codec with each field."""

    TYPE: ClassVar[int]
    #: ``None`` for the common messages (types below 100) valid on every channel.
    CHANNEL: ClassVar[ChannelType | None]
    DIRECTION: ClassVar[Direction]

    def encode_body(self, w: Writer) -> None:
        """Append this message's body to ``w``."""
        write_fields(w, self)

    @classmethod
    def decode_body(cls: builtins.type[M], r: Reader) -> M:
        """Read one body from ``r`` (positioned at the start of the body)."""
        return read_fields(cls, r)

    def encode(self) -> bytes:
        """The body bytes (without the data header)."""
        cls = type(self)
        try:
            fixed = _FIXED[cls]
        except KeyError:
            fixed = _FIXED[cls] = _fixed_layout(cls)
        if fixed is not None:  # (most messages a session or server sends: one struct call)
            return fixed[0].pack(*fixed[1](self))
        w = Writer()
        self.encode_body(w)
        return w.getvalue()

    @classmethod
    def decode(cls: builtins.type[M], body: bytes | bytearray | memoryview) -> M:
        """Decode a whole body; trailing bytes are tolerated (newer peers append fields)."""
        return cls.decode_body(Reader(body, cls.__name__))

    @property
    def type(self) -> int:
        return self.TYPE


M = TypeVar("M", bound=Message)

_Fixed = tuple[struct.Struct, Callable[[Any], tuple[Any, ...]]]
#: Per message class, what packs its body in one call when all of it is fixed-size fields
#: taken as they are (``None``: written field by field).
_FIXED: dict[type[Message], _Fixed | None] = {}


def _fixed_layout(cls: type[Message]) -> _Fixed | None:
    """:attr:`Layout.whole` of ``cls``'s body, unless ``cls`` writes its body itself."""
    if cls.encode_body is not Message.encode_body:
        return None
    return layout(cls, complete=True).whole


@frozen
class UnknownMessage:
    """A message we have no class for: its number and raw body, passed along untouched."""

    channel: ChannelType | int
    direction: Direction
    type: int
    body: bytes

    def encode(self) -> bytes:
        return self.body


_REGISTRY: dict[tuple[Direction, ChannelType | None, int], type[Message]] = {}


def register(cls: type[M]) -> type[M]:
    """Class decorator: make ``cls`` the decoder for its (direction, channel, type)."""
    key = (cls.DIRECTION, cls.CHANNEL, int(cls.TYPE))
    if key in _REGISTRY and _REGISTRY[key] is not cls:
        raise RuntimeError(f"{cls.__name__} and {_REGISTRY[key].__name__} share {key}")
    _REGISTRY[key] = cls
    return cls


def message_class(channel: ChannelType | int, direction: Direction, msg_type: int) -> type[Message] | None:
    """The registered class for a message number on a channel, or ``None``."""
    try:
        ch: ChannelType | None = ChannelType(channel)
    except ValueError:
        ch = None
    found = _REGISTRY.get((direction, ch, msg_type)) if ch is not None else None
    if found is None and msg_type < 100:
        found = _REGISTRY.get((direction, None, msg_type))
    return found


def decode_message(
    channel: ChannelType | int, direction: Direction, msg_type: int, body: bytes | bytearray | memoryview
) -> Message | UnknownMessage:
    """Decode a body by its channel, direction and type.

    Unknown numbers give :class:`UnknownMessage`; a known message whose body is
    malformed raises :class:`ProtocolError` naming the message and field.
    """
    return decode_with(message_class(channel, direction, msg_type), channel, direction, msg_type, body)


def decode_with(
    cls: type[Message] | None,
    channel: ChannelType | int,
    direction: Direction,
    msg_type: int,
    body: bytes | bytearray | memoryview,
) -> Message | UnknownMessage:
    """:func:`decode_message` with the class already looked up (``None``: not registered)."""
    if cls is None:
        return UnknownMessage(channel, direction, msg_type, bytes(body))
    try:
        return cls.decode(body)
    except ProtocolError:
        raise
    except (ValueError, IndexError) as exc:  # e.g. an enum value out of range
        raise ProtocolError(str(exc), where=cls.__name__) from exc


def registered_messages() -> dict[tuple[Direction, ChannelType | None, int], type[Message]]:
    """A copy of the registry (for tests and tools)."""
    return dict(_REGISTRY)
