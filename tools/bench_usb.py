"""Sequential read MB/s of a disk image redirected as a USB stick, as the guest sees it.

Boots the rig's Linux guest (QEMU/TCG, qemu-xhci + usb-redir on a spicevmc chardev),
attaches a 64 MiB image through our client (Bulk-Only mass storage) and runs
``dd if=/dev/sda of=/dev/null bs=1M iflag=direct`` on the serial shell, three times
(the guest's page cache is bypassed); the first 4 MiB of a CD-ROM too.  Also reads
through the same path in memory (no QEMU) to show the Python side's own ceiling.
Run: ``python tools/bench_usb.py [--mib 64]``.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import tempfile
import time
from pathlib import Path

import spice_session as ss
import trio
from spice_session import usb_disk
from spice_session.lowlevel import UsbRedirHost, UsbRedirParser

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

USB_ARGS = (
    "-device", "qemu-xhci,id=xhci",
    "-chardev", "spicevmc,name=usbredir,id=ur",
    "-device", "usb-redir,chardev=ur,bus=xhci.0",
)  # fmt: skip


def bulk(endpoint: int, length: int, data: bytes = b"") -> bytes:
    """A BULK_PACKET as QEMU sends it (64-bit ids, 32-bit lengths agreed)."""
    head = struct.pack("<BBHIH", endpoint, 0, length & 0xFFFF, 0, length >> 16)
    return struct.pack("<IIQ", 101, len(head) + len(data), 1) + head + data


def in_memory_mb_s(image: Path, transfer: int = 120 * 1024) -> float:
    """READ(10) commands of ``transfer`` bytes through parser + host + BOT + SCSI, no I/O."""
    host = UsbRedirHost(usb_disk(image, readonly=True))
    guest = UsbRedirParser("guest", host.parser.caps)
    guest.receive_data(host.start())
    guest.next_packets()
    guest.receive_data(host.receive_data(guest.hello("bench")))
    guest.next_packets()
    total, lba, start = 0, 0, time.perf_counter()
    size = image.stat().st_size
    while total < size:
        blocks = min(transfer, size - total) // 512
        transfer = blocks * 512
        cdb = struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0)
        cbw = struct.pack("<IIIBBB16s", 0x43425355, lba, transfer, 0x80, 0, 10, cdb)
        raw = bulk(0x02, 31, cbw) + bulk(0x81, transfer) + bulk(0x81, 13)
        guest.receive_data(host.receive_data(raw))
        got = guest.next_packets()
        data = got[1].packet.data  # type: ignore[union-attr]
        if len(data) != transfer:
            raise RuntimeError(f"READ(10) at {lba} gave {len(data)} bytes")
        total += len(data)
        lba += blocks
    return total / (time.perf_counter() - start) / 1e6


async def guest_mb_s(image: Path, runs: int) -> list[float]:
    from peers.linux_guest import start_guest

    log_dir = Path(tempfile.mkdtemp(prefix="bench-usb-"))
    guest = await trio.to_thread.run_sync(lambda: start_guest(log_dir, qemu_args=USB_ARGS))
    rates: list[float] = []
    try:
        async with ss.connect(guest.uri) as session:
            usb = session.usb
            async with usb.attach(usb_disk(image, readonly=True)) as dev:
                await dev.wait_configured(timeout=120)
                wait = "for i in $(seq 240); do [ -b /dev/sda ] && break; sleep 0.25; done"
                await trio.to_thread.run_sync(guest.sh, wait, 90.0)
                for _ in range(runs):
                    out = await trio.to_thread.run_sync(
                        guest.sh, "time dd if=/dev/sda of=/dev/null bs=1M iflag=direct 2>&1", 600.0
                    )
                    m = re.search(r"real\s+(?:(\d+)m\s*)?([\d.]+)s", out)
                    copied = re.search(r"(\d+)\+0 records in", out)
                    if m is None or copied is None:
                        raise RuntimeError(f"unexpected dd output: {out!r}")
                    seconds = int(m.group(1) or 0) * 60 + float(m.group(2))
                    rates.append(int(copied.group(1)) * (1 << 20) / seconds / 1e6)
    finally:
        guest.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "bench.img"
        with image.open("wb") as f:
            f.write(bytes(range(256)) * (4096 * args.mib))
        print(f"in memory (parser + BOT + SCSI, 120 KiB READs): {in_memory_mb_s(image):8.1f} MB/s")
        rates = trio.run(guest_mb_s, image, args.runs)
        shown = ", ".join(f"{r:.1f}" for r in rates)
        print(f"guest dd of {args.mib} MiB, O_DIRECT, bs=1M (QEMU TCG, xhci, usb-redir): {shown} MB/s")


if __name__ == "__main__":
    main()
