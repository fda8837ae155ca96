"""Virtual USB HID devices through the usbredir host: descriptors, HID class requests,
interrupt receiving (IN reports) and interrupt OUT (keyboard LEDs), hostile requests."""

from __future__ import annotations

import struct

import pytest
from spice_proto import usbredir as wire
from spice_proto.usbredir import (
    ControlPacket,
    EpInfo,
    EpType,
    InterfaceInfo,
    InterruptPacket,
    InterruptReceivingStatus,
    IsoStreamStatus,
    Received,
    Reset,
    StartInterruptReceiving,
    StartIsoStream,
    Status,
    StopInterruptReceiving,
    ep_index,
)
from spice_session import SessionError, UsbRedirError
from spice_session._usb_hid import HID_EP_IN, HID_EP_OUT, MAX_QUEUED, usb_keyboard, usb_mouse
from spice_session._usb_host import UsbRedirHost
from test_usb_storage import Guest

# HID usages (keyboard page)
KEY_A, KEY_B, CAPS, LSHIFT = 0x04, 0x05, 0x39, 0xE1


def keyboard() -> tuple[Guest, UsbRedirHost]:
    host = UsbRedirHost(usb_keyboard())
    return Guest(host), host


def start_receiving(guest: Guest, endpoint: int = HID_EP_IN) -> list[Received]:
    got = guest.send(StartInterruptReceiving(endpoint))
    assert got[0].packet == InterruptReceivingStatus(Status.SUCCESS, endpoint)
    return got[1:]


def reports(received: list[Received]) -> list[bytes]:
    out = []
    for r in received:
        assert isinstance(r.packet, InterruptPacket) and r.packet.endpoint == HID_EP_IN
        assert r.packet.status == Status.SUCCESS and r.packet.length == len(r.packet.data)
        out.append(r.packet.data)
    return out


def test_keyboard_descriptors_are_a_boot_hid_interface() -> None:
    guest, _ = keyboard()
    iface, eps, _conn = (r.packet for r in guest.connect)
    assert isinstance(iface, InterfaceInfo)
    assert [(i.cls, i.subclass, i.protocol) for i in iface.interfaces] == [(3, 1, 1)]
    assert isinstance(eps, EpInfo)
    slot = eps.endpoints[ep_index(HID_EP_IN)]
    assert (slot.type, slot.interval, slot.max_packet_size) == (EpType.INTERRUPT, 10, 8)
    assert eps.endpoints[ep_index(HID_EP_OUT)].type == EpType.INTERRUPT
    config = guest.control_in(6, 0x0200).data
    # configuration, interface, HID descriptor (class 0x21, HID 1.11, report descriptor 0x22), 2 EPs
    assert struct.unpack_from("<BBH", config) == (9, 2, len(config)) == (9, 2, 9 + 9 + 9 + 7 + 7)
    assert config[9:18] == bytes([9, 4, 0, 0, 2, 3, 1, 1, 0])
    hid = config[18:27]
    assert struct.unpack("<BBHBBBH", hid) == (9, 0x21, 0x0111, 0, 1, 0x22, 63)
    assert config[27:34] == bytes([7, 5, 0x81, 3, 8, 0, 10])
    # the report descriptor (interface recipient), and the HID descriptor alone
    report = guest.control_in(6, 0x2200, rtype=0x81).data
    assert len(report) == 63 and report[:6] == bytes.fromhex("05010906a101") and report[-1] == 0xC0
    assert guest.control_in(6, 0x2100, rtype=0x81).data == hid
    assert guest.control_in(6, 0x2200, index=1, rtype=0x81).status == Status.STALL  # no interface 1


