"""Seamless live migration between two QEMUs with ``seamless-migration=on``: the session stays.

The source offers MIGRATE_BEGIN_SEAMLESS; our client links the destination (main, then
display, inputs, cursor), is ACKed and says MIGRATE_CONNECTED_SEAMLESS.  When the VM has
moved, each source channel says MIGRATE; the client flushes, takes MIGRATE_DATA and hands
it to the destination twin.  The same Session object goes on: its display is not drawn
again from scratch (no new surface), the picture is the destination's screen, and a key
reaches the guest there (SeaBIOS opens its boot menu on ESC).  A destination that refuses
seamless (spice-server NACKs when it allows several clients) gets the semi-seamless path.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import spice_session
import trio
from peers.migration import announce, collecting, matches, migrate, wait_text_screen
from peers.ports import free_tcp_port
from peers.qemu import Qemu
from peers.x11 import RGBImage
from spice_proto import ChannelType, MainMigrateBeginSeamless, Migrate, MigrateData, MigrateFlags
from spice_session.events import (
    Event,
    MessageEvent,
    MigrationCompleted,
    MigrationFailed,
    MigrationStarted,
    SurfaceCreated,
)

pytestmark = pytest.mark.interop

#: Bound on each wait for the client (linking the destination, the switch): generous under load.
_WAIT = 60
_SEAMLESS = ",seamless-migration=on"
#: SeaBIOS waits a minute at "Press ESC for boot menu." (the longest it allows is 65 s).
_BOOT_MENU = ("-boot", "menu=on,splash-time=60000")
#: About 2.5 s per migration.  The client links the destination before the migration starts
#: (see _migrate_seamlessly): one still linking when the source finishes (a loaded machine
#: took longer than the 2.5 s) gets MIGRATE_SWITCH_HOST instead, which plain connect() does
#: not follow: CI once waited 200 s for a MigrationCompleted that could not come.
_BANDWIDTH = 400_000


async def _wait_changed(vm: Qemu, before: RGBImage, timeout: float = 30.0) -> None:
    with trio.fail_after(timeout):
        while np.array_equal(await trio.to_thread.run_sync(vm.screendump), before):
            await trio.sleep(0.2)


async def _until(condition: Callable[[], bool], what: str, events: Callable[[], object]) -> None:
    """Wait (bounded) until ``condition()``; the failure names ``what`` and the events seen."""
    with trio.move_on_after(_WAIT):
        while not condition():
            await trio.sleep(0.05)
        return
    raise AssertionError(f"no {what} within {_WAIT} s; events: {events()}")


async def _migrate_seamlessly(
    source: Qemu, target: Qemu, port: int, events: Callable[[], list[Event]]
) -> None:
    """Tell the client where to go, wait until it has linked the destination (its
    MigrationStarted), then move the VM: the seamless path whatever the machine's load."""
    seen = len(events())
    await trio.to_thread.run_sync(announce, source, target)
    await _until(
        lambda: any(isinstance(e, MigrationStarted) for e in events()[seen:]),
        "MigrationStarted",
        lambda: [type(e).__name__ for e in events()[seen:]],
    )
    await trio.to_thread.run_sync(migrate, source, target, port, True, _BANDWIDTH, True)


def _is_migration(event: Event) -> bool:
    return isinstance(event, (MigrationStarted, MigrationCompleted))


def _pair(
    qemu_factory: Callable[..., Qemu], target_env: tuple[tuple[str, str], ...] = (), audio: bool = False
) -> tuple[Qemu, Qemu, int]:
    source = qemu_factory(password="mig-pw", extra_spice=_SEAMLESS, extra_args=_BOOT_MENU, audio=audio)
    migration_port = free_tcp_port()
    target = qemu_factory(
        password="mig-pw",
        extra_spice=_SEAMLESS,
        extra_args=(*_BOOT_MENU, "-incoming", f"tcp:127.0.0.1:{migration_port}"),
        env=target_env,
        audio=audio,
    )
    return source, target, migration_port


