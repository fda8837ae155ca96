"""Message bodies of the main channel, both directions.

The main channel carries the session: MAIN_INIT (session id, mouse modes,
agent state), the list of the other channels, mouse-mode changes, the guest
agent's byte stream (AGENT_DATA, flow-controlled by AGENT_TOKEN) and the
migration messages.  Layouts follow spice-protocol's ``protocol.h`` and the
``MainChannel`` section of spice-common's ``spice.proto``.
"""

from __future__ import annotations

import uuid as _uuid
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
from ._frozen import frozen
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


@frozen
class _ToClient(Message):
    """A main channel message from the server."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.MAIN
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class _ToServer(Message):
    """A main channel message from the client."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.MAIN
    DIRECTION: ClassVar[Direction] = Direction.CLIENT_TO_SERVER


# --------------------------------------------------------------------------- shared structures


@frozen
class ChannelId:
    """One entry of MAIN_CHANNELS_LIST: a channel type and its id (e.g. display 0)."""

    type: Annotated[ChannelType | int, CHANNEL_TYPE]
    id: Annotated[int, U8]

    WIRE_SIZE: ClassVar[int] = 2


@frozen
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


@frozen
class _Data(Message):
    """A message whose body is raw bytes (spice.proto's ``Data``)."""

    data: Annotated[bytes, Rest()] = b""


@frozen
class _Tokens(Message):
    """A message carrying one u32 ``num_tokens``."""

    num_tokens: Annotated[int, U32]


# --------------------------------------------------------------------------- server -> client


