"""Live migration between two QEMUs on 127.0.0.1: start it, wait for it, compare pictures."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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


def wait_linked(target: Qemu, timeout: float = 60.0) -> None:
    """Wait (bounded) until a client has linked ``target``'s main channel (QMP query-spice):
    a client told of a semi-seamless migration has then said MIGRATE_CONNECTED or is about
    to, so a migration started now ends in MIGRATE_END, not SWITCH_HOST, however loaded
    the machine is."""
    end = time.monotonic() + timeout
    while not any(c.get("channel-type") == 1 for c in target.qmp("query-spice").get("channels", [])):
        if time.monotonic() > end:
            raise AssertionError(f"no client linked the migration target within {timeout} s")
        time.sleep(0.05)


@asynccontextmanager
async def collecting(
    session: Any, keep: Callable[[Any], bool] = lambda event: True
) -> AsyncIterator[list[Any]]:
    """The session's events that ``keep`` accepts, gathered in the background while the
    block runs (the list stays filled after it)."""
    events: list[Any] = []

    async def collect() -> None:
        async for event in session.events():
            if keep(event):
                events.append(event)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(collect)
        yield events
        nursery.cancel_scope.cancel()


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
