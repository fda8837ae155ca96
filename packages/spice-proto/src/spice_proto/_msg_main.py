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
from typing import ClassVar, TypeVar

from ._enums import ChannelType, LinkErr, MainMsg, MainMsgc, MouseMode
from ._errors import ProtocolError
from ._message import Direction, Message, register
from ._wire import Reader, Writer

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


def _channel_type(value: int) -> ChannelType | int:
    """A known channel type as the enum member; newer, unknown numbers stay plain ints."""
    try:
        return ChannelType(value)
    except ValueError:
        return value


def _link_err(value: int) -> LinkErr | int:
    try:
        return LinkErr(value)
    except ValueError:
        return value


def _text(raw: bytes, r: Reader, field: str) -> str:
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


# --------------------------------------------------------------------------- shared structures


@dataclass(frozen=True)
class ChannelId:
    """One entry of MAIN_CHANNELS_LIST: a channel type and its id (e.g. display 0)."""

    type: ChannelType | int
    id: int

    WIRE_SIZE: ClassVar[int] = 2

    def encode(self, w: Writer) -> None:
        w.u8(int(self.type)).u8(self.id)

    @classmethod
    def decode(cls, r: Reader) -> ChannelId:
        kind = r.u8("channels[].type")
        return cls(_channel_type(kind), r.u8("channels[].id"))


@dataclass(frozen=True)
class MigrationDstInfo:
    """Where a migrating client should connect: SpiceMigrationDstInfo.

    On the wire: port u16, sport u16, host_size u32, host pointer u32,
    cert_subject_size u32, cert_subject pointer u32 (0 = none).  The pointed-to
    strings follow the message's fixed fields; their sizes count the NUL.
    """

    port: int
    sport: int
    host: str
    cert_subject: str | None = None

    FIXED_SIZE: ClassVar[int] = 20

    def encode_fixed(self, w: Writer) -> tuple[int, int]:
        """Write the 20 fixed bytes; return the positions of the two pointers to patch."""
        w.u16(self.port).u16(self.sport)
        w.u32(len(_cstring(self.host, "MigrationDstInfo.host")))
        host_ptr = w.reserve_u32()
        w.u32(
            0
            if self.cert_subject is None
            else len(_cstring(self.cert_subject, "MigrationDstInfo.cert_subject"))
        )
        cert_ptr = w.reserve_u32()
        return host_ptr, cert_ptr

    def encode_strings(self, w: Writer, pointers: tuple[int, int]) -> None:
        """Append the strings after the fixed fields and patch the pointers to them."""
        host_ptr, cert_ptr = pointers
        w.patch_u32(host_ptr, w.tell())
        w.bytes(_cstring(self.host, "MigrationDstInfo.host"))
        if self.cert_subject is not None:
            w.patch_u32(cert_ptr, w.tell())
            w.bytes(_cstring(self.cert_subject, "MigrationDstInfo.cert_subject"))

    @classmethod
    def decode(cls, r: Reader, prefix: str = "dst_info.") -> MigrationDstInfo:
        port = r.u16(prefix + "port")
        sport = r.u16(prefix + "sport")
        host_size = r.u32(prefix + "host_size")
        host_ptr = r.u32(prefix + "host_data")
        cert_size = r.u32(prefix + "cert_subject_size")
        cert_ptr = r.u32(prefix + "cert_subject_data")
        host = ""
        if host_ptr:
            sub = r.at(host_ptr, prefix + "host_data")
            host = _text(sub.bytes(host_size, prefix + "host_data"), sub, prefix + "host_data")
        cert: str | None = None
        if cert_ptr:
            sub = r.at(cert_ptr, prefix + "cert_subject_data")
            raw = sub.bytes(cert_size, prefix + "cert_subject_data")
            cert = _text(raw, sub, prefix + "cert_subject_data")
        return cls(port, sport, host, cert)


# --------------------------------------------------------------------------- body helpers


_E = TypeVar("_E", bound="_Empty")
_D = TypeVar("_D", bound="_Data")
_T = TypeVar("_T", bound="_Tokens")


@dataclass(frozen=True)
class _Empty(Message):
    """A message without a body."""

    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls: type[_E], r: Reader) -> _E:
        return cls()


