"""Guest requests the USB host side refuses: a bulk IN longer than a usbredir packet holds
(a physical device's read allocates the asked length: 4 GB from a 32-bit bulk length), and
a control request whose endpoint and request type disagree on the direction, and more bulk
INs held waiting for data than the host keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spice_proto.usbredir import BulkPacket, ControlPacket, EpType, Status
from spice_session._usb_device import DeviceInfo, EndpointInfo
from spice_session._usb_hid import usb_keyboard
from spice_session._usb_host import MAX_PENDING_IN, UsbRedirHost
from spice_session._usb_libusb import MAX_BULK_IN, LibusbDevice
from test_usb_storage import Guest, disk

BULK_IN = 0x81


@dataclass
class RecordingHandle:
    """Stands in for a libusb device handle: notes the bulk read lengths, answers up to 64 KB."""

    asked: list[int] = field(default_factory=list)

    def bulkRead(self, endpoint: int, length: int, timeout: int = 0) -> bytes:
        self.asked.append(length)
        return bytes(min(length, 1 << 16))


def test_a_bulk_in_longer_than_a_packet_is_refused_before_libusb_reads() -> None:
    info = DeviceInfo(
        0x1D6B, 0x0D31, 0x0100, "spice-python", "bulk test", "1", 0xFF, 0, 0,
        (EndpointInfo(BULK_IN, EpType.BULK, 512, 0),),
    )  # fmt: skip
    handle = RecordingHandle()
    guest = Guest(UsbRedirHost(LibusbDevice(info, handle=handle)))
    for length in (0xFFFFFFFF, MAX_BULK_IN + 1):
        assert guest.one(BulkPacket(BULK_IN, 0, length, 0)) == BulkPacket(BULK_IN, Status.INVAL, 0, 0)
    assert handle.asked == []
    got = guest.one(BulkPacket(BULK_IN, 0, 1 << 16, 0))  # a 32-bit length within the limit
    assert got == BulkPacket(BULK_IN, Status.SUCCESS, 1 << 16, 0, bytes(1 << 16))
    assert handle.asked == [1 << 16]


def test_a_control_request_whose_endpoint_and_type_disagree_is_answered_inval() -> None:
    """GET_DESCRIPTOR (an IN request type) sent on endpoint 0x00 with 18 bytes of OUT data,
    and a SET_IDLE (OUT) on 0x80: the wire follows the endpoint (data only in the reply on
    0x80), so each is answered INVAL with no data and no length, which parsers accept."""
    guest = Guest(UsbRedirHost(usb_keyboard()))
    assert guest.one(ControlPacket(0x00, 6, 0x80, 0, 0x0100, 0, 18, bytes(18))) == ControlPacket(
        0x00, 6, 0x80, Status.INVAL, 0x0100, 0, 0
    )
    assert guest.one(ControlPacket(0x80, 0x0A, 0x21, 0, 0, 0, 64)) == ControlPacket(
        0x80, 0x0A, 0x21, Status.INVAL, 0, 0, 0
    )
    descriptor = guest.one(ControlPacket(0x80, 6, 0x80, 0, 0x0100, 0, 18))  # a consistent one still works
    assert isinstance(descriptor, ControlPacket) and descriptor.status == Status.SUCCESS
    assert len(descriptor.data) == 18


def test_bulk_ins_held_for_data_are_bounded(tmp_path: Path) -> None:
    """A disk with no command has nothing to read: its INs wait, up to MAX_PENDING_IN of them."""
    guest = Guest(disk(tmp_path)[1])
    ep_in = 0x81
    for _ in range(MAX_PENDING_IN):
        assert guest.send(BulkPacket(ep_in, 0, 13)) == []  # held
    assert guest.one(BulkPacket(ep_in, 0, 13)) == BulkPacket(ep_in, Status.INVAL, 0, 0)
