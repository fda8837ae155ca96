"""The usbredir wire protocol, sans-I/O: packets as frozen dataclasses, a byte-stream parser.

usbredir (the protocol of libusbredirparser, carried in SPICEVMC_DATA messages on a
SPICE usbredir channel) links a *USB host* side, which owns the device (our client), to
a *USB guest* side (QEMU's ``usb-redir``).  Every packet is a little-endian header
{type u32, length u32, id u32 | u64} followed by a type-specific header and data.

Packet bodies are declared, not coded: each field names its codec from
:mod:`spice_proto.lowlevel` (``x: Annotated[int, U8]``).  Public names are in
:mod:`spice_proto.usbredir`.  Some layouts depend on
capabilities both sides announced in their hello (64-bit ids, the device version in
DEVICE_CONNECT, max packet sizes / streams in EP_INFO, 32-bit bulk lengths): such a field
also carries an :class:`IfCap` mark, and the parser builds one layout per class and set of
agreed capabilities.  Anything malformed raises :class:`UsbRedirError`.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from ._errors import ProtocolError
from ._field_codecs import U8, U16, U32, Rest
from ._fields import Codec, Entry, Layout, OutWriter, sub
from ._frozen import frozen
from ._wire import Reader, Writer

_T = TypeVar("_T")

__all__ = [
    "DEFAULT_MAX_PACKET",
    "SLOTS",
    "AllocBulkStreams",
    "AltSettingStatus",
    "BufferedBulkPacket",
    "BulkPacket",
    "BulkReceivingStatus",
    "BulkStreamsStatus",
    "CancelDataPacket",
    "Cap",
    "ConfigurationStatus",
    "ControlPacket",
    "DeviceConnect",
    "DeviceDisconnect",
    "DeviceDisconnectAck",
    "Endpoint",
    "EpInfo",
    "EpType",
    "FilterFilter",
    "FilterReject",
    "FreeBulkStreams",
    "GetAltSetting",
    "GetConfiguration",
    "Hello",
    "Interface",
    "InterfaceInfo",
    "InterruptPacket",
    "InterruptReceivingStatus",
    "IsoPacket",
    "IsoStreamStatus",
    "Packet",
    "PacketType",
    "Received",
    "Reset",
    "Role",
    "SetAltSetting",
    "SetConfiguration",
    "Speed",
    "StartBulkReceiving",
    "StartInterruptReceiving",
    "StartIsoStream",
    "Status",
    "StopBulkReceiving",
    "StopInterruptReceiving",
    "StopIsoStream",
    "UsbRedirError",
    "UsbRedirParser",
    "ep_index",
]

#: The largest packet (type header + data) accepted from the peer by default.
DEFAULT_MAX_PACKET = 8 << 20
#: Endpoint slots in EP_INFO (16 OUT then 16 IN) and interface slots in INTERFACE_INFO.
SLOTS = 32


class UsbRedirError(ProtocolError):
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


class PacketType(enum.IntEnum):
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


# ------------------------------------------------------------------ wire codecs
@frozen
class IfCap:
    """Marks a field that is on the wire only when both sides announced one of ``caps``
    (with ``unless``: only when they agreed none of them); an absent field reads as its
    default."""

    caps: frozenset[Cap]
    unless: bool = False

    def present(self, agreed: frozenset[int]) -> bool:
        return bool(self.caps & agreed) != self.unless


def if_cap(*caps: Cap) -> IfCap:
    return IfCap(frozenset(caps))


def unless_cap(*caps: Cap) -> IfCap:
    return IfCap(frozenset(caps), unless=True)


class _Version(Codec[str]):
    """HELLO's version: a NUL-padded 64-byte string (cut to 63 bytes on the way out)."""

    __slots__ = ()
    size = 64

    def read(self, r: Reader, field: str, part: str = "") -> str:
        raw = r.bytes(self.size, sub(field, part))
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def write(self, o: OutWriter, value: str) -> None:
        o.w.bytes(value.encode()[: self.size - 1].ljust(self.size, b"\0"))


#: HELLO capability words read from the peer; later words are ignored (no capability is
#: numbered that high, and a peer's megabytes of set bits must not become a huge set).
_CAP_WORDS_READ = 8


