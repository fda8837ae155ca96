"""The usbredir wire protocol, sans-I/O: packets as frozen dataclasses, a byte-stream parser.

usbredir (the protocol of libusbredirparser, carried in SPICEVMC_DATA messages on a
SPICE usbredir channel) links a *USB host* side, which owns the device (our client), to
a *USB guest* side (QEMU's ``usb-redir``).  Every packet is a little-endian header
{type u32, length u32, id u32 | u64} followed by a type-specific header and data.  Some
layouts depend on capabilities both sides announced in their hello: 64-bit ids, the
device version in DEVICE_CONNECT, max packet sizes / streams in EP_INFO, 32-bit bulk
lengths.  Anything malformed raises :class:`UsbRedirError`.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ._errors import SessionError

__all__ = [
    "DEFAULT_MAX_PACKET",
    "Cap",
    "EpType",
    "Packet",
    "Received",
    "Speed",
    "Status",
    "UsbRedirError",
    "UsbRedirParser",
    "ep_index",
]

#: The largest packet (type header + data) accepted from the peer by default.
DEFAULT_MAX_PACKET = 8 << 20
#: Endpoint slots in EP_INFO (16 OUT then 16 IN) and interface slots in INTERFACE_INFO.
SLOTS = 32


class UsbRedirError(SessionError):
    """A usbredir packet that breaks the protocol; the message names the packet and the fault."""


class Cap(enum.IntEnum):
    """Capability bits announced in HELLO."""

    BULK_STREAMS = 0
    CONNECT_DEVICE_VERSION = 1
    FILTER = 2
    DEVICE_DISCONNECT_ACK = 3
    EP_INFO_MAX_PACKET_SIZE = 4
    IDS_64BIT = 5
    BULK_LENGTH_32BIT = 6
    BULK_RECEIVING = 7


class Status(enum.IntEnum):
    SUCCESS = 0
    CANCELLED = 1
    INVAL = 2
    IOERROR = 3
    STALL = 4
    TIMEOUT = 5
    BABBLE = 6


class Speed(enum.IntEnum):
    LOW = 0
    FULL = 1
    HIGH = 2
    SUPER = 3
    UNKNOWN = 255


class EpType(enum.IntEnum):
    CONTROL = 0
    ISO = 1
    BULK = 2
    INTERRUPT = 3
    INVALID = 255


class T(enum.IntEnum):
    """Packet type numbers."""

    HELLO = 0
    DEVICE_CONNECT = 1
    DEVICE_DISCONNECT = 2
    RESET = 3
    INTERFACE_INFO = 4
    EP_INFO = 5
    SET_CONFIGURATION = 6
    GET_CONFIGURATION = 7
    CONFIGURATION_STATUS = 8
    SET_ALT_SETTING = 9
    GET_ALT_SETTING = 10
    ALT_SETTING_STATUS = 11
    START_ISO_STREAM = 12
    STOP_ISO_STREAM = 13
    ISO_STREAM_STATUS = 14
    START_INTERRUPT_RECEIVING = 15
    STOP_INTERRUPT_RECEIVING = 16
    INTERRUPT_RECEIVING_STATUS = 17
    ALLOC_BULK_STREAMS = 18
    FREE_BULK_STREAMS = 19
    BULK_STREAMS_STATUS = 20
    CANCEL_DATA_PACKET = 21
    FILTER_REJECT = 22
    FILTER_FILTER = 23
    DEVICE_DISCONNECT_ACK = 24
    START_BULK_RECEIVING = 25
    STOP_BULK_RECEIVING = 26
    BULK_RECEIVING_STATUS = 27
    CONTROL_PACKET = 100
    BULK_PACKET = 101
    ISO_PACKET = 102
    INTERRUPT_PACKET = 103
    BUFFERED_BULK_PACKET = 104


def ep_index(endpoint: int) -> int:
    """The EP_INFO slot of an endpoint address: OUT endpoints 0-15, IN endpoints 16-31."""
    return ((endpoint & 0x80) >> 3) | (endpoint & 0x0F)


# ---------------------------------------------------------------------- packets
# Each class: TYPE, the struct layout of its type header (FIELDS in order), who may send it
# ("host", "guest" or "both") and whether data may follow the type header.


@dataclass(frozen=True)
class Hello:
    version: str
    caps: frozenset[int] = frozenset()
    TYPE: ClassVar[T] = T.HELLO
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class DeviceConnect:
    speed: int
    device_class: int
    device_subclass: int
    device_protocol: int
    vendor_id: int
    product_id: int
    device_version_bcd: int = 0
    TYPE: ClassVar[T] = T.DEVICE_CONNECT
    FMT: ClassVar[str] = "<BBBBHHH"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class DeviceDisconnect:
    TYPE: ClassVar[T] = T.DEVICE_DISCONNECT
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class Reset:
    TYPE: ClassVar[T] = T.RESET
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class Interface:
    number: int
    cls: int
    subclass: int
    protocol: int


@dataclass(frozen=True)
class InterfaceInfo:
    interfaces: tuple[Interface, ...]
    TYPE: ClassVar[T] = T.INTERFACE_INFO
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class Endpoint:
    """One EP_INFO slot (``type`` INVALID for an endpoint the device lacks)."""

    type: int = EpType.INVALID
    interval: int = 0
    interface: int = 0
    max_packet_size: int = 0
    max_streams: int = 0


@dataclass(frozen=True)
class EpInfo:
    """All 32 endpoint slots, indexed by :func:`ep_index`."""

    endpoints: tuple[Endpoint, ...]
    TYPE: ClassVar[T] = T.EP_INFO
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class SetConfiguration:
    configuration: int
    TYPE: ClassVar[T] = T.SET_CONFIGURATION
    FMT: ClassVar[str] = "<B"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class GetConfiguration:
    TYPE: ClassVar[T] = T.GET_CONFIGURATION
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class ConfigurationStatus:
    status: int
    configuration: int
    TYPE: ClassVar[T] = T.CONFIGURATION_STATUS
    FMT: ClassVar[str] = "<BB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class SetAltSetting:
    interface: int
    alt: int
    TYPE: ClassVar[T] = T.SET_ALT_SETTING
    FMT: ClassVar[str] = "<BB"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class GetAltSetting:
    interface: int
    TYPE: ClassVar[T] = T.GET_ALT_SETTING
    FMT: ClassVar[str] = "<B"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class AltSettingStatus:
    status: int
    interface: int
    alt: int
    TYPE: ClassVar[T] = T.ALT_SETTING_STATUS
    FMT: ClassVar[str] = "<BBB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class StartIsoStream:
    endpoint: int
    pkts_per_urb: int
    no_urbs: int
    TYPE: ClassVar[T] = T.START_ISO_STREAM
    FMT: ClassVar[str] = "<BBB"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class StopIsoStream:
    endpoint: int
    TYPE: ClassVar[T] = T.STOP_ISO_STREAM
    FMT: ClassVar[str] = "<B"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class IsoStreamStatus:
    status: int
    endpoint: int
    TYPE: ClassVar[T] = T.ISO_STREAM_STATUS
    FMT: ClassVar[str] = "<BB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class StartInterruptReceiving:
    endpoint: int
    TYPE: ClassVar[T] = T.START_INTERRUPT_RECEIVING
    FMT: ClassVar[str] = "<B"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class StopInterruptReceiving:
    endpoint: int
    TYPE: ClassVar[T] = T.STOP_INTERRUPT_RECEIVING
    FMT: ClassVar[str] = "<B"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class InterruptReceivingStatus:
    status: int
    endpoint: int
    TYPE: ClassVar[T] = T.INTERRUPT_RECEIVING_STATUS
    FMT: ClassVar[str] = "<BB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class AllocBulkStreams:
    endpoints: int
    no_streams: int
    TYPE: ClassVar[T] = T.ALLOC_BULK_STREAMS
    FMT: ClassVar[str] = "<II"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class FreeBulkStreams:
    endpoints: int
    TYPE: ClassVar[T] = T.FREE_BULK_STREAMS
    FMT: ClassVar[str] = "<I"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class BulkStreamsStatus:
    endpoints: int
    no_streams: int
    status: int
    TYPE: ClassVar[T] = T.BULK_STREAMS_STATUS
    FMT: ClassVar[str] = "<IIB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class CancelDataPacket:
    """Cancels the data packet whose id the header carries."""

    TYPE: ClassVar[T] = T.CANCEL_DATA_PACKET
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class FilterReject:
    TYPE: ClassVar[T] = T.FILTER_REJECT
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class FilterFilter:
    """The sender's filter rules as text (``class,vendor,product,version,allow|...``)."""

    rules: str
    TYPE: ClassVar[T] = T.FILTER_FILTER
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class DeviceDisconnectAck:
    TYPE: ClassVar[T] = T.DEVICE_DISCONNECT_ACK
    FMT: ClassVar[str] = "<"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class StartBulkReceiving:
    stream_id: int
    bytes_per_transfer: int
    endpoint: int
    no_transfers: int
    TYPE: ClassVar[T] = T.START_BULK_RECEIVING
    FMT: ClassVar[str] = "<IIBB"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class StopBulkReceiving:
    stream_id: int
    endpoint: int
    TYPE: ClassVar[T] = T.STOP_BULK_RECEIVING
    FMT: ClassVar[str] = "<IB"
    SENDER: ClassVar[str] = "guest"


