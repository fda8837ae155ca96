"""Run under umockdev-run by test_usb_libusb.py: serve the emulated device through the
usbredir host to an in-memory guest and print what the guest got, one JSON line per step."""

from __future__ import annotations

import json
import sys

from spice_proto.usbredir import (
    Cap,
    ControlPacket,
    InterruptPacket,
    Packet,
    SetConfiguration,
    StartInterruptReceiving,
    UsbRedirParser,
)
from spice_session.lowlevel import UsbRedirHost, open_usb_device, parse_device_id


def show(packet: Packet) -> dict[str, object]:
    fields = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in vars(packet).items()}
    return {"type": type(packet).__name__, **fields}


def main() -> None:
    vendor, product = parse_device_id(sys.argv[1])
    device = open_usb_device(vendor, product)
    device.poll_timeout_ms = 20_000  # the replay answers at once; a loaded machine is slow
    host = UsbRedirHost(device)
    guest = UsbRedirParser("guest", frozenset(Cap) - {Cap.BULK_STREAMS, Cap.BULK_RECEIVING})
    guest.receive_data(host.start())
    guest.next_packets()
    guest.receive_data(host.receive_data(guest.hello("umockdev guest")))
    print(json.dumps({"connect": [show(r.packet) for r in guest.next_packets()]}, default=str))
    if sys.argv[2:] == ["--connect-only"]:
        device.close()
        return
    requests: list[Packet] = [
        SetConfiguration(1),
        ControlPacket(0x80, 6, 0x80, 0, 0x0302, 0x0409, 255),  # product string
        ControlPacket(0x00, 0x0A, 0x21, 0, 0, 0, 0),  # SET_IDLE
        ControlPacket(0x80, 6, 0x80, 0, 0x0305, 0x0409, 255),  # a string the device stalls
        InterruptPacket(0x02, 0, 1, b"\x02"),  # LEDs out
        StartInterruptReceiving(0x81),
    ]
    for n, packet in enumerate(requests, 1):
        guest.receive_data(host.receive_data(guest.encode(packet, n)))
        print(json.dumps({"reply": [show(r.packet) for r in guest.next_packets()]}))
    device.poll_timeout_ms = 50  # nothing more in the capture: the poll finds nothing
    guest.receive_data(host.poll())
    print(json.dumps({"poll": [show(r.packet) for r in guest.next_packets()]}))
    device.close()


if __name__ == "__main__":
    main()
