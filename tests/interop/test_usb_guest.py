"""USB redirection into a real Linux guest: QEMU's ``usb-redir`` on a spicevmc chardev, our
client as the USB host serving a disk image (Bulk-Only mass storage + SCSI) and an ISO (CD-ROM).

The guest (xhci, usb-storage, sd_mod, vfat, isofs) sees a new /dev/sd* or /dev/sr*, mounts
it, reads our file and writes its own, which we then find in the image; a read-only stick
refuses the write; leaving ``attach`` unplugs the device.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import spice_session as ss
import trio
from peers.linux_guest import LinuxGuest, start_guest
from peers.require import require_binary
from spice_session import usb_cdrom, usb_disk

pytestmark = pytest.mark.interop

USB_ARGS = (
    "-device", "qemu-xhci,id=xhci",
    "-chardev", "spicevmc,name=usbredir,id=ur",
    "-device", "usb-redir,chardev=ur,bus=xhci.0",
)  # fmt: skip
TEXT = "hello from the host\n"
#: Waits up to 60 s for /dev/sda to be there and read-only, then prints its ``ro`` flag.  The
#: kernel clears the flag at the start of each revalidation and sets it again after MODE SENSE,
#: so one read just as /dev/sda appears is not the verdict (2 of 8 runs with busy loops beside
#: them read 0 first and 1 from 50 ms on); a stick that never says write-protected prints 0.
SDA_READ_ONLY = (
    'for i in $(seq 240); do [ -b /dev/sda ] && [ "$(cat /sys/block/sda/ro)" = 1 ] && break;'
    " sleep 0.25; done; cat /sys/block/sda/ro"
)


def write_protect_reported(count: int) -> str:
    """A guest command: wait (60 s at most) until /dev/sda is there and the kernel logged a
    disk's MODE SENSE answer "Write Protect is on" ``count`` times (once a first scan of a
    newly attached stick); print how many times it did.  What the stick itself said, where
    ``/sys/block/sda/ro`` is the kernel's later state: each revalidation clears it first,
    and one whose MODE SENSE fails leaves it clear without a word (seen once in CI)."""
    seen = "dmesg | grep -c 'Write Protect is on'"
    return (
        f"for i in $(seq 240); do [ -b /dev/sda ] && [ $({seen}) -ge {count} ] && break;"
        f" sleep 0.25; done; {seen}"
    )


def fat_image(path: Path, kib: int = 8192) -> Path:
    require_binary("mkfs.vfat")
    require_binary("mcopy")
    subprocess.run(["mkfs.vfat", "-C", str(path), str(kib)], check=True, capture_output=True)
    src = path.with_suffix(".txt")
    src.write_text(TEXT)
    subprocess.run(["mcopy", "-i", str(path), str(src), "::hello.txt"], check=True)
    return path


def iso_image(path: Path) -> Path:
    require_binary("genisoimage")
    root = path.with_suffix(".d")
    root.mkdir()
    (root / "readme.txt").write_text(TEXT)
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB, several READs
    subprocess.run(
        ["genisoimage", "-quiet", "-V", "SPICEPY", "-o", str(path), str(root)],
        check=True,
        capture_output=True,
    )
    return path


def guest_extra(root: Path) -> Path:
    """/extra: sr_mod (the SCSI CD-ROM driver; cdrom and scsi_mod are in the guest already)."""
    kernel = sorted(p.name.removeprefix("vmlinuz-") for p in Path("/boot").glob("vmlinuz-*"))[-1]
    root.mkdir()
    shutil.copy(f"/lib/modules/{kernel}/kernel/drivers/scsi/sr_mod.ko", root / "sr_mod.ko")
    return root


@pytest.fixture
def usb_guest(peers: Any, tmp_path: Path) -> LinuxGuest:
    guest = start_guest(peers.log_dir, extra=guest_extra(tmp_path / "extra"), qemu_args=USB_ARGS)
    peers.started.append(guest)
    return guest


async def sh(guest: LinuxGuest, command: str, timeout: float = 90.0) -> str:
    return await trio.to_thread.run_sync(guest.sh, command, timeout)


def wait_for(node: str, present: bool = True, seconds: int = 60) -> str:
    test = f"[ -b {node} ]" if present else f"[ ! -e {node} ]"
    return f"for i in $(seq {seconds * 4}); do {test} && break; sleep 0.25; done; {test} && echo YES"


async def test_disk_image_as_usb_stick(usb_guest: LinuxGuest, tmp_path: Path) -> None:
    image = fat_image(tmp_path / "stick.img")
    with trio.fail_after(240):
        async with ss.connect(usb_guest.uri) as session:
            usb = session.usb
            async with usb.attach(usb_disk(image)) as dev:
                await dev.wait_configured(timeout=60)
                assert "YES" in await sh(usb_guest, wait_for("/dev/sda")), await sh(
                    usb_guest, "dmesg | tail -20"
                )
                out = await sh(usb_guest, "mount -t vfat /dev/sda /mnt && cat /mnt/hello.txt")
                assert out == TEXT, out
                out = await sh(
                    usb_guest, "echo written by the guest > /mnt/guest.txt && sync && umount /mnt && echo OK"
                )
                assert out.strip() == "OK", out
            # leaving the block unplugs the stick
            assert "YES" in await sh(usb_guest, wait_for("/dev/sda", present=False))
    found = subprocess.run(
        ["mtype", "-i", str(image), "::guest.txt"], check=True, capture_output=True, text=True
    )
    assert found.stdout == "written by the guest\n"


async def test_read_only_stick_refuses_writes(usb_guest: LinuxGuest, tmp_path: Path) -> None:
    image = fat_image(tmp_path / "ro.img")
    before = image.read_bytes()
    with trio.fail_after(240):
        async with (
            ss.connect(usb_guest.uri) as session,
            session.usb.attach(usb_disk(image, readonly=True)) as dev,
        ):
            await dev.wait_configured(timeout=60)
            assert "YES" in await sh(usb_guest, wait_for("/dev/sda"))
            ro = await sh(usb_guest, SDA_READ_ONLY)
            assert ro.strip() == "1", await sh(usb_guest, "dmesg | tail -30")  # MODE SENSE: write-protected
            out = await sh(usb_guest, "mount -t vfat /dev/sda /mnt; cat /mnt/hello.txt")
            assert TEXT in out
            out = await sh(usb_guest, "echo x > /mnt/new.txt && echo WROTE || echo REFUSED")
            assert "REFUSED" in out
            # a raw write straight to the device is refused by the stick itself
            out = await sh(
                usb_guest,
                "umount /mnt; echo 0 > /sys/block/sda/ro 2>/dev/null;"
                " blockdev --setrw /dev/sda 2>/dev/null;"
                " dd if=/dev/zero of=/dev/sda bs=512 count=1 oflag=direct 2>&1; echo rc=$?",
            )
            assert "rc=0" not in out, out
    assert image.read_bytes() == before


async def test_iso_as_usb_cdrom(usb_guest: LinuxGuest, tmp_path: Path) -> None:
    iso = iso_image(tmp_path / "disc.iso")
    await sh(usb_guest, "insmod /extra/sr_mod.ko")
    with trio.fail_after(240):
        async with ss.connect(usb_guest.uri) as session:
            usb = session.usb
            async with usb.attach(usb_cdrom(iso)) as dev:
                await dev.wait_configured(timeout=60)
                assert "YES" in await sh(usb_guest, wait_for("/dev/sr0")), await sh(usb_guest, "dmesg | tail")
                out = await sh(usb_guest, "mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/readme.txt")
                assert out == TEXT, out
                out = await sh(usb_guest, "md5sum /mnt/big.bin; umount /mnt")
                assert hashlib.md5(bytes(range(256)) * 4096).hexdigest() in out
            assert "YES" in await sh(usb_guest, wait_for("/dev/sr0", present=False))