@dataclass(frozen=True)
class BulkReceivingStatus:
    stream_id: int
    endpoint: int
    status: int
    TYPE: ClassVar[T] = T.BULK_RECEIVING_STATUS
    FMT: ClassVar[str] = "<IBB"
    SENDER: ClassVar[str] = "host"


@dataclass(frozen=True)
class ControlPacket:
    endpoint: int
    request: int
    requesttype: int
    status: int
    value: int
    index: int
    length: int
    data: bytes = b""
    TYPE: ClassVar[T] = T.CONTROL_PACKET
    FMT: ClassVar[str] = "<BBBBHHH"
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class BulkPacket:
    endpoint: int
    status: int
    length: int
    stream_id: int = 0
    data: bytes = b""
    TYPE: ClassVar[T] = T.BULK_PACKET
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class IsoPacket:
    endpoint: int
    status: int
    length: int
    data: bytes = b""
    TYPE: ClassVar[T] = T.ISO_PACKET
    FMT: ClassVar[str] = "<BBH"
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class InterruptPacket:
    endpoint: int
    status: int
    length: int
    data: bytes = b""
    TYPE: ClassVar[T] = T.INTERRUPT_PACKET
    FMT: ClassVar[str] = "<BBH"
    SENDER: ClassVar[str] = "both"