@pytest.mark.parametrize("audio", [False, True], ids=["display", "with-audio"])
async def test_seamless_migration_keeps_the_session(qemu_factory: Callable[..., Qemu], audio: bool) -> None:
    source, target, migration_port = _pair(qemu_factory, audio=audio)
    await trio.to_thread.run_sync(wait_text_screen, source)
    with trio.fail_after(150):
        uri = f"spice://127.0.0.1:{source.port}?password=mig-pw"
        async with spice_session.connect(uri, audio=audio) as session:
            display = session.display
            async with collecting(session) as events:
                assert await matches(session, source)
                surfaces = dict(session.display.channel(0).surfaces)
                started = len(events)
                await _migrate_seamlessly(source, target, migration_port, lambda: events)
                with trio.move_on_after(_WAIT):
                    while not any(isinstance(e, MigrationCompleted) for e in events):
                        await trio.sleep(0.05)
                seen = sorted({type(e).__name__ for e in events[started:]})
                assert session.uri.port == target.port, f"not moved ({session.switch_host}); events: {seen}"
                assert session.migrated_to is not None and session.migrated_to.port == target.port
                assert await matches(session, target)
                # a key reaches the guest on the destination: ESC opens SeaBIOS's boot menu
                before = await trio.to_thread.run_sync(target.screendump)
                await session.inputs.key("esc")
                await _wait_changed(target, before)
                assert await matches(session, target)
    during = events[started:]
    kinds = [(type(e).__name__, getattr(e, "kind", None)) for e in during if hasattr(e, "kind")]
    assert kinds == [("MigrationStarted", "seamless"), ("MigrationCompleted", "seamless")]
    started_at = next(e for e in during if isinstance(e, MigrationStarted))
    assert started_at.target == f"127.0.0.1:{target.port}"
    told = {
        (e.channel_type, e.channel_id): e.message
        for e in during
        if isinstance(e, MessageEvent) and isinstance(e.message, Migrate)
    }
    data = {
        (e.channel_type, e.channel_id)
        for e in during
        if isinstance(e, MessageEvent) and isinstance(e.message, MigrateData)
    }
    # every channel was told to migrate; the display's state went to the destination
    assert set(told) == set(session.opened)
    assert audio == ((ChannelType.PLAYBACK, 0) in told and (ChannelType.RECORD, 0) in told)
    assert told[(ChannelType.DISPLAY, 0)].flags & MigrateFlags.NEED_DATA_TRANSFER
    assert (ChannelType.DISPLAY, 0) in data
    # the display continued: same state object, surfaces kept, none created again
    assert session.display is display
    assert set(session.display.channel(0).surfaces) == set(surfaces)
    assert not [e for e in during if isinstance(e, SurfaceCreated)]


async def test_seamless_twice_through_three_qemus(qemu_factory: Callable[..., Qemu]) -> None:
    first, second, second_port = _pair(qemu_factory)
    third_port = free_tcp_port()
    third = qemu_factory(
        password="mig-pw",
        extra_spice=_SEAMLESS,
        extra_args=(*_BOOT_MENU, "-incoming", f"tcp:127.0.0.1:{third_port}"),
    )
    await trio.to_thread.run_sync(wait_text_screen, first)
    with trio.fail_after(300):
        uri = f"spice://127.0.0.1:{first.port}?password=mig-pw"
        async with spice_session.connect(uri) as session, collecting(session, _is_migration) as events:
            assert await matches(session, first)
            for n, (source, target, port) in enumerate(
                ((first, second, second_port), (second, third, third_port))
            ):
                await _migrate_seamlessly(source, target, port, lambda: events)
                await _until(
                    lambda n=n: sum(isinstance(e, MigrationCompleted) for e in events) > n,
                    f"MigrationCompleted {n + 1}",
                    lambda: events,
                )
                assert session.uri.port == target.port
                assert await matches(session, target)
            before = await trio.to_thread.run_sync(third.screendump)
            await session.inputs.key("esc")
            await _wait_changed(third, before)
            assert await matches(session, third)
    assert [e for e in events if isinstance(e, MigrationCompleted)] == [
        MigrationCompleted("seamless", f"127.0.0.1:{second.port}"),
        MigrationCompleted("seamless", f"127.0.0.1:{third.port}"),
    ]


