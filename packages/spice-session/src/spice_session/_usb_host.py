"""The USB host side of usbredir for one virtual device, sans-I/O.

``start()`` gives our HELLO; ``receive_data(bytes)`` answers the guest's packets with the
bytes to send back (HELLO answered by INTERFACE_INFO, EP_INFO, DEVICE_CONNECT; requests by
their status packets, START_INTERRUPT_RECEIVING by the device's interrupt IN transfers as
they become ready, START_ISO_STREAM on an iso IN endpoint by ISO_PACKETs the same way:
``stream_data()`` gives those at any time; iso OUT packets go to the device, answered only
when it fails).  Bulk streams are refused with a status.  ``disconnect()`` gives
DEVICE_DISCONNECT.  A guest filter that refuses the device, or a FILTER_REJECT, sets
``rejected``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from spice_proto import usbredir as wire
from spice_proto.usbredir import (
    AllocBulkStreams,
    AltSettingStatus,
    BulkPacket,
    BulkStreamsStatus,
    CancelDataPacket,
    Cap,
    ConfigurationStatus,
    ControlPacket,
    DeviceDisconnect,
    DeviceDisconnectAck,
    EpType,
    FilterFilter,
    FilterReject,
    FreeBulkStreams,
    GetAltSetting,
    GetConfiguration,
    Hello,
    InterruptPacket,
    InterruptReceivingStatus,
    IsoPacket,
    IsoStreamStatus,
    Packet,
    Received,
    Reset,
    SetAltSetting,
    SetConfiguration,
    StartInterruptReceiving,
    StartIsoStream,
    Status,
    StopInterruptReceiving,
    StopIsoStream,
    UsbRedirParser,
)

from ._usb_device import Setup, VirtualDevice
from ._usbredir import UsbRedirError
from ._usbredir_filter import FilterVerdict, UsbFilterError, parse_filter

__all__ = ["HOST_CAPS", "UsbRedirHost"]

#: Bulk INs a guest may have waiting for data at once; further ones are answered INVAL.
MAX_PENDING_IN = 4096

#: What we announce: no bulk streams, no buffered bulk receiving.
HOST_CAPS = frozenset(
    {
        Cap.CONNECT_DEVICE_VERSION,
        Cap.FILTER,
        Cap.DEVICE_DISCONNECT_ACK,
        Cap.EP_INFO_MAX_PACKET_SIZE,
        Cap.IDS_64BIT,
        Cap.BULK_LENGTH_32BIT,
    }
)


@dataclass
class UsbRedirHost:
    """Serves ``device`` to a usbredir guest."""

    device: VirtualDevice
    version: str = "spice-python usbredir 1"
    parser: UsbRedirParser = field(default_factory=lambda: UsbRedirParser("host", HOST_CAPS))
    connected: bool = False
    disconnected: bool = False
    #: Why the guest refused the device (its filter or a FILTER_REJECT), else ``None``.
    rejected: str | None = None
    guest_version: str | None = None
    #: SET_CONFIGURATION values the guest chose, in order.
    configurations: list[int] = field(default_factory=list)
    _pending_in: deque[tuple[int, BulkPacket]] = field(default_factory=deque)
    #: Interrupt IN endpoints the guest started receiving from.
    receiving: set[int] = field(default_factory=set)
    #: Isochronous endpoints (IN or OUT) whose stream the guest started.
    iso_streams: set[int] = field(default_factory=set)
    _interrupt_id: int = 0
    _iso_id: int = 0

    def start(self) -> bytes:
        return self.parser.hello(self.version)

    def disconnect(self) -> bytes:
        if not self.connected:
            return b""
        self.connected = False
        self._pending_in.clear()
        self.receiving.clear()
        self.iso_streams.clear()
        return self.parser.encode(DeviceDisconnect())

    def receive_data(self, data: bytes) -> bytes:
        self.parser.receive_data(data)
        try:
            packets = self.parser.next_packets()
        except wire.UsbRedirError as exc:
            raise UsbRedirError(str(exc)) from None
        out = bytearray()
        for received in packets:
            for reply_id, reply in self._handle(received):
                out += self.parser.encode(reply, reply_id)
        return bytes(out) + self.stream_data()

    def stream_data(self) -> bytes:
        """Interrupt and isochronous IN transfers the device has ready for the guest."""
        return self.interrupt_data() + self.iso_data()

    def iso_data(self) -> bytes:
        """ISO_PACKETs for what the device has ready on the iso IN streams the guest started."""
        out = bytearray()
        if not self.connected:
            return b""
        for endpoint in sorted(e for e in self.iso_streams if e & 0x80):
            while (data := self.device.iso_in(endpoint)) is not None:
                out += self.parser.encode(IsoPacket(endpoint, Status.SUCCESS, len(data), data), self._iso_id)
                self._iso_id += 1
                if self.device.blocking:
                    break
        return bytes(out)

    def interrupt_data(self) -> bytes:
        """INTERRUPT_PACKETs for what the device has ready on the endpoints being received."""
        out = bytearray()
        if not self.connected:
            return b""
        for endpoint in sorted(self.receiving):
            # a virtual device's queue is drained; a physical one gives one transfer per call
            # (each read waits for the device: the session's poll comes back at once for more)
            while (data := self.device.interrupt_in(endpoint)) is not None:
                packet = InterruptPacket(endpoint, Status.SUCCESS, len(data), data)
                out += self.parser.encode(packet, self._interrupt_id)
                self._interrupt_id += 1
                if self.device.blocking:
                    break
        return bytes(out)

    # ---------------------------------------------------------------- packets
    def _handle(self, r: Received) -> list[tuple[int, Packet]]:
        p, dev = r.packet, self.device
        if isinstance(p, Hello):
            self.guest_version = p.version
            return self._connect()
        if isinstance(p, FilterFilter):
            return self._guest_filter(p.rules)
        if isinstance(p, FilterReject):
            self.rejected = "the guest's filter rejected the device"
            self.connected = False
            return []
        if isinstance(p, DeviceDisconnectAck):
            self.disconnected = True
            return []
        if not self.connected:
            return self._refuse(r)
        if isinstance(p, Reset):
            dev.reset()
            self._pending_in.clear()
            return []
        if isinstance(p, SetConfiguration):
            status = dev.set_configuration(p.configuration)
            if status == Status.SUCCESS:
                self.configurations.append(p.configuration)
            return [(r.id, ConfigurationStatus(status, dev.configuration))]
        if isinstance(p, GetConfiguration):
            return [(r.id, ConfigurationStatus(Status.SUCCESS, dev.configuration))]
        if isinstance(p, SetAltSetting):
            return [(r.id, AltSettingStatus(dev.set_alt_setting(p.interface, p.alt), p.interface, p.alt))]
        if isinstance(p, GetAltSetting):
            alt = dev.get_alt_setting(p.interface)
            status = Status.INVAL if alt is None else Status.SUCCESS
            return [(r.id, AltSettingStatus(status, p.interface, alt or 0))]
        if isinstance(p, ControlPacket):
            setup = Setup(p.requesttype, p.request, p.value, p.index, p.length)
            if bool(p.endpoint & 0x80) != setup.is_in:  # the reply's data would follow neither
                status, data = Status.INVAL, b""
            else:
                status, data = dev.control(setup, p.data)
            length = len(data) if setup.is_in else (p.length if status == Status.SUCCESS else 0)
            reply = ControlPacket(
                p.endpoint, p.request, p.requesttype, status, p.value, p.index, length, data
            )
            return [(r.id, reply)]
        if isinstance(p, BulkPacket):
            return self._bulk(r.id, p)
        if isinstance(p, CancelDataPacket):
            return self._cancel(r.id)
        if isinstance(p, (StartInterruptReceiving, StopInterruptReceiving)):
            return self._interrupt_receiving(r.id, p)
        if isinstance(p, InterruptPacket):
            return self._interrupt_out(r.id, p)
        if isinstance(p, (StartIsoStream, StopIsoStream)):
            return self._iso_stream(r.id, p)
        if isinstance(p, IsoPacket):
            return self._iso_out(r.id, p)
        return self._refuse(r)

    def _iso_stream(self, pid: int, p: StartIsoStream | StopIsoStream) -> list[tuple[int, Packet]]:
        if not self.device.iso or self.device.endpoint_type(p.endpoint) != EpType.ISO:
            return [(pid, IsoStreamStatus(Status.INVAL, p.endpoint))]
        if isinstance(p, StartIsoStream):
            self.iso_streams.add(p.endpoint)
        else:
            self.iso_streams.discard(p.endpoint)
        return [(pid, IsoStreamStatus(Status.SUCCESS, p.endpoint))]

    def _iso_out(self, pid: int, p: IsoPacket) -> list[tuple[int, Packet]]:
        """An iso OUT packet of a started stream; only a failure is answered."""
        if p.endpoint & 0x80 or p.endpoint not in self.iso_streams:
            return [(pid, IsoPacket(p.endpoint, Status.INVAL, 0))]
        status = self.device.iso_out(p.endpoint, p.data)
        return [] if status == Status.SUCCESS else [(pid, IsoPacket(p.endpoint, status, 0))]

    def _interrupt_receiving(
        self, pid: int, p: StartInterruptReceiving | StopInterruptReceiving
    ) -> list[tuple[int, Packet]]:
        if not p.endpoint & 0x80 or self.device.endpoint_type(p.endpoint) != EpType.INTERRUPT:
            return [(pid, InterruptReceivingStatus(Status.INVAL, p.endpoint))]
        if isinstance(p, StartInterruptReceiving):
            self.receiving.add(p.endpoint)
        else:
            self.receiving.discard(p.endpoint)
        return [(pid, InterruptReceivingStatus(Status.SUCCESS, p.endpoint))]

    def _interrupt_out(self, pid: int, p: InterruptPacket) -> list[tuple[int, Packet]]:
        """An OUT transfer; an IN endpoint is only read through interrupt receiving."""
        if p.endpoint & 0x80 or self.device.endpoint_type(p.endpoint) != EpType.INTERRUPT:
            return [(pid, InterruptPacket(p.endpoint, Status.INVAL, 0))]
        status = self.device.interrupt_out(p.endpoint, p.data)
        return [(pid, InterruptPacket(p.endpoint, status, p.length if status == Status.SUCCESS else 0))]

    def _connect(self) -> list[tuple[int, Packet]]:
        info = self.device.info
        self.connected = True
        return [(0, info.interface_packet()), (0, info.ep_packet()), (0, info.connect_packet())]

    def _guest_filter(self, text: str) -> list[tuple[int, Packet]]:
        try:
            rules = parse_filter(text)
        except UsbFilterError as exc:
            raise UsbFilterError(f"the guest sent an invalid filter: {exc}") from None
        verdict = self.device.info.filter_verdict(rules)
        if verdict != FilterVerdict.ALLOW and self.connected:
            self.rejected = f"the guest's filter {text!r} gives {verdict.value}"
            return [(0, self._disconnect_packet())]
        return []

    def _disconnect_packet(self) -> DeviceDisconnect:
        self.connected = False
        return DeviceDisconnect()

    def _bulk(self, pid: int, p: BulkPacket) -> list[tuple[int, Packet]]:
        dev = self.device
        if p.endpoint & 0x80:
            got = dev.bulk_in(p.endpoint, p.length)
            if got is None:
                if len(self._pending_in) >= MAX_PENDING_IN:  # a guest may not park INs without end
                    return [(pid, BulkPacket(p.endpoint, Status.INVAL, 0, p.stream_id))]
                self._pending_in.append((pid, p))
                return []
            status, data = got
            return [(pid, BulkPacket(p.endpoint, status, len(data), p.stream_id, data))]
        status = dev.bulk_out(p.endpoint, p.data)
        replies: list[tuple[int, Packet]] = [
            (pid, BulkPacket(p.endpoint, status, p.length if status == Status.SUCCESS else 0, p.stream_id))
        ]
        return replies + self._retry_pending_in()  # an OUT may have made data ready for a waiting IN

    def _retry_pending_in(self) -> list[tuple[int, Packet]]:
        replies: list[tuple[int, Packet]] = []
        while self._pending_in:
            wid, wp = self._pending_in[0]
            got = self.device.bulk_in(wp.endpoint, wp.length)
            if got is None:
                break
            self._pending_in.popleft()
            status, data = got
            replies.append((wid, BulkPacket(wp.endpoint, status, len(data), wp.stream_id, data)))
        return replies

    @property
    def wants_poll(self) -> bool:
        """Whether :meth:`poll` may find something: held bulk INs or started IN streams."""
        return self.connected and bool(self._pending_in or self.receiving or self.iso_streams)

    def poll(self) -> bytes:
        """What the device has ready since the last call: held bulk INs it can now answer and
        interrupt IN transfers (a physical device is polled; a virtual one need not be)."""
        if not self.connected:
            return b""
        out = b"".join(self.parser.encode(reply, rid) for rid, reply in self._retry_pending_in())
        return out + self.stream_data()

    def _cancel(self, pid: int) -> list[tuple[int, Packet]]:
        for i, (wid, wp) in enumerate(self._pending_in):
            if wid == pid:
                del self._pending_in[i]
                return [(pid, BulkPacket(wp.endpoint, Status.CANCELLED, 0, wp.stream_id))]
        return []  # already answered

    def _refuse(self, r: Received) -> list[tuple[int, Packet]]:
        """A request we cannot serve (no device, or no isochronous/interrupt/streams support)."""
        p = r.packet
        if isinstance(p, ControlPacket):
            return [
                (
                    r.id,
                    ControlPacket(p.endpoint, p.request, p.requesttype, Status.IOERROR, p.value, p.index, 0),
                )
            ]
        if isinstance(p, BulkPacket):
            return [(r.id, BulkPacket(p.endpoint, Status.IOERROR, 0, p.stream_id))]
        if isinstance(p, (IsoPacket, InterruptPacket)):
            return [(r.id, type(p)(p.endpoint, Status.IOERROR, 0))]
        if isinstance(p, (StartIsoStream, StopIsoStream)):
            return [(r.id, IsoStreamStatus(Status.INVAL, p.endpoint))]
        if isinstance(p, (StartInterruptReceiving, StopInterruptReceiving)):
            return [(r.id, InterruptReceivingStatus(Status.INVAL, p.endpoint))]
        if isinstance(p, (AllocBulkStreams, FreeBulkStreams)):
            streams = p.no_streams if isinstance(p, AllocBulkStreams) else 0
            return [(r.id, BulkStreamsStatus(p.endpoints, streams, Status.INVAL))]
        if isinstance(p, (SetConfiguration, GetConfiguration)):
            return [(r.id, ConfigurationStatus(Status.IOERROR, 0))]
        if isinstance(p, (SetAltSetting, GetAltSetting)):
            alt = p.alt if isinstance(p, SetAltSetting) else 0
            return [(r.id, AltSettingStatus(Status.IOERROR, p.interface, alt))]
        return []
