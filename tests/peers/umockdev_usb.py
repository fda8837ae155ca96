"""An emulated USB device for libusb, with Debian's umockdev: a ``.umockdev`` description
(sysfs attributes, the descriptors file libusb reads) and a usbmon capture (pcap, link type
220) that umockdev-run replays in order as the answers to the URBs libusb submits."""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .require import require_binary

SYSFS = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3"
BUS, DEV = 1, 5
# usbmon transfer types and the header of the "mmapped" link type (64 bytes)
ISO, INTERRUPT, CONTROL, BULK = 0, 1, 2, 3
_HEADER = struct.Struct("<QBBBBHccqiiII8siiII")


@dataclass(frozen=True)
class Urb:
    """One transfer as usbmon records it: a submit ('S') and its completion ('C').

    ``out`` is what the program sends (compared by umockdev), ``reply`` what the device
    answers (IN data), ``status`` the completion's negative errno (-32: stall)."""

    kind: int
    endpoint: int
    length: int
    setup: bytes | None = None
    out: bytes = b""
    reply: bytes = b""
    status: int = 0


def describe(vendor_id: int, product_id: int, descriptors: bytes, speed_mbps: int = 12) -> str:
    """A ``.umockdev`` text for a device at ``SYSFS`` (bus 1, device 5), configured (1)."""
    lines = [
        f"P: {SYSFS.removeprefix('/sys')}",
        f"N: bus/usb/{BUS:03d}/{DEV:03d}",
        f"E: DEVNAME=/dev/bus/usb/{BUS:03d}/{DEV:03d}",
        "E: DEVTYPE=usb_device",
        "E: DRIVER=usb",
        f"E: PRODUCT={vendor_id:x}/{product_id:x}/100",
        f"E: BUSNUM={BUS:03d}",
        f"E: DEVNUM={DEV:03d}",
        "E: MAJOR=189",
        f"E: MINOR={DEV - 1}",
        "E: SUBSYSTEM=usb",
        f"A: busnum={BUS}",
        f"A: devnum={DEV}",
        f"A: speed={speed_mbps}",
        f"A: idVendor={vendor_id:04x}",
        f"A: idProduct={product_id:04x}",
        "A: bConfigurationValue=1",
        "A: bNumConfigurations=1",
        f"A: dev=189:{DEV - 1}",
        "H: descriptors=" + descriptors.hex().upper(),
    ]
    return "\n".join(lines) + "\n"


def capture(urbs: list[Urb]) -> bytes:
    """A classic pcap of ``urbs``, in order, each submitted then completed."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 1 << 16, 220)
    records = []
    for n, urb in enumerate(urbs, 1):
        setup = b"\0" if urb.setup is not None else b"-"
        submit = (n, ord("S"), urb.kind, urb.endpoint, DEV, BUS, setup, b"\0" if urb.out else b"<")
        timing = (n, 0, -115, urb.length, len(urb.out), urb.setup or bytes(8), 0, 0, 0, 0)
        records.append(_HEADER.pack(*submit, *timing) + urb.out)
        done = len(urb.reply) if urb.endpoint & 0x80 else (len(urb.out) if urb.status == 0 else 0)
        complete = (n, ord("C"), urb.kind, urb.endpoint, DEV, BUS, b"-", b"\0" if urb.reply else b">")
        timing = (n, 1, urb.status, done, len(urb.reply), bytes(8), 0, 0, 0, 0)
        records.append(_HEADER.pack(*complete, *timing) + urb.reply)
    for i, rec in enumerate(records):
        out += struct.pack("<IIII", i // 2, i % 2, len(rec), len(rec)) + rec
    return out


def run_with_device(
    work: Path, description: str, urbs: list[Urb], argv: list[str], timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` under umockdev-run with the device present and ``urbs`` replayed."""
    umockdev_run = require_binary("umockdev-run")
    (work / "dev.umockdev").write_text(description)
    (work / "dev.pcap").write_bytes(capture(urbs))
    return subprocess.run(
        [umockdev_run, "-d", str(work / "dev.umockdev"), "-p", f"{SYSFS}={work / 'dev.pcap'}", "--", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
