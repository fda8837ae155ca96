"""Physical USB devices through python-libusb1, against a device umockdev emulates (this
machine has no USB bus): libusb enumerates it from its sysfs description, and the URBs it
submits are answered from a usbmon capture replayed in order (a mismatch hangs the replay,
so every transfer below is checked byte for byte by umockdev as well)."""

from __future__ import annotations

import json
import struct
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from peers.umockdev_usb import CONTROL, INTERRUPT, Urb, describe, run_with_device
from spice_session import UsbRedirError
from spice_session._usb_hid import usb_keyboard
from spice_session._usb_libusb import UsbDeviceError, open_usb_device, parse_device_id

CHILD = Path(__file__).with_name("usb_libusb_child.py")
PRODUCT = "Python USB keyboard".encode("utf-16-le")


def get_string(index: int) -> bytes:
    return struct.pack("<BBHHH", 0x80, 6, 0x0300 | index, 0x0409, 255)


def test_parse_device_id() -> None:
    assert parse_device_id("046d:C077") == (0x046D, 0xC077)
    assert parse_device_id("0x1d6b:0x0d21") == (0x1D6B, 0x0D21)
    for bad in ("046d", "046d:c077:1", "12345:1", "xyz:1"):
        with pytest.raises(UsbDeviceError, match="VID:PID"):
            parse_device_id(bad)
    assert issubclass(UsbDeviceError, UsbRedirError)


def test_a_missing_device_is_a_clean_error(tmp_path: Path) -> None:
    # no USB bus in this container: libusb finds nothing (or no bus at all)
    pytest.importorskip("usb1")
    with pytest.raises(UsbDeviceError, match="no USB device ffff:fffe"):
        open_usb_device(0xFFFF, 0xFFFE)


def test_emulated_keyboard_served_to_a_guest_through_libusb(tmp_path: Path) -> None:
    """The descriptors of our virtual keyboard as a 'physical' device: the guest gets its
    interfaces and endpoints from libusb, and control, interrupt OUT and interrupt IN
    transfers go through libusb to the (replayed) device."""
    info = usb_keyboard().info
    description = describe(
        info.vendor_id, info.product_id, info.device_descriptor() + info.config_descriptor()
    )
    report = bytes([2, 0, 4, 0, 0, 0, 0, 0])
    urbs = [
        Urb(CONTROL, 0x80, 255, setup=get_string(2), reply=bytes([2 + len(PRODUCT), 3]) + PRODUCT),
        Urb(CONTROL, 0x00, 0, setup=struct.pack("<BBHHH", 0x21, 0x0A, 0, 0, 0)),
        Urb(CONTROL, 0x80, 255, setup=get_string(5), status=-32),
        Urb(INTERRUPT, 0x02, 1, out=b"\x02"),
        Urb(INTERRUPT, 0x81, 8, reply=report),
    ]
    done = run_with_device(tmp_path, description, urbs, [sys.executable, str(CHILD), "1d6b:0d21"])
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [json.loads(line) for line in done.stdout.splitlines()]
    interface_info, ep_info, connect = steps[0]["connect"]
    assert interface_info["type"] == "InterfaceInfo"
    assert "number=0, cls=3, subclass=1, protocol=1" in str(interface_info["interfaces"])
    assert connect["type"] == "DeviceConnect"
    assert (connect["vendor_id"], connect["product_id"], connect["speed"]) == (
        0x1D6B,
        0x0D21,
        1,
    )  # full speed
    eps = ep_info["endpoints"]
    assert "type=3, interval=10, interface=0, max_packet_size=8" in str(eps)  # both interrupt endpoints
    replies = [step["reply"] for step in steps[1:-1]]
    assert replies[0] == [{"type": "ConfigurationStatus", "status": 0, "configuration": 1}]
    [string] = replies[1]
    assert (string["status"], bytes.fromhex(string["data"])[2:]) == (0, PRODUCT)
    assert [(r["type"], r["status"]) for r in replies[2]] == [("ControlPacket", 0)]
    [stalled] = replies[3]
    assert (stalled["status"], stalled["length"], stalled["data"]) == (4, 0, "")  # STALL
    assert replies[4] == [{"type": "InterruptPacket", "endpoint": 2, "status": 0, "length": 1, "data": ""}]
    # receiving started: the device's report (read through libusb) comes with the status
    status, polled = replies[5]
    assert (status["type"], status["status"], status["endpoint"]) == ("InterruptReceivingStatus", 0, 0x81)
    assert (polled["type"], polled["endpoint"], bytes.fromhex(polled["data"])) == (
        "InterruptPacket",
        0x81,
        report,
    )
    assert steps[-1]["poll"] == []  # a poll with nothing from the device sends nothing


def test_a_composite_device_tells_the_guest_its_device_level_class(tmp_path: Path) -> None:
    """A device whose descriptor names class 0xEF, subclass 2, protocol 1 (a composite device
    with interface associations): DEVICE_CONNECT carries all three, as libusb read them."""
    info = replace(usb_keyboard().info, device_class=0xEF, device_subclass=2, device_protocol=1)
    description = describe(
        info.vendor_id, info.product_id, info.device_descriptor() + info.config_descriptor()
    )
    argv = [sys.executable, str(CHILD), "1d6b:0d21", "--connect-only"]
    done = run_with_device(tmp_path, description, [], argv)
    assert done.returncode == 0, done.stderr[-3000:]
    [step] = [json.loads(line) for line in done.stdout.splitlines()]
    connect = step["connect"][-1]
    assert connect["type"] == "DeviceConnect"
    assert (connect["device_class"], connect["device_subclass"], connect["device_protocol"]) == (0xEF, 2, 1)