class _CapWords(Codec[frozenset[int]]):
    """HELLO's capabilities: u32 bit words to the end of the body (as few as hold them);
    only the first :data:`_CAP_WORDS_READ` words are read."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> frozenset[int]:
        raw = r.rest()
        count = min(len(raw) // 4, _CAP_WORDS_READ)
        words = struct.unpack(f"<{count}I", raw[: count * 4])
        return frozenset(i * 32 + b for i, w in enumerate(words) if w for b in range(32) if w >> b & 1)

    def write(self, o: OutWriter, value: frozenset[int]) -> None:
        words = [0] * (max(value, default=0) // 32 + 1)
        for cap in value:
            words[cap // 32] |= 1 << (cap % 32)
        o.w.bytes(struct.pack(f"<{len(words)}I", *words))


class _AsciiZ(Codec[str]):
    """ASCII text ending with a NUL at the end of the body."""

    __slots__ = ()

    def read(self, r: Reader, field: str, part: str = "") -> str:
        raw = r.rest()
        if not raw.endswith(b"\0"):
            raise UsbRedirError(f"usbredir {r.where}: {sub(field, part)} not NUL-terminated")
        try:
            return raw[:-1].decode("ascii")
        except UnicodeDecodeError:
            raise UsbRedirError(f"usbredir {r.where}: {sub(field, part)} are not ASCII") from None

    def write(self, o: OutWriter, value: str) -> None:
        o.w.bytes(value.encode("ascii") + b"\0")


class _Len16(Codec[int]):
    """A u16 length that refuses values needing BULK_LENGTH_32BIT when writing."""

    __slots__ = ()
    codes = "H"
    plain = True

    def read(self, r: Reader, field: str, part: str = "") -> int:
        return r.u16(sub(field, part))

    def write(self, o: OutWriter, value: int) -> None:
        o.w.u16(self.flat(value)[0])

    def flat(self, value: int) -> tuple[Any, ...]:
        if value > 0xFFFF:
            raise ValueError(f"bulk length {value} needs 32-bit bulk lengths, not agreed")
        return (value,)


class _Low16(Codec[int]):
    """The low half of a u32 split around other fields (wire only: the high half gives the value)."""

    __slots__ = ()
    codes = "H"
    argument = False

    def read(self, r: Reader, field: str, part: str = "") -> int:
        return r.u16(sub(field, part))

    def write(self, o: OutWriter, value: int) -> None:
        o.w.u16(value & 0xFFFF)

    def flat(self, value: int) -> tuple[Any, ...]:
        return (value & 0xFFFF,)

    def take(self, got: tuple[Any, ...], i: int, r: Reader, start: int, field: str, part: str) -> int:
        return int(got[i])


class _High16(Codec[int]):
    """The high half of a u32 whose low half is the earlier field ``after``."""

    __slots__ = ("after",)
    size = 2

    def __init__(self, after: str) -> None:
        self.after = after

    def read_after(self, r: Reader, field: str, part: str, earlier: Any) -> int:
        return int(earlier) | r.u16(sub(field, part)) << 16

    def write(self, o: OutWriter, value: int) -> None:
        o.w.u16(value >> 16)


class Columns(Codec[tuple[_T, ...]], Generic[_T]):
    """``slots`` structures laid out column by column: every slot's first field, then every
    slot's second... (each field a fixed-size codec); with ``counted``, a u32 count of the
    slots in use first (the rest are zero).  ``noun`` (and ``owner``) name them in errors.
    Fields marked :class:`IfCap` are columns only when agreed: see :meth:`narrow`."""

    __slots__ = ("_cls", "_columns", "counted", "noun", "owner", "size", "slots")

    def __init__(
        self,
        cls: type[_T],
        slots: int,
        noun: str,
        *,
        counted: bool = False,
        owner: str = "",
        agreed: frozenset[int] | None = None,
    ) -> None:
        self._cls = cls
        self.slots, self.noun, self.counted, self.owner = slots, noun, counted, owner
        self._columns = tuple(
            (name, struct.Struct(f"<{slots}{codec.codes}"))
            for name, codec, gate in _declared(cls)
            if gate is None or agreed is None or gate.present(agreed)
        )
        self.size = (4 if counted else 0) + sum(st.size for _, st in self._columns)

    def narrow(self, agreed: frozenset[int]) -> Columns[_T]:
        """These columns as laid out once ``agreed`` capabilities are known."""
        return Columns(
            self._cls, self.slots, self.noun, counted=self.counted, owner=self.owner, agreed=agreed
        )

    def read(self, r: Reader, field: str, part: str = "") -> tuple[_T, ...]:
        count = self.slots
        if self.counted:
            count = r.u32(sub(field, "count"))
            if count > self.slots:
                raise UsbRedirError(f"usbredir {r.where}: {count} {self.noun} (at most {self.slots})")
        columns = [(name, r.unpack(st, sub(field, name))) for name, st in self._columns]
        return tuple(self._cls(**{name: col[i] for name, col in columns}) for i in range(count))

    def write(self, o: OutWriter, value: tuple[_T, ...]) -> None:
        if self.counted:
            if len(value) > self.slots:
                raise ValueError(f"{len(value)} {self.noun} (at most {self.slots})")
            o.w.u32(len(value))
        elif len(value) != self.slots:
            raise ValueError(f"{self.owner} needs {self.slots} {self.noun}, not {len(value)}")
        pad = (0,) * (self.slots - len(value))
        for name, st in self._columns:
            o.w.pack(st, *(getattr(item, name) for item in value), *pad)


def _declared(cls: type) -> list[tuple[str, Codec[Any], IfCap | None]]:
    """(field, codec, capability mark) of each field of ``cls`` that declares a codec."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out: list[tuple[str, Codec[Any], IfCap | None]] = []
    for f in dataclasses.fields(cls):
        extras = getattr(hints[f.name], "__metadata__", ())
        codecs = [x for x in extras if isinstance(x, Codec)]
        if codecs:
            marks = [x for x in extras if isinstance(x, IfCap)]
            out.append((f.name, codecs[0], marks[0] if marks else None))
    return out


