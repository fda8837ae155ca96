"""``spice do URI usb-attach IMG ... usb-detach`` against the real Linux guest."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from peers.linux_guest import LinuxGuest, start_guest
from test_usb_guest import SDA_READ_ONLY, TEXT, USB_ARGS, fat_image

pytestmark = pytest.mark.interop


@pytest.fixture
def usb_guest(peers: Any) -> LinuxGuest:
    guest = start_guest(peers.log_dir, qemu_args=USB_ARGS)
    peers.started.append(guest)
    return guest


async def test_spice_do_attaches_and_detaches_a_stick(usb_guest: LinuxGuest, tmp_path: Path) -> None:
    image = fat_image(tmp_path / "stick.img")
    typed = (
        "for i in $(seq 120); do [ -b /dev/sda ] && break; sleep 0.5; done;"
        " mount /dev/sda /mnt && cp /mnt/hello.txt /tmp/copied; umount /mnt; echo done > /tmp/done\n"
    )
    with trio.fail_after(240):
        proc = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "do", usb_guest.uri,
             "usb-attach", f"{image},ro", "type", typed, "pause", "10", "usb-detach"],
            capture_stdout=True, capture_stderr=True, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode()
        out = proc.stdout.decode()
        assert f"usb: {image} attached as a read-only disk" in out and f"usb: {image} detached" in out
    wait = "for i in $(seq 240); do [ -e /tmp/done ] && break; sleep 0.25; done; cat /tmp/copied; ls /dev/sda"
    got = await trio.to_thread.run_sync(usb_guest.sh, wait, 90.0)
    assert got.startswith(TEXT), got
    assert "No such file" in got  # unplugged at usb-detach
    subprocess.run(["fsck.vfat", "-n", str(image)], check=True, capture_output=True)


async def test_spice_view_usb_disk_and_cdrom(usb_guest: LinuxGuest, tmp_path: Path) -> None:
    pytest.importorskip("sdl2")
    image = fat_image(tmp_path / "stick.img")
    iso = tmp_path / "missing.iso"  # not there: a note on stderr, the viewer carries on
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    argv = [sys.executable, "-m", "spice_cli", "view", "--no-audio", "--no-reconnect"]
    argv += ["--usb-disk", f"{image},ro", "--usb-cdrom", str(iso), usb_guest.uri]
    log = tmp_path / "view.err"
    with trio.fail_after(240), log.open("wb") as err:
        async with trio.open_nursery() as nursery:
            proc: trio.Process = await nursery.start(
                partial(trio.run_process, argv, env=env, stderr=err, check=False)
            )
            ro = await trio.to_thread.run_sync(usb_guest.sh, SDA_READ_ONLY, 90.0)
            assert ro.strip() == "1", await trio.to_thread.run_sync(usb_guest.sh, "dmesg | tail -30")
            proc.terminate()
    notes = log.read_text()
    assert f"{image} attached" in notes and f"{iso} not attached" in notes, notes
    gone = "for i in $(seq 240); do [ -e /dev/sda ] || break; sleep 0.25; done; ls /dev/sda"
    assert "No such file" in await trio.to_thread.run_sync(usb_guest.sh, gone, 90.0)
