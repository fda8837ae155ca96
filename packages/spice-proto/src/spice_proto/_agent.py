"""The guest agent's message layer, carried inside MAIN_AGENT_DATA.

The agent stream is a sequence of VDAgentMessage {protocol u32 = 1, type u32,
opaque u64, size u32} headers, each followed by ``size`` bytes.  The stream is
cut into AGENT_DATA bodies of at most 2048 bytes (:func:`agent_chunks`); the
receiving side glues them back with :class:`AgentStream`.  Layouts and numbers
come from spice-protocol's ``vd_agent.h``.  Only the messages a viewer needs
to set up have classes here (capabilities, monitor layout, replies); every
other type is passed along as an :class:`AgentMessage` with raw data.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag
from typing import Annotated, ClassVar, TypeVar

from ._caps import Caps
from ._errors import ProtocolError
from ._field_codecs import BOOL32, I32, U32, Items, LengthOf, bit_flags, lenient
from ._fields import Codec, Entry, OutWriter, Struct, read_fields, sub, write_fields
from ._frozen import frozen
from ._wire import Reader, Writer

__all__ = [
    "AGENT_MAX_DATA_SIZE",
    "AGENT_PROTOCOL",
    "AgentAnnounceCapabilities",
    "AgentCap",
    "AgentMessage",
    "AgentMessageType",
    "AgentMonConfig",
    "AgentMonitorsConfig",
    "AgentMonitorsFlags",
    "AgentReply",
    "AgentStream",
    "agent_chunks",
]

AGENT_PROTOCOL = 1
#: The most stream bytes one MAIN_AGENT_DATA may carry.
AGENT_MAX_DATA_SIZE = 2048
_HEADER = struct.Struct("<IIQI")


class AgentMessageType(IntEnum):
    MOUSE_STATE = 1
    MONITORS_CONFIG = 2
    REPLY = 3
    CLIPBOARD = 4
    DISPLAY_CONFIG = 5
    ANNOUNCE_CAPABILITIES = 6
    CLIPBOARD_GRAB = 7
    CLIPBOARD_REQUEST = 8
    CLIPBOARD_RELEASE = 9
    FILE_XFER_START = 10
    FILE_XFER_STATUS = 11
    FILE_XFER_DATA = 12
    CLIENT_DISCONNECTED = 13
    MAX_CLIPBOARD = 14
    AUDIO_VOLUME_SYNC = 15
    GRAPHICS_DEVICE_INFO = 16


class AgentCap(IntEnum):
    MOUSE_STATE = 0
    MONITORS_CONFIG = 1
    REPLY = 2
    CLIPBOARD = 3
    DISPLAY_CONFIG = 4
    CLIPBOARD_BY_DEMAND = 5
    CLIPBOARD_SELECTION = 6
    SPARSE_MONITORS_CONFIG = 7
    GUEST_LINEEND_LF = 8
    GUEST_LINEEND_CRLF = 9
    MAX_CLIPBOARD = 10
    AUDIO_VOLUME_SYNC = 11
    MONITORS_CONFIG_POSITION = 12
    FILE_XFER_DISABLED = 13
    FILE_XFER_DETAILED_ERRORS = 14
    GRAPHICS_DEVICE_INFO = 15
    CLIPBOARD_NO_RELEASE_ON_REGRAB = 16
    CLIPBOARD_GRAB_SERIAL = 17


class AgentMonitorsFlags(IntFlag):
    USE_POS = 1
    PHYSICAL_SIZE = 2


@frozen
class AgentMessage:
    """One VDAgentMessage: its type, opaque cookie and raw data."""

    type: AgentMessageType | int
    data: bytes = b""
    opaque: int = 0

    def encode(self) -> bytes:
        """Header plus data, ready for :func:`agent_chunks`."""
        return _HEADER.pack(AGENT_PROTOCOL, int(self.type), self.opaque, len(self.data)) + self.data


def agent_chunks(stream: bytes, size: int = AGENT_MAX_DATA_SIZE) -> list[bytes]:
    """Cut encoded agent messages into AGENT_DATA bodies of at most ``size`` bytes."""
    if not 0 < size <= AGENT_MAX_DATA_SIZE:
        raise ValueError(f"chunk size must be 1..{AGENT_MAX_DATA_SIZE}, not {size}")
    return [stream[i : i + size] for i in range(0, len(stream), size)]


class AgentStream:
    """Reassembles agent messages from AGENT_DATA bodies (sans-I/O).

    ``feed(chunk)`` returns the messages completed by that chunk.  A header
    with the wrong protocol or a size above ``max_message_size`` raises
    :class:`ProtocolError`: a hostile size cannot make us buffer without bound.
    """

    def __init__(self, max_message_size: int = 64 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self.max_message_size = max_message_size

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buf)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[AgentMessage]:
        self._buf += chunk
        out: list[AgentMessage] = []
        while len(self._buf) >= _HEADER.size:
            protocol, kind, opaque, size = _HEADER.unpack_from(self._buf)
            if protocol != AGENT_PROTOCOL:
                raise ProtocolError(
                    f"protocol {protocol}, expected {AGENT_PROTOCOL}",
                    where="VDAgentMessage",
                    field="protocol",
                )
            if size > self.max_message_size:
                raise ProtocolError(
                    f"size {size} above the limit of {self.max_message_size}",
                    where="VDAgentMessage",
                    field="size",
                )
            end = _HEADER.size + size
            if len(self._buf) < end:
                break
            data = bytes(self._buf[_HEADER.size : end])
            del self._buf[:end]
            known: AgentMessageType | int = kind
            if kind in AgentMessageType._value2member_map_:
                known = AgentMessageType(kind)
            out.append(AgentMessage(known, data, opaque))
        return out


_B = TypeVar("_B", bound="_AgentBody")


@frozen
class _AgentBody:
    """An agent message's data, declared like a channel message: a codec with each field."""

    TYPE: ClassVar[AgentMessageType]
    #: The name errors give (the VDAgent struct).
    WIRE_NAME: ClassVar[str]

    def message(self) -> AgentMessage:
        w = Writer()
        write_fields(w, self)
        return AgentMessage(self.TYPE, w.getvalue())

    @classmethod
    def parse(cls: type[_B], data: bytes) -> _B:
        return read_fields(cls, Reader(data, cls.WIRE_NAME))


