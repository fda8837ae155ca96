"""Live migration between two QEMUs on 127.0.0.1: start it, wait for it, compare pictures."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import trio

from .qemu import Qemu


def wait_text_screen(vm: Qemu, timeout: float = 60.0) -> None:
    """Wait (bounded) until QEMU shows SeaBIOS's 720x400 text screen with something on it."""
    end = time.monotonic() + timeout
    while True:
        screen = vm.screendump()
        if screen.shape == (400, 720, 3) and len(np.unique(screen.reshape(-1, 3), axis=0)) >= 2:
            return
        if time.monotonic() > end:
            raise AssertionError(f"QEMU never showed its text screen (last {screen.shape})")
        time.sleep(0.2)


def announce(source: Qemu, target: Qemu) -> None:
    """``client_migrate_info`` on ``source``: its SPICE clients are told to link ``target``."""
    source.qmp("client_migrate_info", protocol="spice", hostname="127.0.0.1", port=target.port)


def migrate(
    source: Qemu,
    target: Qemu,
    migration_port: int,
    slow: bool = True,
    bandwidth: int = 1_000_000,
    announced: bool = False,
) -> None:
    """``client_migrate_info`` (unless ``announced`` already) then ``migrate`` on ``source``;
    returns once it completed.

    ``slow`` limits the bandwidth to ``bandwidth`` bytes/s (1 MB/s: about a second for the
    migration): time for a client to link the destination before the source finishes.  A
    client that has not linked it by then gets MIGRATE_SWITCH_HOST instead; a test of the
    seamless path announces first and waits for its client (libspice-server gives it 10 s)."""
    if slow:
        source.qmp("migrate-set-parameters", **{"max-bandwidth": bandwidth})
    if not announced:
        announce(source, target)
    source.qmp("migrate", uri=f"tcp:127.0.0.1:{migration_port}")
    end = time.monotonic() + 60
    while (status := source.qmp("query-migrate").get("status")) != "completed":
        if status == "failed" or time.monotonic() > end:
            raise AssertionError(f"migration {status}")
        time.sleep(0.05)


async def matches(session: Any, vm: Qemu) -> bool:
    """Whether a spice_session Session's screenshot equals ``vm``'s screendump (retried:
    the text cursor blinks)."""
    for _ in range(20):
        shot = (await session.screenshot(timeout=30)).to_rgb()
        truth = await trio.to_thread.run_sync(vm.screendump)
        if np.array_equal(shot, truth):
            return True
    return False
