"""run_reconnecting against spice_server: reconnect with backoff after the server restarts,
an expired ticket reported as such, giving up, and following MIGRATE_SWITCH_HOST."""

from __future__ import annotations

import numpy as np
import pytest
import spice_net
import spice_server as ss
import spice_session
import trio
from peers.ports import free_tcp_port
from peers.server_task import serve_until as _serve_until
from peers.viewers import pattern_frame
from spice_proto import ChannelType, MainMigrateSwitchHost
from spice_session._reconnect import Backoff, ReconnectNotice, SessionLost, TicketExpired, run_reconnecting
from spice_session.events import ChannelOpened, Event, MigrationCompleted

W, H = 96, 64


def _fb(variant: int) -> ss.Framebuffer:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H, variant))
    return fb


async def test_reconnects_after_the_server_restarts(nursery: trio.Nursery) -> None:
    port = free_tcp_port()
    first_stop = trio.Event()
    await nursery.start(_serve_until, ss.Server(_fb(0)), port, first_stop)
    notices: list[ReconnectNotice] = []
    pictures: list[np.ndarray] = []

    async def restart() -> None:
        first_stop.set()
        await trio.sleep(0.4)  # the client retries meanwhile: refused, then back
        await nursery.start(_serve_until, ss.Server(_fb(1)), port, trio.Event())

    async def body(session: spice_session.Session) -> None:
        pictures.append((await session.screenshot(timeout=20)).to_rgb())
        if len(pictures) == 1:
            nursery.start_soon(restart)
            await trio.sleep_forever()  # cancelled when the session is lost

    with trio.fail_after(30):
        await run_reconnecting(
            f"spice://127.0.0.1:{port}",
            body,
            backoff=Backoff(first=0.1, factor=2, limit=0.2),
            on_reconnect=notices.append,
        )
    assert len(pictures) == 2
    assert np.array_equal(pictures[0], pattern_frame(W, H, 0)[:, :, 2::-1])
    assert np.array_equal(pictures[1], pattern_frame(W, H, 1)[:, :, 2::-1])
    assert notices and notices[0].attempt == 1 and not notices[0].migrated
    assert "reconnecting in 0.1 s (attempt 1)" in str(notices[0])


async def test_expired_ticket_is_reported_as_such(nursery: trio.Nursery) -> None:
    port = free_tcp_port()
    stop = trio.Event()
    await nursery.start(_serve_until, ss.Server(_fb(0), password="one-time"), port, stop)

    async def comeback() -> None:
        stop.set()  # the server goes; it comes back with another ticket
        await trio.sleep(0.3)
        await nursery.start(_serve_until, ss.Server(_fb(0), password="next-one"), port, trio.Event())

    async def body(session: spice_session.Session) -> None:
        nursery.start_soon(comeback)
        await trio.sleep_forever()

    with trio.fail_after(30), pytest.raises(TicketExpired, match="ticket expired") as info:
        await run_reconnecting(
            f"spice://127.0.0.1:{port}?password=one-time", body, backoff=Backoff(first=0.1)
        )
    assert isinstance(info.value, spice_net.AuthenticationFailed)


async def test_first_failure_is_raised_and_retries_give_up(nursery: trio.Nursery) -> None:
    port = free_tcp_port()
    with pytest.raises(spice_net.ConnectFailed):
        await run_reconnecting(f"spice://127.0.0.1:{port}", lambda s: trio.sleep(0))
    stop = trio.Event()
    await nursery.start(_serve_until, ss.Server(_fb(0)), port, stop)
    notices: list[ReconnectNotice] = []

    async def body(session: spice_session.Session) -> None:
        stop.set()
        await trio.sleep_forever()

    with trio.fail_after(30), pytest.raises(SessionLost, match="gave up after 3 reconnection attempts"):
        await run_reconnecting(
            f"spice://127.0.0.1:{port}",
            body,
            backoff=Backoff(first=0.05, attempts=3),
            on_reconnect=notices.append,
        )
    assert [n.attempt for n in notices] == [1, 2, 3]
    assert [n.delay for n in notices] == [0.05, 0.1, 0.2]


async def test_follows_switch_host(nursery: trio.Nursery) -> None:
    """A MIGRATE_SWITCH_HOST (as QEMU sends after migrating) moves the session to the new host."""
    port_a, port_b = free_tcp_port(), free_tcp_port()
    await nursery.start(_serve_until, ss.Server(_fb(0), password="pw"), port_a, trio.Event())
    await nursery.start(_serve_until, ss.Server(_fb(2), password="pw"), port_b, trio.Event())
    notices: list[ReconnectNotice] = []
    seen: list[tuple[int | None, np.ndarray]] = []
    first_events: list[Event] = []

    async def body(session: spice_session.Session) -> None:
        if seen:  # the new session announces the move before any channel's events
            async for event in session.events():
                first_events.append(event)
                if isinstance(event, MigrationCompleted) or len(first_events) > 20:
                    break
        seen.append((session.uri.port, (await session.screenshot(timeout=20)).to_rgb()))
        if len(seen) == 1:
            move = MainMigrateSwitchHost(port=port_b, sport=0xFFFF, host="127.0.0.1")
            session._observe((ChannelType.MAIN, 0), move)
            await trio.sleep_forever()

    with trio.fail_after(30):
        await run_reconnecting(f"spice://127.0.0.1:{port_a}?password=pw", body, on_reconnect=notices.append)
    assert [port for port, _ in seen] == [port_a, port_b]
    assert np.array_equal(seen[1][1], pattern_frame(W, H, 2)[:, :, 2::-1])
    assert len(notices) == 1 and notices[0].migrated
    assert str(notices[0]) == f"the VM moved: connecting to spice://127.0.0.1:{port_b}"
    assert [type(e) for e in first_events] == [ChannelOpened, MigrationCompleted]
    assert first_events[0].channel_type == ChannelType.MAIN
    assert first_events[1] == MigrationCompleted("switch-host", f"127.0.0.1:{port_b}")
