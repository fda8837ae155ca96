"""Message bodies of the main channel, both directions.

The main channel carries the session: MAIN_INIT (session id, mouse modes,
agent state), the list of the other channels, mouse-mode changes, the guest
agent's byte stream (AGENT_DATA, flow-controlled by AGENT_TOKEN) and the
migration messages.  Layouts follow spice-protocol's ``protocol.h`` and the
``MainChannel`` section of spice-common's ``spice.proto``.
"""

from __future__ import annotations

import uuid as _uuid
from dataclasses import dataclass
from typing import Annotated, ClassVar

from ._enums import ChannelType, LinkErr, MainMsg, MainMsgc, MouseMode
from ._errors import ProtocolError
from ._field_codecs import (
    BOOL32,
    U8,
    U16,
    U32,
    U64,
    Counted,
    CString,
    PointedCString,
    Rest,
    bit_flags,
    fixed_bytes,
    lenient,
)
from ._fields import Struct
from ._message import Direction, Message, register
from ._msg_common import CHANNEL_TYPE

__all__ = [
    "ChannelId",
    "MainAgentConnected",
    "MainAgentConnectedTokens",
    "MainAgentData",
    "MainAgentDisconnected",
    "MainAgentStart",
    "MainAgentToken",
    "MainAttachChannels",
    "MainChannelsList",
    "MainClientAgentData",
    "MainClientAgentToken",
    "MainClientInfo",
    "MainClientMigrateEnd",
    "MainInit",
    "MainMigrateBegin",
    "MainMigrateBeginSeamless",
    "MainMigrateCancel",
    "MainMigrateConnectError",
    "MainMigrateConnected",
    "MainMigrateConnectedSeamless",
    "MainMigrateDstDoSeamless",
    "MainMigrateDstSeamlessAck",
    "MainMigrateDstSeamlessNack",
    "MainMigrateEnd",
    "MainMigrateSwitchHost",
    "MainMouseMode",
    "MainMouseModeRequest",
    "MainMultiMediaTime",
    "MainName",
    "MainQualityIndicator",
    "MainUuid",
    "MigrationDstInfo",
]

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER

_MOUSE_MODE_16 = bit_flags("H", MouseMode)
_MOUSE_MODE_32 = bit_flags("I", MouseMode)
_HOST = PointedCString("MigrationDstInfo.host", absent="")
_CERT_SUBJECT = PointedCString("MigrationDstInfo.cert_subject", absent=None)


# --------------------------------------------------------------------------- shared structures


@dataclass(frozen=True)
class ChannelId:
    """One entry of MAIN_CHANNELS_LIST: a channel type and its id (e.g. display 0)."""

    type: Annotated[ChannelType | int, CHANNEL_TYPE]
    id: Annotated[int, U8]

    WIRE_SIZE: ClassVar[int] = 2


@dataclass(frozen=True)
class MigrationDstInfo:
    """Where a migrating client should connect: SpiceMigrationDstInfo.

    On the wire: port u16, sport u16, host_size u32, host pointer u32,
    cert_subject_size u32, cert_subject pointer u32 (0 = none).  The pointed-to
    strings follow the message's fixed fields; their sizes count the NUL.
    """

    port: Annotated[int, U16]
    sport: Annotated[int, U16]
    host: Annotated[str, _HOST]
    cert_subject: Annotated[str | None, _CERT_SUBJECT] = None

    FIXED_SIZE: ClassVar[int] = 20


_DST_INFO: Struct[MigrationDstInfo] = Struct(MigrationDstInfo)


@dataclass(frozen=True)
class _Data(Message):
    """A message whose body is raw bytes (spice.proto's ``Data``)."""

    data: Annotated[bytes, Rest()] = b""


@dataclass(frozen=True)
class _Tokens(Message):
    """A message carrying one u32 ``num_tokens``."""

    num_tokens: Annotated[int, U32]


# --------------------------------------------------------------------------- server -> client


@register
@dataclass(frozen=True)
class MainMigrateBegin(Message):
    """SPICE_MSG_MAIN_MIGRATE_BEGIN: semi-seamless migration to ``dst_info`` starts."""

    TYPE = MainMsg.MIGRATE_BEGIN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    dst_info: Annotated[MigrationDstInfo, _DST_INFO]