@dataclass(frozen=True)
class BufferedBulkPacket:
    stream_id: int
    length: int
    endpoint: int
    status: int
    data: bytes = b""
    TYPE: ClassVar[T] = T.BUFFERED_BULK_PACKET
    FMT: ClassVar[str] = "<IIBB"
    SENDER: ClassVar[str] = "host"


Packet = (
    Hello
    | DeviceConnect
    | DeviceDisconnect
    | Reset
    | InterfaceInfo
    | EpInfo
    | SetConfiguration
    | GetConfiguration
    | ConfigurationStatus
    | SetAltSetting
    | GetAltSetting
    | AltSettingStatus
    | StartIsoStream
    | StopIsoStream
    | IsoStreamStatus
    | StartInterruptReceiving
    | StopInterruptReceiving
    | InterruptReceivingStatus
    | AllocBulkStreams
    | FreeBulkStreams
    | BulkStreamsStatus
    | CancelDataPacket
    | FilterReject
    | FilterFilter
    | DeviceDisconnectAck
    | StartBulkReceiving
    | StopBulkReceiving
    | BulkReceivingStatus
    | ControlPacket
    | BulkPacket
    | IsoPacket
    | InterruptPacket
    | BufferedBulkPacket
)

#: Packets whose type header is a fixed struct of their fields (and no data).
_FIXED: dict[int, Any] = {
    int(c.TYPE): c
    for c in (
        DeviceDisconnect,
        Reset,
        SetConfiguration,
        GetConfiguration,
        ConfigurationStatus,
        SetAltSetting,
        GetAltSetting,
        AltSettingStatus,
        StartIsoStream,
        StopIsoStream,
        IsoStreamStatus,
        StartInterruptReceiving,
        StopInterruptReceiving,
        InterruptReceivingStatus,
        AllocBulkStreams,
        FreeBulkStreams,
        BulkStreamsStatus,
        CancelDataPacket,
        FilterReject,
        DeviceDisconnectAck,
        StartBulkReceiving,
        StopBulkReceiving,
        BulkReceivingStatus,
    )
}
_SENDERS: dict[int, str] = {
    **{t: c.SENDER for t, c in _FIXED.items()},
    **{
        int(c.TYPE): c.SENDER
        for c in (
            Hello,
            DeviceConnect,
            InterfaceInfo,
            EpInfo,
            FilterFilter,
            ControlPacket,
            BulkPacket,
            IsoPacket,
            InterruptPacket,
            BufferedBulkPacket,
        )
    },
}
_VERSION_LEN = 64
_IFACE_FMT = struct.Struct("<I32s32s32s32s")


