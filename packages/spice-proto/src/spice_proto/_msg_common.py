"""Common messages: numbers below 100, valid on every channel.

Server to client: :class:`Migrate`, :class:`MigrateData`, :class:`SetAck`,
:class:`Ping`, :class:`WaitForChannels`, :class:`Disconnecting`,
:class:`Notify`.  Client to server: :class:`AckSync`, :class:`Ack`,
:class:`Pong`, :class:`MigrateFlushMark`, :class:`ClientMigrateData`,
:class:`ClientDisconnecting`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ._enums import (
    ChannelType,
    CommonMsg,
    CommonMsgc,
    LinkErr,
    MigrateFlags,
    NotifySeverity,
    NotifyVisibility,
)
from ._field_codecs import U8, U32, U64, Counted, EnumScalar, Rest, Text, bit_flags, lenient
from ._fields import Struct
from ._frozen import frozen
from ._message import Direction, Message, register

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

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER

#: A channel type: the :class:`ChannelType` member when known, else the plain number.
CHANNEL_TYPE = lenient("B", ChannelType)
_LINK_ERR = EnumScalar("I", LinkErr, "unknown LinkErr value {}")


@frozen
class _ToClient(Message):
    """A common message from the server."""

    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class _ToServer(Message):
    """A common message from the client."""

    CHANNEL: ClassVar[ChannelType | None] = None
    DIRECTION: ClassVar[Direction] = Direction.CLIENT_TO_SERVER


# --- server to client -------------------------------------------------------------------------


@register
@frozen
class Migrate(_ToClient):
    """MIGRATE: the channel is about to migrate; flags say whether to flush and send data."""

    TYPE: ClassVar[int] = CommonMsg.MIGRATE

    flags: Annotated[MigrateFlags, bit_flags("I", MigrateFlags)]


@register
@frozen
class MigrateData(_ToClient):
    """MIGRATE_DATA: opaque channel state for the migration target."""

    TYPE: ClassVar[int] = CommonMsg.MIGRATE_DATA

    data: Annotated[bytes, Rest()]


@register
@frozen
class SetAck(_ToClient):
    """SET_ACK: answer with ACK_SYNC(generation), then ACK after every ``window`` messages."""

    TYPE: ClassVar[int] = CommonMsg.SET_ACK

    generation: Annotated[int, U32]
    window: Annotated[int, U32]


@register
@frozen
class Ping(_ToClient):
    """PING: id, timestamp and optional padding (for measuring bandwidth); answer with :class:`Pong`."""

    TYPE: ClassVar[int] = CommonMsg.PING

    id: Annotated[int, U32]
    timestamp: Annotated[int, U64]
    data: Annotated[bytes, Rest()] = b""


@frozen
class ChannelWait:
    """One entry of WAIT_FOR_CHANNELS: wait until that channel has handled ``message_serial``."""

    channel_type: Annotated[ChannelType | int, CHANNEL_TYPE]
    channel_id: Annotated[int, U8]
    message_serial: Annotated[int, U64]

    SIZE: ClassVar[int] = 10


CHANNEL_WAIT: Struct[ChannelWait] = Struct(ChannelWait)


@register
@frozen
class WaitForChannels(_ToClient):
    """WAIT_FOR_CHANNELS: do not handle later messages until the listed channels caught up."""

    TYPE: ClassVar[int] = CommonMsg.WAIT_FOR_CHANNELS

    wait_list: Annotated[
        tuple[ChannelWait, ...],
        Counted(
            U8, "wait_count", CHANNEL_WAIT, ChannelWait.SIZE, "WaitForChannels: at most 255 entries, got {}"
        ),
    ]


@register
@frozen
class Disconnecting(_ToClient):
    """DISCONNECTING: the server is about to close the channel, with a reason."""

    TYPE: ClassVar[int] = CommonMsg.DISCONNECTING

    time_stamp: Annotated[int, U64]
    reason: Annotated[LinkErr, _LINK_ERR]


@register
@frozen
class Notify(_ToClient):
    """NOTIFY: a text message for the user (severity, visibility, code ``what``).

    On the wire the text is ``message_len`` bytes, followed by a NUL that
    real servers add and that we add too.
    """

    TYPE: ClassVar[int] = CommonMsg.NOTIFY

    time_stamp: Annotated[int, U64]
    severity: Annotated[NotifySeverity, EnumScalar("I", NotifySeverity, "unknown NotifySeverity value {}")]
    visibility: Annotated[
        NotifyVisibility, EnumScalar("I", NotifyVisibility, "unknown NotifyVisibility value {}")
    ]
    what: Annotated[int, U32]
    message: Annotated[str, Text()]


# --- client to server -------------------------------------------------------------------------


@register
@frozen
class AckSync(_ToServer):
    """ACK_SYNC: the client accepted the SET_ACK of this generation."""

    TYPE: ClassVar[int] = CommonMsgc.ACK_SYNC

    generation: Annotated[int, U32]


@register
@frozen
class Ack(_ToServer):
    """ACK (empty): the client handled another window of messages."""

    TYPE: ClassVar[int] = CommonMsgc.ACK


@register
@frozen
class Pong(_ToServer):
    """PONG: id and timestamp of the PING answered (12 bytes; the padding is never echoed)."""

    TYPE: ClassVar[int] = CommonMsgc.PONG

    id: Annotated[int, U32]
    timestamp: Annotated[int, U64]


@register
@frozen
class MigrateFlushMark(_ToServer):
    """MIGRATE_FLUSH_MARK (empty): the client flushed its pending messages for migration."""

    TYPE: ClassVar[int] = CommonMsgc.MIGRATE_FLUSH_MARK


@register
@frozen
class ClientMigrateData(_ToServer):
    """MIGRATE_DATA from the client: opaque channel state."""

    TYPE: ClassVar[int] = CommonMsgc.MIGRATE_DATA

    data: Annotated[bytes, Rest()]


@register
@frozen
class ClientDisconnecting(_ToServer):
    """DISCONNECTING from the client: it is about to close the channel."""

    TYPE: ClassVar[int] = CommonMsgc.DISCONNECTING

    time_stamp: Annotated[int, U64]
    reason: Annotated[LinkErr, _LINK_ERR]
