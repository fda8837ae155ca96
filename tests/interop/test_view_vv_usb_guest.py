"""spice view FILE.vv with --usb-disk against the real Linux guest (QEMU usb-redir): the
file's enable-usbredir=0 and a usb-filter refusing mass storage keep the stick out; an
allowing filter lets it in, and when the connection is cut (a relay drops it, QEMU stays)
the viewer reconnects and plugs the stick in again."""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from peers.linux_guest import LinuxGuest, start_guest
from peers.tcp_relay import TcpRelay
from test_usb_guest import USB_ARGS, fat_image, write_protect_reported

pytestmark = pytest.mark.interop

NO_STORAGE = "0x08,-1,-1,-1,0|-1,-1,-1,-1,1"
#: How many USB devices the guest kernel has seen plugged in.
COUNT = "dmesg | grep -c 'new .*USB device number'"


@pytest.fixture
def usb_guest(peers: Any) -> LinuxGuest:
    guest = start_guest(peers.log_dir, qemu_args=USB_ARGS)
    peers.started.append(guest)
    return guest


async def _sh(guest: LinuxGuest, command: str) -> str:
    return await trio.to_thread.run_sync(guest.sh, command, 90.0)


async def _wait_log(log: Path, text: str, count: int = 1, timeout: float = 120.0) -> str:
    with trio.move_on_after(timeout):
        while (got := log.read_text(errors="replace")).count(text) < count:
            await trio.sleep(0.2)
    assert got.count(text) >= count, f"{text!r} x{count} not in:\n{got[-3000:]}"
    return got


def _vv(tmp_path: Path, port: int, keys: str) -> Path:
    path = tmp_path / f"vm-{time.monotonic_ns()}.vv"
    path.write_text(f"[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport={port}\n{keys}")
    return path


async def _view(nursery: trio.Nursery, vv: Path, image: Path, log: Path) -> trio.Process:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    argv = [sys.executable, "-m", "spice_cli", "view", str(vv), "--no-audio", "--usb-disk", f"{image},ro"]
    with log.open("wb") as err:  # the child has its own copy of the descriptor
        proc: trio.Process = await nursery.start(
            partial(trio.run_process, argv, env=env, stderr=err, check=False)
        )
    return proc


async def test_vv_usb_keys_and_the_stick_back_after_a_reconnect(
    usb_guest: LinuxGuest, tmp_path: Path, nursery: trio.Nursery
) -> None:
    image = fat_image(tmp_path / "stick.img")
    with trio.fail_after(400):
        for keys, note in [
            (
                "enable-usbredir=0\n",
                "not attached: the .vv file turns USB redirection off (enable-usbredir=0)",
            ),
            (f"usb-filter={NO_STORAGE}\n", "not attached: "),
        ]:
            log = tmp_path / f"view-{len(keys)}.err"
            proc = await _view(nursery, _vv(tmp_path, usb_guest.port, keys), image, log)
            await _wait_log(log, f"{image} {note}")
            await trio.sleep(2)  # nothing may arrive late either
            assert "No such file" in await _sh(usb_guest, "ls /dev/sda")
            proc.terminate()
            await proc.wait()
        before = int((await _sh(usb_guest, COUNT)).strip() or 0)

        relay = TcpRelay(usb_guest.port)
        await nursery.start(relay.serve)
        log = tmp_path / "view-relay.err"
        allow = "usb-filter=-1,-1,-1,-1,1\nenable-usbredir=1\nenable-usb-autoshare=1\n"
        proc = await _view(nursery, _vv(tmp_path, relay.port, allow), image, log)
        await _wait_log(log, f"{image} attached")
        seen = await _sh(usb_guest, write_protect_reported(1))  # the stick says read-only
        assert int(seen.strip()) >= 1, await _sh(usb_guest, "dmesg | tail -30")
        relay.drop()  # the network goes; QEMU and the guest stay
        await _wait_log(log, "spice view: connection lost")
        await _wait_log(log, f"{image} attached", count=2)  # plugged in again on the new session
        plugged = f"[ $({COUNT}) -ge {before + 2} ] && [ -b /dev/sda ]"
        again = f"for i in $(seq 240); do {plugged} && break; sleep 0.25; done"
        await _sh(usb_guest, again)
        assert int((await _sh(usb_guest, COUNT)).strip()) >= before + 2
        seen = await _sh(usb_guest, write_protect_reported(2))  # and again, newly attached
        assert int(seen.strip()) >= 2, await _sh(usb_guest, "dmesg | tail -30")
        assert relay.accepted > 1 and proc.returncode is None
        proc.terminate()
        await proc.wait()
