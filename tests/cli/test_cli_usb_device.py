"""``spice do URI usb-attach --device VID:PID usb-detach`` end to end: the CLI in a
subprocess under umockdev-run (an emulated device libusb finds), a scripted usbredir guest
on a scripted server that configures the device and reads a string descriptor from it."""

from __future__ import annotations

import struct
import sys
from functools import partial
from pathlib import Path

import spice_proto as sp
from hostile.evil_server import EvilServerThread
from peers.umockdev_usb import CONTROL, Urb, describe, run_with_device
from peers.usbredir_guest import run_usbredir_guest
from spice_proto.usbredir import (
    ConfigurationStatus,
    ControlPacket,
    DeviceConnect,
    Packet,
    Received,
    SetConfiguration,
    Status,
    UsbRedirParser,
)
from spice_session.lowlevel import usb_keyboard

PRODUCT = "Python USB keyboard".encode("utf-16-le")
STRING = bytes([2 + len(PRODUCT), 3]) + PRODUCT


def test_spice_do_attaches_a_physical_device_through_libusb(tmp_path: Path) -> None:
    info = usb_keyboard().info
    description = describe(
        info.vendor_id, info.product_id, info.device_descriptor() + info.config_descriptor()
    )
    setup = struct.pack("<BBHHH", 0x80, 6, 0x0302, 0x0409, 255)
    got: list[Packet] = []

    def answer(parser: UsbRedirParser, r: Received) -> bytes:
        got.append(r.packet)
        if isinstance(r.packet, DeviceConnect):  # read a string, then configure
            read = parser.encode(ControlPacket(0x80, 6, 0x80, 0, 0x0302, 0x0409, 255), 1)
            return read + parser.encode(SetConfiguration(1), 2)
        return b""

    guest = partial(run_usbredir_guest, name="scripted guest", answer=answer)

    urbs = [Urb(CONTROL, 0x80, 255, setup=setup, reply=STRING)]
    script = {(sp.ChannelType.USBREDIR, 0): guest, (sp.ChannelType.INPUTS, 0): []}  # spice do needs inputs
    with EvilServerThread(script) as server:
        argv = [sys.executable, "-m", "spice_cli", "do", server.uri, "usb-attach", "--device", "1d6b:0d21"]
        done = run_with_device(tmp_path, description, urbs, [*argv, "usb-detach"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usb: 1d6b:0d21 attached as a physical device" in done.stdout
    assert "usb: 1d6b:0d21 detached" in done.stdout
    kinds = [type(p).__name__ for p in got]
    assert kinds[:4] == ["Hello", "InterfaceInfo", "EpInfo", "DeviceConnect"], kinds
    [string] = [p for p in got if isinstance(p, ControlPacket)]
    assert (string.status, string.data) == (Status.SUCCESS, STRING)  # read through libusb
    assert ConfigurationStatus(Status.SUCCESS, 1) in got
    assert kinds[-1] == "DeviceDisconnect"