# ---------------------------------------------------------------------- packets
# Each class: TYPE, its fields with their codecs in wire order (or ``_WIRE`` entries with a
# capability mark each, when the wire order differs), and who may send it ("host",
# "guest" or "both").  A body ending with a variable-size field (data, text) may be longer
# than its fixed part; any other body is exactly its fixed part.


@frozen
class Hello:
    version: Annotated[str, _Version()]
    caps: Annotated[frozenset[int], _CapWords()] = frozenset()
    TYPE: ClassVar[PacketType] = PacketType.HELLO
    SENDER: ClassVar[str] = "both"


@frozen
class DeviceConnect:
    speed: Annotated[int, U8]
    device_class: Annotated[int, U8]
    device_subclass: Annotated[int, U8]
    device_protocol: Annotated[int, U8]
    vendor_id: Annotated[int, U16]
    product_id: Annotated[int, U16]
    device_version_bcd: Annotated[int, U16, if_cap(Cap.CONNECT_DEVICE_VERSION)] = 0
    TYPE: ClassVar[PacketType] = PacketType.DEVICE_CONNECT
    SENDER: ClassVar[str] = "host"


@frozen
class DeviceDisconnect:
    TYPE: ClassVar[PacketType] = PacketType.DEVICE_DISCONNECT
    SENDER: ClassVar[str] = "host"


@frozen
class Reset:
    TYPE: ClassVar[PacketType] = PacketType.RESET
    SENDER: ClassVar[str] = "guest"


@frozen
class Interface:
    number: Annotated[int, U8]
    cls: Annotated[int, U8]
    subclass: Annotated[int, U8]
    protocol: Annotated[int, U8]


@frozen
class InterfaceInfo:
    interfaces: Annotated[tuple[Interface, ...], Columns(Interface, SLOTS, "interfaces", counted=True)]
    TYPE: ClassVar[PacketType] = PacketType.INTERFACE_INFO
    SENDER: ClassVar[str] = "host"


@frozen
class Endpoint:
    """One EP_INFO slot (``type`` INVALID for an endpoint the device lacks)."""

    type: Annotated[int, U8] = EpType.INVALID
    interval: Annotated[int, U8] = 0
    interface: Annotated[int, U8] = 0
    max_packet_size: Annotated[int, U16, if_cap(Cap.EP_INFO_MAX_PACKET_SIZE, Cap.BULK_STREAMS)] = 0
    max_streams: Annotated[int, U32, if_cap(Cap.BULK_STREAMS)] = 0


@frozen
class EpInfo:
    """All 32 endpoint slots, indexed by :func:`ep_index`."""

    endpoints: Annotated[tuple[Endpoint, ...], Columns(Endpoint, SLOTS, "endpoint slots", owner="EP_INFO")]
    TYPE: ClassVar[PacketType] = PacketType.EP_INFO
    SENDER: ClassVar[str] = "host"


@frozen
class SetConfiguration:
    configuration: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.SET_CONFIGURATION
    SENDER: ClassVar[str] = "guest"