def test_class_requests_idle_protocol_get_report() -> None:
    guest, host = keyboard()
    set_idle = ControlPacket(0x00, 0x0A, 0x21, 0, 0x7D00, 0, 0)
    assert guest.one(set_idle).status == Status.SUCCESS  # type: ignore[union-attr]
    assert guest.control_in(0x02, 0, rtype=0xA1, length=1).data == bytes([0x7D])
    assert guest.control_in(0x03, 0, rtype=0xA1, length=1).data == b"\x01"  # report protocol
    assert guest.one(ControlPacket(0x00, 0x0B, 0x21, 0, 0, 0, 0)).status == Status.SUCCESS  # type: ignore[union-attr]
    assert guest.control_in(0x03, 0, rtype=0xA1, length=1).data == b"\x00"
    host.device.press(LSHIFT, KEY_A)  # type: ignore[attr-defined]
    assert guest.control_in(0x01, 0x0100, rtype=0xA1, length=8).data == bytes([2, 0, 4, 0, 0, 0, 0, 0])
    # a bad protocol value, an unknown request, the wrong interface: STALL
    assert guest.one(ControlPacket(0x00, 0x0B, 0x21, 0, 2, 0, 0)).status == Status.STALL  # type: ignore[union-attr]
    assert guest.control_in(0x07, 0, rtype=0xA1).status == Status.STALL
    assert guest.control_in(0x01, 0x0100, index=3, rtype=0xA1).status == Status.STALL
    guest.send(Reset())
    assert guest.control_in(0x03, 0, rtype=0xA1, length=1).data == b"\x01"


def test_key_reports_flow_only_while_receiving() -> None:
    guest, host = keyboard()
    kbd = host.device
    kbd.tap([KEY_A])  # type: ignore[attr-defined]
    assert host.interrupt_data() == b""  # not receiving yet: held
    assert not host.wants_poll
    assert reports(start_receiving(guest)) == [bytes([0, 0, 4, 0, 0, 0, 0, 0]), bytes(8)]
    assert host.wants_poll  # an IN stream is started: a physical device would be polled
    kbd.press(LSHIFT)  # type: ignore[attr-defined]
    kbd.press(KEY_B)  # type: ignore[attr-defined]
    kbd.release(KEY_B, LSHIFT)  # type: ignore[attr-defined]
    guest.parser.receive_data(host.interrupt_data())
    got = guest.parser.next_packets()
    assert reports(got) == [
        bytes([2, 0, 0, 0, 0, 0, 0, 0]),
        bytes([2, 0, 5, 0, 0, 0, 0, 0]),
        bytes([2] + [0] * 7),
        bytes(8),
    ]
    assert [r.id for r in got] == [2, 3, 4, 5]  # one id sequence for interrupt transfers
    assert guest.send(StopInterruptReceiving(HID_EP_IN)) == [
        Received(guest.next_id - 1, InterruptReceivingStatus(Status.SUCCESS, HID_EP_IN))
    ]
    assert not host.wants_poll
    kbd.tap([KEY_A])  # type: ignore[attr-defined]
    assert host.interrupt_data() == b""
    assert kbd.queued == 2  # type: ignore[attr-defined]


def test_seven_keys_give_rollover_and_unknown_usages_raise() -> None:
    _, host = keyboard()
    kbd = host.device
    kbd.press(*range(4, 11))  # type: ignore[attr-defined]
    assert kbd.report() == bytes([0, 0] + [1] * 6)  # type: ignore[attr-defined]
    with pytest.raises(UsbRedirError, match="0x66"):
        kbd.press(0x66)  # type: ignore[attr-defined]


def test_led_output_report_by_interrupt_out_and_set_report() -> None:
    guest, host = keyboard()
    assert guest.one(InterruptPacket(HID_EP_OUT, 0, 1, b"\x02")) == InterruptPacket(
        HID_EP_OUT, Status.SUCCESS, 1
    )
    assert guest.one(ControlPacket(0x00, 0x09, 0x21, 0, 0x0200, 0, 1, b"\x05")).status == Status.SUCCESS  # type: ignore[union-attr]
    assert list(host.device.led_reports) == [2, 5]  # type: ignore[attr-defined]
    assert guest.one(InterruptPacket(HID_EP_OUT, 0, 2, b"\x01\x02")).status == Status.STALL  # type: ignore[union-attr]


