"""The usbredir protocol, sans-I/O: every packet as a frozen dataclass and a byte-stream parser.

usbredir (libusbredirparser's protocol) links the side that owns a USB device (the *host*,
a SPICE client) to the side that emulates it to a VM (the *guest*, QEMU's ``usb-redir``);
SPICE carries its bytes in SPICEVMC_DATA messages of a usbredir channel.
:class:`UsbRedirParser` turns bytes into :class:`Received` packets and packets into bytes
with the layouts both HELLOs agreed on; anything malformed raises :class:`UsbRedirError`
(a :class:`spice_proto.ProtocolError`).
"""

# Grouped by purpose, not by module name:
# isort: skip_file

# --- Errors and the parser
from ._usbredir import (
    UsbRedirError as UsbRedirError,
    UsbRedirParser as UsbRedirParser,
    Received as Received,
    Role as Role,
    DEFAULT_MAX_PACKET as DEFAULT_MAX_PACKET,
)

# --- Numbers: packet types, capabilities, statuses, speeds, endpoint types
from ._usbredir import (
    PacketType as PacketType,
    Cap as Cap,
    Status as Status,
    Speed as Speed,
    EpType as EpType,
    SLOTS as SLOTS,
    ep_index as ep_index,
)

# --- Packets (``Packet`` is their union)
from ._usbredir import (
    Packet as Packet,
    AllocBulkStreams as AllocBulkStreams,
    AltSettingStatus as AltSettingStatus,
    BufferedBulkPacket as BufferedBulkPacket,
    BulkPacket as BulkPacket,
    BulkReceivingStatus as BulkReceivingStatus,
    BulkStreamsStatus as BulkStreamsStatus,
    CancelDataPacket as CancelDataPacket,
    ConfigurationStatus as ConfigurationStatus,
    ControlPacket as ControlPacket,
    DeviceConnect as DeviceConnect,
    DeviceDisconnect as DeviceDisconnect,
    DeviceDisconnectAck as DeviceDisconnectAck,
    Endpoint as Endpoint,
    EpInfo as EpInfo,
    FilterFilter as FilterFilter,
    FilterReject as FilterReject,
    FreeBulkStreams as FreeBulkStreams,
    GetAltSetting as GetAltSetting,
    GetConfiguration as GetConfiguration,
    Hello as Hello,
    Interface as Interface,
    InterfaceInfo as InterfaceInfo,
    InterruptPacket as InterruptPacket,
    InterruptReceivingStatus as InterruptReceivingStatus,
    IsoPacket as IsoPacket,
    IsoStreamStatus as IsoStreamStatus,
    Reset as Reset,
    SetAltSetting as SetAltSetting,
    SetConfiguration as SetConfiguration,
    StartBulkReceiving as StartBulkReceiving,
    StartInterruptReceiving as StartInterruptReceiving,
    StartIsoStream as StartIsoStream,
    StopBulkReceiving as StopBulkReceiving,
    StopInterruptReceiving as StopInterruptReceiving,
    StopIsoStream as StopIsoStream,
)

from ._public import publish as _publish

__all__ = _publish(__name__, globals())