@frozen
class GetConfiguration:
    TYPE: ClassVar[PacketType] = PacketType.GET_CONFIGURATION
    SENDER: ClassVar[str] = "guest"


@frozen
class ConfigurationStatus:
    status: Annotated[int, U8]
    configuration: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.CONFIGURATION_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class SetAltSetting:
    interface: Annotated[int, U8]
    alt: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.SET_ALT_SETTING
    SENDER: ClassVar[str] = "guest"


@frozen
class GetAltSetting:
    interface: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.GET_ALT_SETTING
    SENDER: ClassVar[str] = "guest"


@frozen
class AltSettingStatus:
    status: Annotated[int, U8]
    interface: Annotated[int, U8]
    alt: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.ALT_SETTING_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class StartIsoStream:
    endpoint: Annotated[int, U8]
    pkts_per_urb: Annotated[int, U8]
    no_urbs: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.START_ISO_STREAM
    SENDER: ClassVar[str] = "guest"


@frozen
class StopIsoStream:
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.STOP_ISO_STREAM
    SENDER: ClassVar[str] = "guest"


@frozen
class IsoStreamStatus:
    status: Annotated[int, U8]
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.ISO_STREAM_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class StartInterruptReceiving:
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.START_INTERRUPT_RECEIVING
    SENDER: ClassVar[str] = "guest"


@frozen
class StopInterruptReceiving:
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.STOP_INTERRUPT_RECEIVING
    SENDER: ClassVar[str] = "guest"


@frozen
class InterruptReceivingStatus:
    status: Annotated[int, U8]
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.INTERRUPT_RECEIVING_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class AllocBulkStreams:
    endpoints: Annotated[int, U32]
    no_streams: Annotated[int, U32]
    TYPE: ClassVar[PacketType] = PacketType.ALLOC_BULK_STREAMS
    SENDER: ClassVar[str] = "guest"


@frozen
class FreeBulkStreams:
    endpoints: Annotated[int, U32]
    TYPE: ClassVar[PacketType] = PacketType.FREE_BULK_STREAMS
    SENDER: ClassVar[str] = "guest"


@frozen
class BulkStreamsStatus:
    endpoints: Annotated[int, U32]
    no_streams: Annotated[int, U32]
    status: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.BULK_STREAMS_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class CancelDataPacket:
    """Cancels the data packet whose id the header carries."""

    TYPE: ClassVar[PacketType] = PacketType.CANCEL_DATA_PACKET
    SENDER: ClassVar[str] = "guest"


@frozen
class FilterReject:
    TYPE: ClassVar[PacketType] = PacketType.FILTER_REJECT
    SENDER: ClassVar[str] = "guest"


@frozen
class FilterFilter:
    """The sender's filter rules as text (``class,vendor,product,version,allow|...``)."""

    rules: Annotated[str, _AsciiZ()]
    TYPE: ClassVar[PacketType] = PacketType.FILTER_FILTER
    SENDER: ClassVar[str] = "both"


@frozen
class DeviceDisconnectAck:
    TYPE: ClassVar[PacketType] = PacketType.DEVICE_DISCONNECT_ACK
    SENDER: ClassVar[str] = "guest"


@frozen
class StartBulkReceiving:
    stream_id: Annotated[int, U32]
    bytes_per_transfer: Annotated[int, U32]
    endpoint: Annotated[int, U8]
    no_transfers: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.START_BULK_RECEIVING
    SENDER: ClassVar[str] = "guest"


@frozen
class StopBulkReceiving:
    stream_id: Annotated[int, U32]
    endpoint: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.STOP_BULK_RECEIVING
    SENDER: ClassVar[str] = "guest"


@frozen
class BulkReceivingStatus:
    stream_id: Annotated[int, U32]
    endpoint: Annotated[int, U8]
    status: Annotated[int, U8]
    TYPE: ClassVar[PacketType] = PacketType.BULK_RECEIVING_STATUS
    SENDER: ClassVar[str] = "host"


@frozen
class ControlPacket:
    endpoint: Annotated[int, U8]
    request: Annotated[int, U8]
    requesttype: Annotated[int, U8]
    status: Annotated[int, U8]
    value: Annotated[int, U16]
    index: Annotated[int, U16]
    length: Annotated[int, U16]
    data: Annotated[bytes, Rest()] = b""
    TYPE: ClassVar[PacketType] = PacketType.CONTROL_PACKET
    SENDER: ClassVar[str] = "both"