@dataclass(frozen=True)
class _Data(Message):
    """A message whose body is raw bytes (spice.proto's ``Data``)."""

    data: bytes = b""

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.data)

    @classmethod
    def decode_body(cls: type[_D], r: Reader) -> _D:
        return cls(r.rest())


@dataclass(frozen=True)
class _Tokens(Message):
    """A message carrying one u32 ``num_tokens``."""

    num_tokens: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.num_tokens)

    @classmethod
    def decode_body(cls: type[_T], r: Reader) -> _T:
        return cls(r.u32("num_tokens"))


# --------------------------------------------------------------------------- server -> client


@register
@dataclass(frozen=True)
class MainMigrateBegin(Message):
    """SPICE_MSG_MAIN_MIGRATE_BEGIN: semi-seamless migration to ``dst_info`` starts."""

    TYPE = MainMsg.MIGRATE_BEGIN
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    dst_info: MigrationDstInfo

    def encode_body(self, w: Writer) -> None:
        pointers = self.dst_info.encode_fixed(w)
        self.dst_info.encode_strings(w, pointers)

    @classmethod
    def decode_body(cls, r: Reader) -> MainMigrateBegin:
        return cls(MigrationDstInfo.decode(r))


@register
@dataclass(frozen=True)
class MainMigrateCancel(_Empty):
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

    session_id: int
    display_channels_hint: int
    supported_mouse_modes: MouseMode
    current_mouse_mode: MouseMode
    agent_connected: bool
    agent_tokens: int
    multi_media_time: int
    ram_hint: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.session_id).u32(self.display_channels_hint)
        w.u32(int(self.supported_mouse_modes)).u32(int(self.current_mouse_mode))
        w.u32(int(self.agent_connected)).u32(self.agent_tokens)
        w.u32(self.multi_media_time).u32(self.ram_hint)

    @classmethod
    def decode_body(cls, r: Reader) -> MainInit:
        return cls(
            session_id=r.u32("session_id"),
            display_channels_hint=r.u32("display_channels_hint"),
            supported_mouse_modes=MouseMode(r.u32("supported_mouse_modes")),
            current_mouse_mode=MouseMode(r.u32("current_mouse_mode")),
            agent_connected=bool(r.u32("agent_connected")),
            agent_tokens=r.u32("agent_tokens"),
            multi_media_time=r.u32("multi_media_time"),
            ram_hint=r.u32("ram_hint"),
        )


@register
@dataclass(frozen=True)
class MainChannelsList(Message):
    """SPICE_MSG_MAIN_CHANNELS_LIST: u32 count, then {type u8, id u8} per channel."""

    TYPE = MainMsg.CHANNELS_LIST
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    channels: tuple[ChannelId, ...]

    def encode_body(self, w: Writer) -> None:
        w.u32(len(self.channels))
        for channel in self.channels:
            channel.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> MainChannelsList:
        count = r.u32("num_of_channels")
        return cls(tuple(r.array(count, ChannelId.decode, "channels", ChannelId.WIRE_SIZE)))


@register
@dataclass(frozen=True)
class MainMouseMode(Message):
    """SPICE_MSG_MAIN_MOUSE_MODE: supported and current mode, u16 each."""

    TYPE = MainMsg.MOUSE_MODE
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    supported_modes: MouseMode
    current_mode: MouseMode

    def encode_body(self, w: Writer) -> None:
        w.u16(int(self.supported_modes)).u16(int(self.current_mode))

    @classmethod
    def decode_body(cls, r: Reader) -> MainMouseMode:
        supported = MouseMode(r.u16("supported_modes"))
        return cls(supported, MouseMode(r.u16("current_mode")))


@register
@dataclass(frozen=True)
class MainMultiMediaTime(Message):
    """SPICE_MSG_MAIN_MULTI_MEDIA_TIME: the server's media clock in milliseconds."""

    TYPE = MainMsg.MULTI_MEDIA_TIME
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    time: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.time)

    @classmethod
    def decode_body(cls, r: Reader) -> MainMultiMediaTime:
        return cls(r.u32("time"))


