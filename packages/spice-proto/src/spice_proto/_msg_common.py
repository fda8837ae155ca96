"""Common messages: numbers below 100, valid on every channel.

Server to client: :class:`Migrate`, :class:`MigrateData`, :class:`SetAck`,
:class:`Ping`, :class:`WaitForChannels`, :class:`Disconnecting`,
:class:`Notify`.  Client to server: :class:`AckSync`, :class:`Ack`,
:class:`Pong`, :class:`MigrateFlushMark`, :class:`ClientMigrateData`,
:class:`ClientDisconnecting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, TypeVar

from ._enums import (
    ChannelType,
    CommonMsg,
    CommonMsgc,
    LinkErr,
    MigrateFlags,
    NotifySeverity,
    NotifyVisibility,
)
from ._message import Direction, Message, register
from ._wire import Reader, Writer

__all__ = [
    "Ack",
    "AckSync",
    "ChannelWait",
    "ClientDisconnecting",
    "ClientMigrateData",
    "Disconnecting",
    "Migrate",
    "MigrateData",
    "MigrateFlushMark",
    "Notify",
    "Ping",
    "Pong",
    "SetAck",
    "WaitForChannels",
]

E = TypeVar("E", bound=IntEnum)

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER


def _enum(r: Reader, cls: type[E], raw: int, field: str) -> E:
    try:
        return cls(raw)
    except ValueError:
        raise r.fail(f"unknown {cls.__name__} value {raw}", field) from None


# --- server to client -------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Migrate(Message):
    """MIGRATE: the channel is about to migrate; flags say whether to flush and send data."""

    TYPE: ClassVar[int] = CommonMsg.MIGRATE
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    flags: MigrateFlags

    def encode_body(self, w: Writer) -> None:
        w.u32(int(self.flags))

    @classmethod
    def decode_body(cls, r: Reader) -> Migrate:
        return cls(MigrateFlags(r.u32("flags")))


@register
@dataclass(frozen=True)
class MigrateData(Message):
    """MIGRATE_DATA: opaque channel state for the migration target."""

    TYPE: ClassVar[int] = CommonMsg.MIGRATE_DATA
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    data: bytes

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> MigrateData:
        return cls(r.rest())


@register
@dataclass(frozen=True)
class SetAck(Message):
    """SET_ACK: answer with ACK_SYNC(generation), then ACK after every ``window`` messages."""

    TYPE: ClassVar[int] = CommonMsg.SET_ACK
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    generation: int
    window: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.generation).u32(self.window)

    @classmethod
    def decode_body(cls, r: Reader) -> SetAck:
        return cls(r.u32("generation"), r.u32("window"))


@register
@dataclass(frozen=True)
class Ping(Message):
    """PING: id, timestamp and optional padding (for measuring bandwidth); answer with :class:`Pong`."""

    TYPE: ClassVar[int] = CommonMsg.PING
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    id: int
    timestamp: int
    data: bytes = b""

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id).u64(self.timestamp).bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> Ping:
        return cls(r.u32("id"), r.u64("timestamp"), r.rest())


@dataclass(frozen=True)
class ChannelWait:
    """One entry of WAIT_FOR_CHANNELS: wait until that channel has handled ``message_serial``."""

    channel_type: ChannelType | int
    channel_id: int
    message_serial: int

    SIZE: ClassVar[int] = 10

    def encode(self, w: Writer) -> None:
        w.u8(int(self.channel_type)).u8(self.channel_id).u64(self.message_serial)

    @classmethod
    def decode(cls, r: Reader) -> ChannelWait:
        raw = r.u8("channel_type")
        try:
            channel_type: ChannelType | int = ChannelType(raw)
        except ValueError:
            channel_type = raw
        return cls(channel_type, r.u8("channel_id"), r.u64("message_serial"))


@register
@dataclass(frozen=True)
class WaitForChannels(Message):
    """WAIT_FOR_CHANNELS: do not handle later messages until the listed channels caught up."""

    TYPE: ClassVar[int] = CommonMsg.WAIT_FOR_CHANNELS
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    wait_list: tuple[ChannelWait, ...]

    def encode_body(self, w: Writer) -> None:
        if len(self.wait_list) > 255:
            raise ValueError(f"WaitForChannels: at most 255 entries, got {len(self.wait_list)}")
        w.u8(len(self.wait_list))
        for item in self.wait_list:
            item.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> WaitForChannels:
        count = r.u8("wait_count")
        return cls(tuple(r.array(count, ChannelWait.decode, "wait_list", ChannelWait.SIZE)))


@register
@dataclass(frozen=True)
class Disconnecting(Message):
    """DISCONNECTING: the server is about to close the channel, with a reason."""

    TYPE: ClassVar[int] = CommonMsg.DISCONNECTING
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    time_stamp: int
    reason: LinkErr

    def encode_body(self, w: Writer) -> None:
        w.u64(self.time_stamp).u32(int(self.reason))

    @classmethod
    def decode_body(cls, r: Reader) -> Disconnecting:
        ts = r.u64("time_stamp")
        return cls(ts, _enum(r, LinkErr, r.u32("reason"), "reason"))


@register
@dataclass(frozen=True)
class Notify(Message):
    """NOTIFY: a text message for the user (severity, visibility, code ``what``).

    On the wire the text is ``message_len`` bytes, followed by a NUL that
    real servers add and that we add too.
    """

    TYPE: ClassVar[int] = CommonMsg.NOTIFY
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _S2C

    time_stamp: int
    severity: NotifySeverity
    visibility: NotifyVisibility
    what: int
    message: str

    def encode_body(self, w: Writer) -> None:
        text = self.message.encode("utf-8")
        w.u64(self.time_stamp).u32(int(self.severity)).u32(int(self.visibility))
        w.u32(self.what).u32(len(text)).bytes(text).u8(0)

    @classmethod
    def decode_body(cls, r: Reader) -> Notify:
        ts = r.u64("time_stamp")
        severity = _enum(r, NotifySeverity, r.u32("severity"), "severity")
        visibility = _enum(r, NotifyVisibility, r.u32("visibility"), "visibility")
        what = r.u32("what")
        length = r.u32("message_len")
        text = r.bytes(length, "message").rstrip(b"\0")
        return cls(ts, severity, visibility, what, text.decode("utf-8", errors="replace"))


# --- client to server -------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class AckSync(Message):
    """ACK_SYNC: the client accepted the SET_ACK of this generation."""

    TYPE: ClassVar[int] = CommonMsgc.ACK_SYNC
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    generation: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.generation)

    @classmethod
    def decode_body(cls, r: Reader) -> AckSync:
        return cls(r.u32("generation"))


@register
@dataclass(frozen=True)
class Ack(Message):
    """ACK (empty): the client handled another window of messages."""

    TYPE: ClassVar[int] = CommonMsgc.ACK
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> Ack:
        return cls()


@register
@dataclass(frozen=True)
class Pong(Message):
    """PONG: id and timestamp of the PING answered (12 bytes; the padding is never echoed)."""

    TYPE: ClassVar[int] = CommonMsgc.PONG
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    id: int
    timestamp: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id).u64(self.timestamp)

    @classmethod
    def decode_body(cls, r: Reader) -> Pong:
        return cls(r.u32("id"), r.u64("timestamp"))


@register
@dataclass(frozen=True)
class MigrateFlushMark(Message):
    """MIGRATE_FLUSH_MARK (empty): the client flushed its pending messages for migration."""

    TYPE: ClassVar[int] = CommonMsgc.MIGRATE_FLUSH_MARK
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls, r: Reader) -> MigrateFlushMark:
        return cls()


@register
@dataclass(frozen=True)
class ClientMigrateData(Message):
    """MIGRATE_DATA from the client: opaque channel state."""

    TYPE: ClassVar[int] = CommonMsgc.MIGRATE_DATA
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    data: bytes

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> ClientMigrateData:
        return cls(r.rest())


@register
@dataclass(frozen=True)
class ClientDisconnecting(Message):
    """DISCONNECTING from the client: it is about to close the channel."""

    TYPE: ClassVar[int] = CommonMsgc.DISCONNECTING
    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = _C2S

    time_stamp: int
    reason: LinkErr

    def encode_body(self, w: Writer) -> None:
        w.u64(self.time_stamp).u32(int(self.reason))

    @classmethod
    def decode_body(cls, r: Reader) -> ClientDisconnecting:
        ts = r.u64("time_stamp")
        return cls(ts, _enum(r, LinkErr, r.u32("reason"), "reason"))