@frozen
class BulkPacket:
    """``length`` is a u16, or with BULK_LENGTH_32BIT a u16 low half before ``stream_id``
    and a u16 high half after it."""

    endpoint: int
    status: int
    length: int
    stream_id: int = 0
    data: bytes = b""
    TYPE: ClassVar[PacketType] = PacketType.BULK_PACKET
    SENDER: ClassVar[str] = "both"
    _WIRE: ClassVar[tuple[tuple[str, Codec[Any], str, IfCap | None], ...]] = (
        ("endpoint", U8, "endpoint", None),
        ("status", U8, "status", None),
        ("length", _Len16(), "length", unless_cap(Cap.BULK_LENGTH_32BIT)),
        ("length", _Low16(), "length_low", if_cap(Cap.BULK_LENGTH_32BIT)),
        ("stream_id", U32, "stream_id", None),
        ("length", _High16("length_low"), "length_high", if_cap(Cap.BULK_LENGTH_32BIT)),
        ("data", Rest(), "data", None),
    )


@frozen
class IsoPacket:
    endpoint: Annotated[int, U8]
    status: Annotated[int, U8]
    length: Annotated[int, U16]
    data: Annotated[bytes, Rest()] = b""
    TYPE: ClassVar[PacketType] = PacketType.ISO_PACKET
    SENDER: ClassVar[str] = "both"


@frozen
class InterruptPacket:
    endpoint: Annotated[int, U8]
    status: Annotated[int, U8]
    length: Annotated[int, U16]
    data: Annotated[bytes, Rest()] = b""
    TYPE: ClassVar[PacketType] = PacketType.INTERRUPT_PACKET
    SENDER: ClassVar[str] = "both"


@frozen
class BufferedBulkPacket:
    stream_id: Annotated[int, U32]
    length: Annotated[int, U32]
    endpoint: Annotated[int, U8]
    status: Annotated[int, U8]
    data: Annotated[bytes, Rest()] = b""
    TYPE: ClassVar[PacketType] = PacketType.BUFFERED_BULK_PACKET
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

#: Every packet class by type number.
_CLASSES: dict[int, Any] = {int(c.TYPE): c for c in typing.get_args(Packet)}
_PACKET_CLASSES = frozenset(_CLASSES.values())
#: Data packets: a type header, then data whose length the header gives.
_DATA = frozenset(
    {
        PacketType.CONTROL_PACKET,
        PacketType.BULK_PACKET,
        PacketType.ISO_PACKET,
        PacketType.INTERRUPT_PACKET,
        PacketType.BUFFERED_BULK_PACKET,
    }
)
_VERSION_LEN = _Version.size


def _codec_size(codec: Codec[Any]) -> int | None:
    """Bytes a codec takes, or ``None`` for a variable-size one."""
    if codec.codes is not None:
        return struct.calcsize("<" + codec.codes)
    size: int | None = getattr(codec, "size", None)
    return size


@frozen
class _Wire:
    """A packet class's layout once the agreed capabilities are known."""

    layout: Layout
    #: Bytes before the variable-size tail (the whole body when there is none).
    fixed: int
    #: Whether the body ends with a variable-size field.
    tail: bool
    #: Whether the layout gives every field of the class, in order (else some take defaults).
    positional: bool


_WIRES: dict[tuple[type, frozenset[int]], _Wire] = {}


def _wire(cls: type, agreed: frozenset[int]) -> _Wire:
    """The layout of ``cls`` under ``agreed`` capabilities (computed once per pair)."""
    found = _WIRES.get((cls, agreed))
    if found is not None:
        return found
    declared: tuple[tuple[str, Codec[Any], str, IfCap | None], ...] = getattr(cls, "_WIRE", None) or tuple(
        (name, codec, name, mark) for name, codec, mark in _declared(cls)
    )
    entries: list[Entry] = []
    for attr, codec, name, mark in declared:
        if mark is not None and not mark.present(agreed):
            continue
        entries.append((attr, codec.narrow(agreed) if isinstance(codec, Columns) else codec, name))
    fixed, tail = 0, False
    for _, codec, _ in entries:
        size = _codec_size(codec)
        if size is None:
            tail = True
            break
        fixed += size
    present = {attr for attr, codec, _ in entries if codec.argument}
    order = [f.name for f in dataclasses.fields(cls) if f.name in present]
    positional = len(order) == len(dataclasses.fields(cls))
    found = _WIRES[(cls, agreed)] = _Wire(Layout(entries, "", order), fixed, tail, positional)
    return found