def test_mouse_reports_split_big_moves_and_follow_the_protocol() -> None:
    host = UsbRedirHost(usb_mouse())
    guest = Guest(host)
    iface = guest.connect[0].packet
    assert isinstance(iface, InterfaceInfo) and iface.interfaces[0].protocol == 2
    assert len(guest.control_in(6, 0x2200, rtype=0x81).data) == 52
    start_receiving(guest)
    mouse = host.device
    mouse.move(200, -5)  # type: ignore[attr-defined]
    mouse.buttons(1)  # type: ignore[attr-defined]
    mouse.scroll(-1)  # type: ignore[attr-defined]
    guest.parser.receive_data(host.interrupt_data())
    assert reports(guest.parser.next_packets()) == [
        struct.pack("<Bbbb", 0, 127, -5, 0),
        struct.pack("<Bbbb", 0, 73, 0, 0),
        struct.pack("<Bbbb", 1, 0, 0, 0),
        struct.pack("<Bbbb", 1, 0, 0, -1),
    ]
    guest.one(ControlPacket(0x00, 0x0B, 0x21, 0, 0, 0, 0))  # boot protocol: 3-byte reports
    mouse.move(1, 1)  # type: ignore[attr-defined]
    guest.parser.receive_data(host.interrupt_data())
    assert reports(guest.parser.next_packets()) == [bytes([1, 1, 1])]
    with pytest.raises(ValueError, match=r"outside 0\.\.7"):
        mouse.buttons(8)  # type: ignore[attr-defined]


def test_the_report_queue_is_bounded() -> None:
    _, host = keyboard()
    for _ in range(MAX_QUEUED):
        host.device.tap([KEY_A])  # type: ignore[attr-defined]
    assert host.device.queued == MAX_QUEUED  # type: ignore[attr-defined]


def test_hostile_interrupt_and_iso_requests_get_statuses() -> None:
    guest, host = keyboard()
    # receiving from an OUT endpoint, a missing endpoint or endpoint 0: INVAL
    for endpoint in (HID_EP_OUT, 0x83, 0x80):
        assert guest.one(StartInterruptReceiving(endpoint)) == InterruptReceivingStatus(
            Status.INVAL, endpoint
        )
    # an interrupt IN "request" from the guest, an OUT to a missing endpoint: INVAL, no data
    assert guest.one(InterruptPacket(HID_EP_IN, 0, 8)) == InterruptPacket(HID_EP_IN, Status.INVAL, 0)
    assert guest.one(InterruptPacket(0x05, 0, 1, b"x")) == InterruptPacket(0x05, Status.INVAL, 0)
    assert guest.one(StartIsoStream(HID_EP_IN, 8, 4)) == IsoStreamStatus(Status.INVAL, HID_EP_IN)
    assert host.receiving == set()


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        # an INTERRUPT_PACKET OUT whose header says 8 bytes but carries 1
        (struct.pack("<IIQBBH", 103, 5, 9, HID_EP_OUT, 0, 8) + b"x", "1 data bytes, header says 8"),
        # START_INTERRUPT_RECEIVING with a body of 2 bytes
        (struct.pack("<IIQ", 15, 2, 9) + b"\x81\x00", "START_INTERRUPT_RECEIVING: 2 bytes"),
        # the host's own INTERRUPT_RECEIVING_STATUS sent by the guest
        (struct.pack("<IIQ", 17, 2, 9) + b"\x00\x81", "may not send INTERRUPT_RECEIVING_STATUS"),
        # an INTERRUPT_PACKET shorter than its header
        (struct.pack("<IIQ", 103, 3, 9) + b"\x02\x00\x01", "shorter than its 4-byte header"),
    ],
)
def test_malformed_interrupt_packets_raise_the_session_error(raw: bytes, fault: str) -> None:
    guest, host = keyboard()
    start_receiving(guest)
    with pytest.raises(UsbRedirError, match=fault) as caught:
        host.receive_data(raw)
    assert isinstance(caught.value, SessionError)
    assert isinstance(caught.value, wire.UsbRedirError)