@dataclass(frozen=True)
class Received:
    """A parsed packet and the id its header carried."""

    id: int
    packet: Packet


Role = Literal["host", "guest"]


@dataclass
class UsbRedirParser:
    """One side of a usbredir connection: feed bytes in, get packets out, encode packets.

    ``role`` is ``"host"`` (owns the device: our client) or ``"guest"`` (QEMU's side).
    ``caps`` are our own capabilities; the peer's arrive in its HELLO.  The peer's
    packets that only the other role may send, unknown types, wrong lengths and packets
    before HELLO raise :class:`UsbRedirError`.
    """

    role: Role
    caps: frozenset[int] = frozenset()
    max_packet: int = DEFAULT_MAX_PACKET
    peer_caps: frozenset[int] | None = None
    _buf: bytearray = field(default_factory=bytearray)

    # ------------------------------------------------------------ capabilities
    def both(self, cap: Cap) -> bool:
        """True when we and the peer (after its HELLO) both announced ``cap``."""
        return cap in self.caps and self.peer_caps is not None and cap in self.peer_caps

    @property
    def header_size(self) -> int:
        return 16 if self.both(Cap.IDS_64BIT) else 12

    # ------------------------------------------------------------------ input
    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def next_packets(self) -> list[Received]:
        """Every complete packet buffered so far, in order (raises on the first bad one)."""
        out: list[Received] = []
        while True:
            hsize = self.header_size
            if len(self._buf) < hsize:
                return out
            if hsize == 16:
                ptype, length, pid = struct.unpack_from("<IIQ", self._buf)
            else:
                ptype, length, pid = struct.unpack_from("<III", self._buf)
            if length > self.max_packet:
                raise UsbRedirError(
                    f"usbredir packet type {ptype} claims {length} bytes (limit {self.max_packet})"
                )
            if ptype not in _SENDERS:
                raise UsbRedirError(f"usbredir packet of unknown type {ptype} (length {length})")
            if self.peer_caps is None and ptype != T.HELLO:
                raise UsbRedirError(f"usbredir packet {T(ptype).name} before HELLO")
            if self.peer_caps is not None and ptype == T.HELLO:
                raise UsbRedirError("usbredir: a second HELLO")
            sender = _SENDERS[ptype]
            if sender not in ("both", self._peer_role):
                raise UsbRedirError(f"usbredir: a {self._peer_role} may not send {T(ptype).name}")
            if len(self._buf) < hsize + length:
                return out
            body = bytes(self._buf[hsize : hsize + length])
            del self._buf[: hsize + length]
            packet = self._decode(T(ptype), body)
            if isinstance(packet, Hello):
                self.peer_caps = packet.caps
            out.append(Received(pid, packet))

    @property
    def _peer_role(self) -> str:
        return "guest" if self.role == "host" else "host"

    def _decode(self, ptype: T, body: bytes) -> Packet:
        name = ptype.name
        if ptype == T.HELLO:
            if len(body) < _VERSION_LEN or (len(body) - _VERSION_LEN) % 4:
                raise UsbRedirError(f"usbredir HELLO of {len(body)} bytes")
            version = body[:_VERSION_LEN].split(b"\0", 1)[0].decode("utf-8", "replace")
            words = struct.unpack_from(f"<{(len(body) - _VERSION_LEN) // 4}I", body, _VERSION_LEN)
            caps = frozenset(i * 32 + b for i, w in enumerate(words) for b in range(32) if w >> b & 1)
            return Hello(version, caps)
        if ptype in _FIXED:
            cls = _FIXED[ptype]
            size = struct.calcsize(cls.FMT)
            if len(body) != size:
                raise UsbRedirError(f"usbredir {name}: {len(body)} bytes, expected {size}")
            packet: Packet = cls(*struct.unpack(cls.FMT, body))
            return packet
        if ptype == T.FILTER_FILTER:
            if not body.endswith(b"\0"):
                raise UsbRedirError("usbredir FILTER_FILTER: rules not NUL-terminated")
            try:
                return FilterFilter(body[:-1].decode("ascii"))
            except UnicodeDecodeError:
                raise UsbRedirError("usbredir FILTER_FILTER: rules are not ASCII") from None
        if ptype == T.DEVICE_CONNECT:
            fmt = "<BBBBHHH" if self.both(Cap.CONNECT_DEVICE_VERSION) else "<BBBBHH"
            return DeviceConnect(*self._fixed(name, fmt, body))
        if ptype == T.INTERFACE_INFO:
            count, num, cls_, sub, proto = self._fixed(name, _IFACE_FMT.format, body)
            if count > SLOTS:
                raise UsbRedirError(f"usbredir INTERFACE_INFO: {count} interfaces (at most {SLOTS})")
            return InterfaceInfo(tuple(Interface(num[i], cls_[i], sub[i], proto[i]) for i in range(count)))
        if ptype == T.EP_INFO:
            return self._decode_ep_info(body)
        return self._decode_data_packet(ptype, body)

    def _fixed(self, name: str, fmt: str, body: bytes) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if len(body) != size:
            raise UsbRedirError(f"usbredir {name}: {len(body)} bytes, expected {size}")
        return struct.unpack(fmt, body)

    def _ep_info_layout(self) -> tuple[bool, bool]:
        """(max_packet_size present, max_streams present) for EP_INFO."""
        if self.both(Cap.BULK_STREAMS):
            return True, True
        return self.both(Cap.EP_INFO_MAX_PACKET_SIZE), False

    def _decode_ep_info(self, body: bytes) -> EpInfo:
        has_mps, has_streams = self._ep_info_layout()
        fmt = "<32s32s32s" + ("32H" if has_mps else "") + ("32I" if has_streams else "")
        values = self._fixed("EP_INFO", fmt, body)
        types, intervals, ifaces = values[0], values[1], values[2]
        mps = values[3:35] if has_mps else (0,) * SLOTS
        streams = values[35:67] if has_streams else (0,) * SLOTS
        return EpInfo(
            tuple(Endpoint(types[i], intervals[i], ifaces[i], mps[i], streams[i]) for i in range(SLOTS))
        )

    def _decode_data_packet(self, ptype: T, body: bytes) -> Packet:
        name = ptype.name
        if ptype == T.CONTROL_PACKET:
            hsize = 10
        elif ptype == T.BULK_PACKET:
            hsize = 10 if self.both(Cap.BULK_LENGTH_32BIT) else 8
        elif ptype == T.BUFFERED_BULK_PACKET:
            hsize = 10
        else:
            hsize = 4
        if len(body) < hsize:
            raise UsbRedirError(f"usbredir {name}: {len(body)} bytes, shorter than its {hsize}-byte header")
        head, data = body[:hsize], body[hsize:]
        packet: Packet
        if ptype == T.CONTROL_PACKET:
            ep, req, rtype, status, value, index, length = struct.unpack("<BBBBHHH", head)
            packet = ControlPacket(ep, req, rtype, status, value, index, length, data)
        elif ptype == T.BULK_PACKET:
            ep, status, low, stream = struct.unpack_from("<BBHI", head)
            high = struct.unpack_from("<H", head, 8)[0] if hsize == 10 else 0
            length = low | high << 16
            packet = BulkPacket(ep, status, length, stream, data)
        elif ptype == T.BUFFERED_BULK_PACKET:
            stream, length, ep, status = struct.unpack("<IIBB", head)
            packet = BufferedBulkPacket(stream, length, ep, status, data)
        elif ptype == T.ISO_PACKET:
            ep, status, length = struct.unpack("<BBH", head)
            packet = IsoPacket(ep, status, length, data)
        else:
            ep, status, length = struct.unpack("<BBH", head)
            packet = InterruptPacket(ep, status, length, data)
        self._check_data(name, packet.endpoint, packet.length, len(data), to_host=self.role == "host")
        return packet

    @staticmethod
    def _check_data(name: str, endpoint: int, length: int, got: int, *, to_host: bool) -> None:
        """Requests carry OUT data, replies carry IN data, always exactly ``length`` bytes."""
        is_in = bool(endpoint & 0x80)
        carries = is_in != to_host
        if carries and got != length:
            raise UsbRedirError(
                f"usbredir {name} on endpoint {endpoint:#04x}: {got} data bytes, header says {length}"
            )
        if not carries and got:
            raise UsbRedirError(f"usbredir {name} on endpoint {endpoint:#04x}: unexpected {got} data bytes")

    # ----------------------------------------------------------------- output
    def hello(self, version: str) -> bytes:
        """Our HELLO (always with a 32-bit id: nothing is agreed yet)."""
        raw = version.encode()[: _VERSION_LEN - 1].ljust(_VERSION_LEN, b"\0")
        words = [0] * (max(self.caps, default=0) // 32 + 1)
        for cap in self.caps:
            words[cap // 32] |= 1 << (cap % 32)
        body = raw + struct.pack(f"<{len(words)}I", *words)
        return struct.pack("<III", T.HELLO, len(body), 0) + body

    def encode(self, packet: Packet, id: int = 0) -> bytes:
        """The bytes of ``packet`` with header id ``id`` (after both HELLOs: layouts depend on them)."""
        if isinstance(packet, Hello):
            raise ValueError("send HELLO with UsbRedirParser.hello()")
        body = self._encode_body(packet)
        if self.header_size == 16:
            return struct.pack("<IIQ", packet.TYPE, len(body), id) + body
        if id >> 32:
            raise ValueError(f"usbredir id {id} needs 64-bit ids, which the peer did not announce")
        return struct.pack("<III", packet.TYPE, len(body), id) + body

    def _encode_body(self, p: Packet) -> bytes:
        if int(p.TYPE) in _FIXED:
            values = [getattr(p, f.name) for f in dataclasses.fields(p)]
            return struct.pack(p.FMT, *values)  # type: ignore[union-attr]
        if isinstance(p, FilterFilter):
            return p.rules.encode("ascii") + b"\0"
        if isinstance(p, DeviceConnect):
            fields = (
                p.speed,
                p.device_class,
                p.device_subclass,
                p.device_protocol,
                p.vendor_id,
                p.product_id,
            )
            if self.both(Cap.CONNECT_DEVICE_VERSION):
                return struct.pack("<BBBBHHH", *fields, p.device_version_bcd)
            return struct.pack("<BBBBHH", *fields)
        if isinstance(p, InterfaceInfo):
            ifs = p.interfaces
            if len(ifs) > SLOTS:
                raise ValueError(f"{len(ifs)} interfaces (at most {SLOTS})")
            cols = [bytes(getattr(i, a) for i in ifs) for a in ("number", "cls", "subclass", "protocol")]
            return _IFACE_FMT.pack(len(ifs), *cols)
        if isinstance(p, EpInfo):
            if len(p.endpoints) != SLOTS:
                raise ValueError(f"EP_INFO needs {SLOTS} endpoint slots, not {len(p.endpoints)}")
            eps = p.endpoints
            has_mps, has_streams = self._ep_info_layout()
            out = (
                bytes(e.type for e in eps) + bytes(e.interval for e in eps) + bytes(e.interface for e in eps)
            )
            if has_mps:
                out += struct.pack("<32H", *(e.max_packet_size for e in eps))
            if has_streams:
                out += struct.pack("<32I", *(e.max_streams for e in eps))
            return out
        if isinstance(p, ControlPacket):
            head = struct.pack(
                "<BBBBHHH", p.endpoint, p.request, p.requesttype, p.status, p.value, p.index, p.length
            )
            return head + p.data
        if isinstance(p, BulkPacket):
            if self.both(Cap.BULK_LENGTH_32BIT):
                head = struct.pack(
                    "<BBHIH", p.endpoint, p.status, p.length & 0xFFFF, p.stream_id, p.length >> 16
                )
            elif p.length > 0xFFFF:
                raise ValueError(f"bulk length {p.length} needs 32-bit bulk lengths, not agreed")
            else:
                head = struct.pack("<BBHI", p.endpoint, p.status, p.length, p.stream_id)
            return head + p.data
        if isinstance(p, BufferedBulkPacket):
            return struct.pack("<IIBB", p.stream_id, p.length, p.endpoint, p.status) + p.data
        if isinstance(p, (IsoPacket, InterruptPacket)):
            return struct.pack("<BBH", p.endpoint, p.status, p.length) + p.data
        raise TypeError(f"not a usbredir packet: {p!r}")  # pragma: no cover