async def test_refused_seamless_falls_back_to_semi_seamless(qemu_factory: Callable[..., Qemu]) -> None:
    # spice-server NACKs a seamless migration when it allows several clients at once
    source, target, migration_port = _pair(qemu_factory, target_env=(("SPICE_DEBUG_ALLOW_MC", "1"),))
    await trio.to_thread.run_sync(wait_text_screen, source)
    notices: list[spice_session.lowlevel.ReconnectNotice] = []
    seen: list[tuple[int | None, bool, list[Event]]] = []

    async def body(session: spice_session.Session) -> None:
        if not seen:
            on_source = await matches(session, source)
            async with collecting(session) as events:
                seen.append((session.uri.port, on_source, events))
                # the client's MigrationStarted("semi-seamless") comes with the NACK, right
                # before it says MIGRATE_CONNECTED: then the 2.5 s migration starts
                await _migrate_seamlessly(source, target, migration_port, lambda: seen[0][2])
                await trio.sleep_forever()  # cancelled by the switch
        first: list[Event] = []
        async for event in session.events():
            first.append(event)
            if isinstance(event, MigrationCompleted) or len(first) > 50:
                break
        seen.append((session.uri.port, await matches(session, target), first))

    with trio.fail_after(150):
        await spice_session.run_reconnecting(
            f"spice://127.0.0.1:{source.port}?password=mig-pw", body, on_reconnect=notices.append
        )
    assert [(port, ok) for port, ok, _ in seen] == [(source.port, True), (target.port, True)]
    assert len(notices) == 1 and notices[0].reason == "migrated"
    # the source offered seamless, the destination refused it: semi-seamless instead
    offered = [
        e
        for e in seen[0][2]
        if isinstance(e, MessageEvent) and isinstance(e.message, MainMigrateBeginSeamless)
    ]
    started = [e for e in seen[0][2] if isinstance(e, MigrationStarted)]
    assert len(offered) == 1 and started == [MigrationStarted("semi-seamless", f"127.0.0.1:{target.port}")]
    completed = [e for e in seen[1][2] if isinstance(e, MigrationCompleted)]
    assert completed == [MigrationCompleted("semi-seamless", f"127.0.0.1:{target.port}")]


async def test_a_vm_that_moves_later_than_the_timeout_still_migrates_seamlessly(
    qemu_factory: Callable[..., Qemu],
) -> None:
    # migration_timeout bounds the stalls (linking the destination, the handover once the
    # VM moved), not the VM's own move, which takes minutes for a big VM: here it starts
    # only well after the bound has passed, and the session still moves seamlessly
    source, target, migration_port = _pair(qemu_factory)
    await trio.to_thread.run_sync(wait_text_screen, source)
    timeout = 5.0
    with trio.fail_after(150):
        uri = f"spice://127.0.0.1:{source.port}?password=mig-pw"
        async with (
            spice_session.connect(uri, migration_timeout=timeout) as session,
            collecting(session) as events,
        ):
            assert await matches(session, source)
            await trio.to_thread.run_sync(announce, source, target)
            await _until(
                lambda: any(isinstance(e, MigrationStarted) for e in events),
                "MigrationStarted",
                lambda: [type(e).__name__ for e in events],
            )
            await trio.sleep(timeout + 3)  # the VM has not moved yet: nothing is given up
            assert not [e for e in events if isinstance(e, MigrationFailed)]
            assert await matches(session, source)  # still drawn by the source
            await trio.to_thread.run_sync(migrate, source, target, migration_port, True, _BANDWIDTH, True)
            await _until(
                lambda: any(isinstance(e, MigrationCompleted) for e in events),
                "MigrationCompleted",
                lambda: [type(e).__name__ for e in events],
            )
            assert session.uri.port == target.port
            assert await matches(session, target)
    kinds = [(type(e).__name__, getattr(e, "kind", None)) for e in events if hasattr(e, "kind")]
    assert kinds == [("MigrationStarted", "seamless"), ("MigrationCompleted", "seamless")]