class _CapsWords(Codec[Caps]):
    """Capabilities as u32 words to the end of the data."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> Caps:
        name = sub(field, part)
        return Caps.from_words(r.array(r.remaining // 4, lambda rr: rr.u32(name), name, 4))

    def write(self, o: OutWriter, value: Caps) -> None:
        for word in value.words():
            o.w.u32(word)


@frozen
class AgentAnnounceCapabilities(_AgentBody):
    """VDAgentAnnounceCapabilities: u32 request (answer with ours), then the caps words."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.ANNOUNCE_CAPABILITIES
    WIRE_NAME: ClassVar[str] = "VDAgentAnnounceCapabilities"

    request: Annotated[bool, BOOL32]
    caps: Annotated[Caps, _CapsWords()]


@frozen
class AgentMonConfig:
    """One monitor of VDAgentMonitorsConfig; on the wire height, width, depth, x, y."""

    width: int
    height: int
    depth: int = 32
    x: int = 0
    y: int = 0

    _WIRE: ClassVar[tuple[Entry, ...]] = (
        ("height", U32, "height"),
        ("width", U32, "width"),
        ("depth", U32, "depth"),
        ("x", I32, "x"),
        ("y", I32, "y"),
    )


@frozen
class AgentMonitorsConfig(_AgentBody):
    """VDAgentMonitorsConfig: u32 count, u32 flags, then 20 bytes per monitor."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.MONITORS_CONFIG
    WIRE_NAME: ClassVar[str] = "VDAgentMonitorsConfig"

    monitors: tuple[AgentMonConfig, ...]
    flags: AgentMonitorsFlags = AgentMonitorsFlags.USE_POS

    _WIRE: ClassVar[tuple[Entry, ...]] = (
        ("monitors", LengthOf(U32), "num_of_monitors"),
        ("flags", bit_flags("I", AgentMonitorsFlags), "flags"),
        ("monitors", Items(Struct(AgentMonConfig), 20, after="num_of_monitors"), "monitors"),
    )


@frozen
class AgentReply(_AgentBody):
    """VDAgentReply: which message type is answered, and 1 (success) or 2 (error)."""

    TYPE: ClassVar[AgentMessageType] = AgentMessageType.REPLY
    WIRE_NAME: ClassVar[str] = "VDAgentReply"
    SUCCESS: ClassVar[int] = 1
    ERROR: ClassVar[int] = 2

    type: Annotated[AgentMessageType | int, lenient("I", AgentMessageType)]
    error: Annotated[int, U32]