@register
@dataclass(frozen=True)
class MainAgentConnected(_Empty):
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

    error_code: LinkErr | int = LinkErr.OK

    def encode_body(self, w: Writer) -> None:
        w.u32(int(self.error_code))

    @classmethod
    def decode_body(cls, r: Reader) -> MainAgentDisconnected:
        return cls(_link_err(r.u32("error_code")))


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

    port: int
    sport: int
    host: str
    cert_subject: str | None = None

    def encode_body(self, w: Writer) -> None:
        info = MigrationDstInfo(self.port, self.sport, self.host, self.cert_subject)
        info.encode_strings(w, info.encode_fixed(w))

    @classmethod
    def decode_body(cls, r: Reader) -> MainMigrateSwitchHost:
        info = MigrationDstInfo.decode(r, prefix="")
        return cls(info.port, info.sport, info.host, info.cert_subject)


@register
@dataclass(frozen=True)
class MainMigrateEnd(_Empty):
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

    name: str

    def encode_body(self, w: Writer) -> None:
        raw = _cstring(self.name, "MainName")
        w.u32(len(raw)).bytes(raw)

    @classmethod
    def decode_body(cls, r: Reader) -> MainName:
        size = r.u32("name_len")
        return cls(_text(r.bytes(size, "name"), r, "name"))


@register
@dataclass(frozen=True)
class MainUuid(Message):
    """SPICE_MSG_MAIN_UUID: the VM's 16-byte UUID."""

    TYPE = MainMsg.UUID
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C

    uuid: bytes

    def __post_init__(self) -> None:
        if len(self.uuid) != 16:
            raise ProtocolError(f"uuid must be 16 bytes, not {len(self.uuid)}", where="MainUuid")

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.uuid)

    @classmethod
    def decode_body(cls, r: Reader) -> MainUuid:
        return cls(r.bytes(16, "uuid"))

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

    dst_info: MigrationDstInfo
    src_mig_version: int

    def encode_body(self, w: Writer) -> None:
        pointers = self.dst_info.encode_fixed(w)
        w.u32(self.src_mig_version)
        self.dst_info.encode_strings(w, pointers)

    @classmethod
    def decode_body(cls, r: Reader) -> MainMigrateBeginSeamless:
        info = MigrationDstInfo.decode(r)
        return cls(info, r.u32("src_mig_version"))


@register
@dataclass(frozen=True)
class MainMigrateDstSeamlessAck(_Empty):
    """SPICE_MSG_MAIN_MIGRATE_DST_SEAMLESS_ACK."""

    TYPE = MainMsg.MIGRATE_DST_SEAMLESS_ACK
    CHANNEL = ChannelType.MAIN
    DIRECTION = _S2C


@register
@dataclass(frozen=True)
class MainMigrateDstSeamlessNack(_Empty):
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

    cache_size: int

    def encode_body(self, w: Writer) -> None:
        w.u64(self.cache_size)

    @classmethod
    def decode_body(cls, r: Reader) -> MainClientInfo:
        return cls(r.u64("cache_size"))


@register
@dataclass(frozen=True)
class MainMigrateConnected(_Empty):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECTED."""

    TYPE = MainMsgc.MIGRATE_CONNECTED
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainMigrateConnectError(_Empty):
    """SPICE_MSGC_MAIN_MIGRATE_CONNECT_ERROR."""

    TYPE = MainMsgc.MIGRATE_CONNECT_ERROR
    CHANNEL = ChannelType.MAIN
    DIRECTION = _C2S


@register
@dataclass(frozen=True)
class MainAttachChannels(_Empty):
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

    mode: MouseMode

    def encode_body(self, w: Writer) -> None:
        w.u16(int(self.mode))

    @classmethod
    def decode_body(cls, r: Reader) -> MainMouseModeRequest:
        return cls(MouseMode(r.u16("mode")))


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
class MainClientMigrateEnd(_Empty):
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

    src_version: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.src_version)

    @classmethod
    def decode_body(cls, r: Reader) -> MainMigrateDstDoSeamless:
        return cls(r.u32("src_version"))


@register
@dataclass(frozen=True)
class MainMigrateConnectedSeamless(_Empty):
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
