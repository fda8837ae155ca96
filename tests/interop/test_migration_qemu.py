"""Live migration between two QEMUs on 127.0.0.1: the client follows the VM.

A runs as usual, B the same with ``-incoming``; A's QMP gets ``client_migrate_info`` (B's
SPICE port) then ``migrate``.  Our client offers SEMI_SEAMLESS_MIGRATE: on MIGRATE_BEGIN it
links B's main channel with its session id and says MIGRATE_CONNECTED; at MIGRATE_END it
sends MIGRATE_END to B and the session goes on there.  A migration faster than that (no
bandwidth limit: ~17 ms) makes QEMU fall back to MIGRATE_SWITCH_HOST, also followed.
Either way the picture is B's screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import spice_session
import trio
from peers.migration import announce, matches, migrate, wait_linked, wait_text_screen
from peers.ports import free_tcp_port
from peers.qemu import Qemu
from spice_session.events import MigrationCompleted, MigrationStarted

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("slow", [True, False], ids=["semi-seamless", "fast"])
async def test_client_follows_live_migration(qemu_factory: Callable[..., Qemu], slow: bool) -> None:
    source = qemu_factory(password="mig-pw")
    migration_port = free_tcp_port()
    target = qemu_factory(password="mig-pw", extra_args=("-incoming", f"tcp:127.0.0.1:{migration_port}"))
    await trio.to_thread.run_sync(wait_text_screen, source)
    notices: list[spice_session.lowlevel.ReconnectNotice] = []
    sessions: list[tuple[int | None, bool]] = []
    started: list[MigrationStarted] = []
    completed: list[MigrationCompleted] = []

    async def body(session: spice_session.Session) -> None:
        if not sessions:
            sessions.append((session.uri.port, await matches(session, source)))

            async def collect() -> None:
                async for event in session.events():
                    if isinstance(event, MigrationStarted):
                        started.append(event)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(collect)
                if slow:  # the client links the destination first, however loaded the machine
                    await trio.to_thread.run_sync(announce, source, target)
                    await trio.to_thread.run_sync(wait_linked, target)
                await trio.to_thread.run_sync(migrate, source, target, migration_port, slow, 1_000_000, slow)
                await trio.sleep_forever()  # cancelled by MIGRATE_END or MIGRATE_SWITCH_HOST
        with trio.fail_after(10):  # queued before the body runs
            async for event in session.events():
                if isinstance(event, MigrationCompleted):
                    completed.append(event)
                    break
        sessions.append((session.uri.port, await matches(session, target)))

    with trio.fail_after(120):
        await spice_session.run_reconnecting(
            f"spice://127.0.0.1:{source.port}?password=mig-pw", body, on_reconnect=notices.append
        )
    assert sessions == [(source.port, True), (target.port, True)]
    assert len(notices) == 1 and notices[0].migrated
    if slow:
        assert notices[0].reason == "migrated"  # semi-seamless, not a SWITCH_HOST
    kind = "semi-seamless" if notices[0].reason == "migrated" else "switch-host"
    where = f"127.0.0.1:{target.port}"
    assert completed == [MigrationCompleted(kind, where)]
    # MIGRATE_BEGIN says semi-seamless (a fast one may end in SWITCH_HOST after it; the body
    # is cancelled at once then, maybe before its reader saw that second event)
    assert {(e.kind, e.target) for e in started} <= {("semi-seamless", where), ("switch-host", where)}
    if slow:
        assert started == [MigrationStarted("semi-seamless", where)]
    # The target reports "running" once it has taken over (it may still say "inmigrate" or
    # "postmigrate" just after the source says "completed"), so wait for it, bounded.
    end = time.monotonic() + 20
    while (state := (target.qmp("query-status") or {}).get("status")) != "running":
        assert time.monotonic() < end, f"the migration target is {state!r}, not running"
        await trio.sleep(0.1)