@register
@dataclass(frozen=True)
class MainMigrateCancel(Message):
    """SPICE_MSG_MAIN_MIGRATE_CANCEL."""

    TYPE = MainMsg.MIGRATE_CANCEL
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainInit(Message):
    """SPICE_MSG_MAIN_INIT: eight u32 fields describing the session."""

    TYPE = MainMsg.INIT
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    session_id: Annotated[int, U32]
    display_channels_hint: Annotated[int, U32]
    supported_mouse_modes: Annotated[MouseMode, _MOUSE_MODE_32]
    current_mouse_mode: Annotated[MouseMode, _MOUSE_MODE_32]
    agent_connected: Annotated[bool, BOOL32]
    agent_tokens: Annotated[int, U32]
    multi_media_time: Annotated[int, U32]
    ram_hint: Annotated[int, U32]


@register
@dataclass(frozen=True)
class MainChannelsList(Message):
    """SPICE_MSG_MAIN_CHANNELS_LIST: u32 count, then {type u8, id u8} per channel."""

    TYPE = MainMsg.CHANNELS_LIST
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    channels: Annotated[
        tuple[ChannelId, ...], Counted(U32, "num_of_channels", Struct(ChannelId), ChannelId.WIRE_SIZE)
    ]


@register
@dataclass(frozen=True)
class MainMouseMode(Message):
    """SPICE_MSG_MAIN_MOUSE_MODE: supported and current mode, u16 each."""

    TYPE = MainMsg.MOUSE_MODE
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    supported_modes: Annotated[MouseMode, _MOUSE_MODE_16]
    current_mode: Annotated[MouseMode, _MOUSE_MODE_16]


@register
@dataclass(frozen=True)
class MainMultiMediaTime(Message):
    """SPICE_MSG_MAIN_MULTI_MEDIA_TIME: the server's media clock in milliseconds."""

    TYPE = MainMsg.MULTI_MEDIA_TIME
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    time: Annotated[int, U32]


@register
@dataclass(frozen=True)
class MainAgentConnected(Message):
    """SPICE_MSG_MAIN_AGENT_CONNECTED (without tokens; see :class:`MainAgentConnectedTokens`)."""

    TYPE = MainMsg.AGENT_CONNECTED
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainAgentDisconnected(Message):
    """SPICE_MSG_MAIN_AGENT_DISCONNECTED: u32 error code (a :class:`LinkErr`)."""

    TYPE = MainMsg.AGENT_DISCONNECTED
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    error_code: Annotated[LinkErr | int, lenient("I", LinkErr)] = LinkErr.OK


@register
@dataclass(frozen=True)
class MainAgentData(_Data):
    """SPICE_MSG_MAIN_AGENT_DATA: a chunk of the agent byte stream (server to client)."""

    TYPE = MainMsg.AGENT_DATA
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainAgentToken(_Tokens):
    """SPICE_MSG_MAIN_AGENT_TOKEN: the client may send ``num_tokens`` more AGENT_DATA."""

    TYPE = MainMsg.AGENT_TOKEN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainMigrateSwitchHost(Message):
    """SPICE_MSG_MAIN_MIGRATE_SWITCH_HOST: reconnect to another host (same layout as DstInfo)."""

    TYPE = MainMsg.MIGRATE_SWITCH_HOST
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    port: Annotated[int, U16]
    sport: Annotated[int, U16]
    host: Annotated[str, _HOST]
    cert_subject: Annotated[str | None, _CERT_SUBJECT] = None


@register
@dataclass(frozen=True)
class MainMigrateEnd(Message):
    """SPICE_MSG_MAIN_MIGRATE_END."""

    TYPE = MainMsg.MIGRATE_END
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainName(Message):
    """SPICE_MSG_MAIN_NAME: the VM name; u32 length (counting the NUL) then the bytes."""

    TYPE = MainMsg.NAME
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    name: Annotated[str, CString("MainName")]