@register
@frozen
class MainMigrateBegin(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_BEGIN: semi-seamless migration to ``dst_info`` starts."""

    TYPE = MainMsg.MIGRATE_BEGIN

    dst_info: Annotated[MigrationDstInfo, _DST_INFO]


@register
@frozen
class MainMigrateCancel(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_CANCEL."""

    TYPE = MainMsg.MIGRATE_CANCEL


@register
@frozen
class MainInit(_ToClient):
    """SPICE_MSG_MAIN_INIT: eight u32 fields describing the session."""

    TYPE = MainMsg.INIT

    session_id: Annotated[int, U32]
    display_channels_hint: Annotated[int, U32]
    supported_mouse_modes: Annotated[MouseMode, _MOUSE_MODE_32]
    current_mouse_mode: Annotated[MouseMode, _MOUSE_MODE_32]
    agent_connected: Annotated[bool, BOOL32]
    agent_tokens: Annotated[int, U32]
    multi_media_time: Annotated[int, U32]
    ram_hint: Annotated[int, U32]


@register
@frozen
class MainChannelsList(_ToClient):
    """SPICE_MSG_MAIN_CHANNELS_LIST: u32 count, then {type u8, id u8} per channel."""

    TYPE = MainMsg.CHANNELS_LIST

    channels: Annotated[
        tuple[ChannelId, ...], Counted(U32, "num_of_channels", Struct(ChannelId), ChannelId.WIRE_SIZE)
    ]


@register
@frozen
class MainMouseMode(_ToClient):
    """SPICE_MSG_MAIN_MOUSE_MODE: supported and current mode, u16 each."""

    TYPE = MainMsg.MOUSE_MODE

    supported_modes: Annotated[MouseMode, _MOUSE_MODE_16]
    current_mode: Annotated[MouseMode, _MOUSE_MODE_16]


@register
@frozen
class MainMultiMediaTime(_ToClient):
    """SPICE_MSG_MAIN_MULTI_MEDIA_TIME: the server's media clock in milliseconds."""

    TYPE = MainMsg.MULTI_MEDIA_TIME

    time: Annotated[int, U32]


@register
@frozen
class MainAgentConnected(_ToClient):
    """SPICE_MSG_MAIN_AGENT_CONNECTED (without tokens; see :class:`MainAgentConnectedTokens`)."""

    TYPE = MainMsg.AGENT_CONNECTED


@register
@frozen
class MainAgentDisconnected(_ToClient):
    """SPICE_MSG_MAIN_AGENT_DISCONNECTED: u32 error code (a :class:`LinkErr`)."""

    TYPE = MainMsg.AGENT_DISCONNECTED

    error_code: Annotated[LinkErr | int, lenient("I", LinkErr)] = LinkErr.OK


@register
@frozen
class MainAgentData(_Data):
    """SPICE_MSG_MAIN_AGENT_DATA: a chunk of the agent byte stream (server to client)."""

    TYPE = MainMsg.AGENT_DATA
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@frozen
class MainAgentToken(_Tokens):
    """SPICE_MSG_MAIN_AGENT_TOKEN: the client may send ``num_tokens`` more AGENT_DATA."""

    TYPE = MainMsg.AGENT_TOKEN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@frozen
class MainMigrateSwitchHost(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_SWITCH_HOST: reconnect to another host (same layout as DstInfo)."""

    TYPE = MainMsg.MIGRATE_SWITCH_HOST

    port: Annotated[int, U16]
    sport: Annotated[int, U16]
    host: Annotated[str, _HOST]
    cert_subject: Annotated[str | None, _CERT_SUBJECT] = None


@register
@frozen
class MainMigrateEnd(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_END."""

    TYPE = MainMsg.MIGRATE_END


@register
@frozen
class MainName(_ToClient):
    """SPICE_MSG_MAIN_NAME: the VM name; u32 length (counting the NUL) then the bytes."""

    TYPE = MainMsg.NAME

    name: Annotated[str, CString("MainName")]


@register
@frozen
class MainUuid(_ToClient):
    """SPICE_MSG_MAIN_UUID: the VM's 16-byte UUID."""

    TYPE = MainMsg.UUID

    uuid: Annotated[bytes, fixed_bytes(16)]

    def __post_init__(self) -> None:
        if len(self.uuid) != 16:
            raise ProtocolError(f"uuid must be 16 bytes, not {len(self.uuid)}", where="MainUuid")

    def as_uuid(self) -> _uuid.UUID:
        """The bytes as a :class:`uuid.UUID` (big-endian, as QEMU sends them)."""
        return _uuid.UUID(bytes=self.uuid)


@register
@frozen
class MainAgentConnectedTokens(_Tokens):
    """SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS: agent connected, with the client's initial tokens."""

    TYPE = MainMsg.AGENT_CONNECTED_TOKENS
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@frozen
class MainMigrateBeginSeamless(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_BEGIN_SEAMLESS: DstInfo, then u32 src_mig_version."""

    TYPE = MainMsg.MIGRATE_BEGIN_SEAMLESS

    dst_info: Annotated[MigrationDstInfo, _DST_INFO]
    src_mig_version: Annotated[int, U32]


@register
@frozen
class MainMigrateDstSeamlessAck(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_ACK."""

    TYPE = MainMsg.MIGRATE_DST_SEAMLESS_ACK


@register
@frozen
class MainMigrateDstSeamlessNack(_ToClient):
    """SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_NACK."""

    TYPE = MainMsg.MIGRATE_DST_SEAMLESS_NACK


# --------------------------------------------------------------------------- client -> server


@register
@frozen
class MainClientInfo(_ToServer):
    """SPICE_MSGC_MAIN_CLIENT_INFO (obsolete; decoded for completeness): u64 cache_size."""

    TYPE = MainMsgc.CLIENT_INFO

    cache_size: Annotated[int, U64]


@register
@frozen
class MainMigrateConnected(_ToServer):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECTED."""

    TYPE = MainMsgc.MIGRATE_CONNECTED


@register
@frozen
class MainMigrateConnectError(_ToServer):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR."""

    TYPE = MainMsgc.MIGRATE_CONNECT_ERROR


@register
@frozen
class MainAttachChannels(_ToServer):
    """SPICE_MSGC_MAIN_ATTACH_CHANNELS: ask for MAIN_CHANNELS_LIST (empty body)."""

    TYPE = MainMsgc.ATTACH_CHANNELS


@register
@frozen
class MainMouseModeRequest(_ToServer):
    """SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST: u16 mode."""

    TYPE = MainMsgc.MOUSE_MODE_REQUEST

    mode: Annotated[MouseMode, _MOUSE_MODE_16]


@register
@frozen
class MainAgentStart(_Tokens):
    """SPICE_MSGC_MAIN_AGENT_START: the server may send ``num_tokens`` AGENT_DATA."""

    TYPE = MainMsgc.AGENT_START
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@frozen
class MainClientAgentData(_Data):
    """SPICE_MSGC_MAIN_AGENT_DATA: a chunk of the agent byte stream (client to server)."""

    TYPE = MainMsgc.AGENT_DATA
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@frozen
class MainClientAgentToken(_Tokens):
    """SPICE_MSGC_MAIN_AGENT_TOKEN: the server may send ``num_tokens`` more AGENT_DATA."""

    TYPE = MainMsgc.AGENT_TOKEN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@frozen
class MainClientMigrateEnd(_ToServer):
    """SPICE_MSGC_MAIN_MIGRATE_END."""

    TYPE = MainMsgc.MIGRATE_END


@register
@frozen
class MainMigrateDstDoSeamless(_ToServer):
    """SPICE_MSGC_MAIN_MIGRATE_DST_DO_SEAMLESS: u32 src_version."""

    TYPE = MainMsgc.MIGRATE_DST_DO_SEAMLESS

    src_version: Annotated[int, U32]


@register
@frozen
class MainMigrateConnectedSeamless(_ToServer):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECTED_SEAMLESS."""

    TYPE = MainMsgc.MIGRATE_CONNECTED_SEAMLESS


@register
@frozen
class MainQualityIndicator(_Data):
    """SPICE_MSGC_MAIN_QUALITY_INDICATOR: raw bytes (free-form text from the client)."""

    TYPE = MainMsgc.QUALITY_INDICATOR
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S