@frozen
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
    #: ``agreed`` and the (caps, peer_caps) it was computed from.
    _agreed: tuple[tuple[frozenset[int], frozenset[int] | None], frozenset[int]] | None = field(
        default=None, repr=False, compare=False
    )

    # ------------------------------------------------------------ capabilities
    def both(self, cap: Cap) -> bool:
        """True when we and the peer (after its HELLO) both announced ``cap``."""
        return cap in self.caps and self.peer_caps is not None and cap in self.peer_caps

    @property
    def agreed(self) -> frozenset[int]:
        """The capabilities both sides announced (none before the peer's HELLO)."""
        key = (self.caps, self.peer_caps)
        if self._agreed is None or self._agreed[0] != key:
            both = frozenset() if self.peer_caps is None else frozenset(self.caps & self.peer_caps)
            self._agreed = (key, both)
        return self._agreed[1]

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
            if ptype not in _CLASSES:
                raise UsbRedirError(f"usbredir packet of unknown type {ptype} (length {length})")
            if self.peer_caps is None and ptype != PacketType.HELLO:
                raise UsbRedirError(f"usbredir packet {PacketType(ptype).name} before HELLO")
            if self.peer_caps is not None and ptype == PacketType.HELLO:
                raise UsbRedirError("usbredir: a second HELLO")
            sender = _CLASSES[ptype].SENDER
            if sender not in ("both", self._peer_role):
                raise UsbRedirError(f"usbredir: a {self._peer_role} may not send {PacketType(ptype).name}")
            if len(self._buf) < hsize + length:
                return out
            body = bytes(self._buf[hsize : hsize + length])
            del self._buf[: hsize + length]
            packet = self._decode(PacketType(ptype), body)
            if isinstance(packet, Hello):
                self.peer_caps = packet.caps
            out.append(Received(pid, packet))

    @property
    def _peer_role(self) -> str:
        return "guest" if self.role == "host" else "host"

    def _decode(self, ptype: PacketType, body: bytes) -> Packet:
        name = ptype.name
        if ptype == PacketType.HELLO and (len(body) < _VERSION_LEN or (len(body) - _VERSION_LEN) % 4):
            raise UsbRedirError(f"usbredir HELLO of {len(body)} bytes")
        cls = _CLASSES[ptype]
        wire = _wire(cls, self.agreed)
        if not wire.tail and len(body) != wire.fixed:
            raise UsbRedirError(f"usbredir {name}: {len(body)} bytes, expected {wire.fixed}")
        if len(body) < wire.fixed:
            raise UsbRedirError(
                f"usbredir {name}: {len(body)} bytes, shorter than its {wire.fixed}-byte header"
            )
        try:
            values = wire.layout.read(Reader(body, name))
        except ProtocolError as exc:  # pragma: no cover - the sizes were checked above
            raise UsbRedirError(f"usbredir {name}: {exc}") from None
        if wire.positional:
            packet: Packet = cls(*values)
        else:
            packet = cls(**dict(zip(wire.layout.fields, values, strict=True)))
        if ptype in _DATA:
            data = packet.data  # type: ignore[union-attr]
            endpoint, length = packet.endpoint, packet.length  # type: ignore[union-attr]
            self._check_data(name, endpoint, length, len(data), to_host=self.role == "host")
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
        body = self._encode_body(Hello(version, self.caps), frozenset())
        return struct.pack("<III", PacketType.HELLO, len(body), 0) + body

    def encode(self, packet: Packet, id: int = 0) -> bytes:
        """The bytes of ``packet`` with header id ``id`` (after both HELLOs: layouts depend on them)."""
        if isinstance(packet, Hello):
            raise ValueError("send HELLO with UsbRedirParser.hello()")
        if type(packet) not in _PACKET_CLASSES:
            raise TypeError(f"not a usbredir packet: {packet!r}")
        body = self._encode_body(packet, self.agreed)
        if self.header_size == 16:
            return struct.pack("<IIQ", packet.TYPE, len(body), id) + body
        if id >> 32:
            raise ValueError(f"usbredir id {id} needs 64-bit ids, which the peer did not announce")
        return struct.pack("<III", packet.TYPE, len(body), id) + body

    @staticmethod
    def _encode_body(packet: Packet, agreed: frozenset[int]) -> bytes:
        w = Writer()
        _wire(type(packet), agreed).layout.write(OutWriter(w), packet)
        return w.getvalue()