@register
@dataclass(frozen=True)
class MainUuid(Message):
    """SPICE_MSG_MAIN_UUID: the VM's 16-byte UUID."""

    TYPE = MainMsg.UUID
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    uuid: Annotated[bytes, fixed_bytes(16)]

    def __post_init__(self) -> None:
        if len(self.uuid) != 16:
            raise ProtocolError(f"uuid must be 16 bytes, not {len(self.uuid)}", where="MainUuid")

    def as_uuid(self) -> _uuid.UUID:
        """The bytes as a :class:`uuid.UUID` (big-endian, as QEMU sends them)."""
        return _uuid.UUID(bytes=self.uuid)


@register
@dataclass(frozen=True)
class MainAgentConnectedTokens(_Tokens):
    """SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS: agent connected, with the client's initial tokens."""

    TYPE = MainMsg.AGENT_CONNECTED_TOKENS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainMigrateBeginSeamless(Message):
    """SPICE_MSG_MAIN_MIGRATE_BEGIN_SEAMLESS: DstInfo, then u32 src_mig_version."""

    TYPE = MainMsg.MIGRATE_BEGIN_SEAMLESS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    dst_info: Annotated[MigrationDstInfo, _DST_INFO]
    src_mig_version: Annotated[int, U32]


@register
@dataclass(frozen=True)
class MainMigrateDstSeamlessAck(Message):
    """SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_ACK."""

    TYPE = MainMsg.MIGRATE_DST_SEAMLESS_ACK
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainMigrateDstSeamlessNack(Message):
    """SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_NACK."""

    TYPE = MainMsg.MIGRATE_DST_SEAMLESS_NACK
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


# --------------------------------------------------------------------------- client -> server


@register
@dataclass(frozen=True)
class MainClientInfo(Message):
    """SPICE_MSGC_MAIN_CLIENT_INFO (obsolete; decoded for completeness): u64 cache_size."""

    TYPE = MainMsgc.CLIENT_INFO
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S

    cache_size: Annotated[int, U64]


@register
@dataclass(frozen=True)
class MainMigrateConnected(Message):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECTED."""

    TYPE = MainMsgc.MIGRATE_CONNECTED
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainMigrateConnectError(Message):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR."""

    TYPE = MainMsgc.MIGRATE_CONNECT_ERROR
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainAttachChannels(Message):
    """SPICE_MSGC_MAIN_ATTACH_CHANNELS: ask for MAIN_CHANNELS_LIST (empty body)."""

    TYPE = MainMsgc.ATTACH_CHANNELS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainMouseModeRequest(Message):
    """SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST: u16 mode."""

    TYPE = MainMsgc.MOUSE_MODE_REQUEST
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S

    mode: Annotated[MouseMode, _MOUSE_MODE_16]


@register
@dataclass(frozen=True)
class MainAgentStart(_Tokens):
    """SPICE_MSGC_MAIN_AGENT_START: the server may send ``num_tokens`` AGENT_DATA."""

    TYPE = MainMsgc.AGENT_START
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainClientAgentData(_Data):
    """SPICE_MSGC_MAIN_AGENT_DATA: a chunk of the agent byte stream (client to server)."""

    TYPE = MainMsgc.AGENT_DATA
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainClientAgentToken(_Tokens):
    """SPICE_MSGC_MAIN_AGENT_TOKEN: the server may send ``num_tokens`` more AGENT_DATA."""

    TYPE = MainMsgc.AGENT_TOKEN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainClientMigrateEnd(Message):
    """SPICE_MSGC_MAIN_MIGRATE_END."""

    TYPE = MainMsgc.MIGRATE_END
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainMigrateDstDoSeamless(Message):
    """SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS: u32 src_version."""

    TYPE = MainMsgc.MIGRATE_DST_DO_SEAMLESS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S

    src_version: Annotated[int, U32]


@register
@dataclass(frozen=True)
class MainMigrateConnectedSeamless(Message):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECTED_SEAMLESS."""

    TYPE = MainMsgc.MIGRATE_CONNECTED_SEAMLESS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainQualityIndicator(_Data):
    """SPICE_MSGC_MAIN_QUALITY_INDICATOR: raw bytes (free-form text from the client)."""

    TYPE = MainMsgc.QUALITY_INDICATOR
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S
