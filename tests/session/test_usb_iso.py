"""Isochronous streams through the usbredir host, with a small virtual device that has an iso
IN endpoint (a microphone's frames) and an iso OUT endpoint (a speaker's)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from spice_proto.usbredir import (
    EpInfo,
    EpType,
    IsoPacket,
    IsoStreamStatus,
    Received,
    StartIsoStream,
    Status,
    StopIsoStream,
    ep_index,
)
from spice_session._usb_device import DeviceInfo, EndpointInfo, VirtualDevice
from spice_session._usb_host import UsbRedirHost
from spice_session._usb_libusb import LibusbDevice
from test_usb_storage import Guest

MIC, SPEAKER = 0x83, 0x04
FRAME = bytes(range(192))  # 1 ms of 48 kHz 16-bit stereo


@dataclass
class IsoDevice(VirtualDevice):
    frames: deque[bytes] = field(default_factory=deque)
    played: list[bytes] = field(default_factory=list)
    refuse: bool = False

    def iso_in(self, endpoint: int) -> bytes | None:
        return self.frames.popleft() if endpoint == MIC and self.frames else None

    def iso_out(self, endpoint: int, data: bytes) -> Status:
        if self.refuse:
            return Status.IOERROR
        self.played.append(data)
        return Status.SUCCESS


def iso_device() -> tuple[Guest, UsbRedirHost, IsoDevice]:
    info = DeviceInfo(
        0x1D6B, 0x0D30, 0x0100, "spice-python", "iso test", "1", 1, 2, 0,
        (EndpointInfo(MIC, EpType.ISO, 192, 1), EndpointInfo(SPEAKER, EpType.ISO, 192, 1)),
    )  # fmt: skip
    device = IsoDevice(info)
    host = UsbRedirHost(device)
    return Guest(host), host, device


def iso_packets(received: list[Received]) -> list[tuple[int, int, bytes]]:
    out = []
    for r in received:
        assert isinstance(r.packet, IsoPacket)
        out.append((r.id, r.packet.status, r.packet.data))
    return out


def test_iso_in_stream_sends_the_frames_in_order_until_stopped() -> None:
    guest, host, device = iso_device()
    eps = guest.connect[1].packet
    assert isinstance(eps, EpInfo)
    assert (eps.endpoints[ep_index(MIC)].type, eps.endpoints[ep_index(SPEAKER)].type) == (
        EpType.ISO,
        EpType.ISO,
    )
    device.frames.extend([FRAME, FRAME[::-1]])
    assert host.stream_data() == b""  # no stream yet
    got = guest.send(StartIsoStream(MIC, 8, 4))
    assert got[0].packet == IsoStreamStatus(Status.SUCCESS, MIC)
    assert iso_packets(got[1:]) == [(0, Status.SUCCESS, FRAME), (1, Status.SUCCESS, FRAME[::-1])]
    device.frames.append(b"\x01\x02")
    guest.parser.receive_data(host.stream_data())
    assert iso_packets(guest.parser.next_packets()) == [(2, Status.SUCCESS, b"\x01\x02")]
    assert guest.one(StopIsoStream(MIC)) == IsoStreamStatus(Status.SUCCESS, MIC)
    device.frames.append(FRAME)
    assert host.stream_data() == b""


def test_iso_out_packets_reach_the_device_and_only_failures_are_answered() -> None:
    guest, _, device = iso_device()
    assert guest.send(IsoPacket(SPEAKER, 0, 3, b"abc")) == [
        Received(guest.next_id - 1, IsoPacket(SPEAKER, Status.INVAL, 0))
    ]  # not started
    assert guest.one(StartIsoStream(SPEAKER, 8, 4)) == IsoStreamStatus(Status.SUCCESS, SPEAKER)
    assert guest.send(IsoPacket(SPEAKER, 0, 192, FRAME)) == []
    assert device.played == [FRAME]
    device.refuse = True
    assert guest.one(IsoPacket(SPEAKER, 0, 1, b"x")) == IsoPacket(SPEAKER, Status.IOERROR, 0)


def test_iso_requests_on_other_endpoints_are_refused() -> None:
    guest, host, _ = iso_device()
    for endpoint in (0x81, 0x00, 0x85):
        assert guest.one(StartIsoStream(endpoint, 8, 4)) == IsoStreamStatus(Status.INVAL, endpoint)
    assert host.iso_streams == set()


def test_a_physical_device_refuses_iso_streams() -> None:
    """libusb iso transfers are not forwarded: the guest is told so at once."""
    _, _, device = iso_device()
    guest = Guest(UsbRedirHost(LibusbDevice(device.info)))
    assert guest.one(StartIsoStream(MIC, 8, 4)) == IsoStreamStatus(Status.INVAL, MIC)
