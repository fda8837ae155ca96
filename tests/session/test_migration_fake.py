"""Seamless migration between two scripted servers (spice_net's server side, no QEMU).

The source lists one display channel and, when told, sends MIGRATE_BEGIN_SEAMLESS naming
the destination; the destination answers MIGRATE_DST_DO_SEAMLESS as the test says (ACK,
NACK, nothing).  Then the source migrates main and display; what each side received is
recorded.  Also: a destination nobody listens on, one that never answers, a source
that sends MIGRATE_DATA nobody asked for, handovers that stall (given up after the
session's migration_timeout), and VMs that take longer than that to move (not given up).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from spice_session._migration import MigrationError
from spice_session.events import MigrationCompleted, MigrationFailed, MigrationStarted

T = sp.ChannelType
HOST = "127.0.0.1"
SESSION_ID = 0x5EA1
BOTH = sp.MigrateFlags.NEED_FLUSH | sp.MigrateFlags.NEED_DATA_TRANSFER
SURFACE = sp.DisplaySurfaceCreate(0, 16, 16, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)


@dataclass
class Pair:
    """The two servers' script and what they saw."""

    answer: str = "ack"  # the destination's answer to DO_SEAMLESS: ack, nack or none
    hostile: bool = False  # the source sends MIGRATE_DATA on display without MIGRATE
    cancel: bool = False  # the source cancels after MIGRATE_CONNECTED_SEAMLESS
    leave: bool = False  # the source closes its main channel right after MIGRATE_BEGIN_SEAMLESS
    drop_display: bool = False  # the source closes its display channel instead of migrating it
    dst_port: int = 0
    dst_host: str = HOST
    no_port: bool = False  # MIGRATE_BEGIN_SEAMLESS names neither a port nor a TLS port
    # where the source stalls after MIGRATE_CONNECTED(_SEAMLESS): "data" (MIGRATE on main,
    # no MIGRATE_DATA), "close" (closes its main channel instead)
    stall: str = ""
    semi: bool = False  # MIGRATE_BEGIN (semi-seamless), followed by MIGRATE_END only with move_after
    # seconds the VM's move takes: the source says MIGRATE (MIGRATE_END) that long after
    # the client said it is connected to the destination
    move_after: float = 0.0
    # the display's MIGRATE comes 0.5 s after main's MIGRATE_DATA; as libspice-server does,
    # the source drops every channel once the client closes its main channel
    slow_display: bool = False
    src_main_closed: trio.Event = field(default_factory=trio.Event)
    begin: trio.Event = field(default_factory=trio.Event)
    connected: trio.Event = field(default_factory=trio.Event)
    src_main_got: list[sp.Message | sp.UnknownMessage] = field(default_factory=list)
    src_display_got: list[sp.Message | sp.UnknownMessage] = field(default_factory=list)
    dst_links: list[tuple[int, int, int]] = field(default_factory=list)
    dst_got: dict[int, list[sp.Message | sp.UnknownMessage]] = field(default_factory=dict)
    dst_closed: list[int] = field(default_factory=list)


_Log = list[sp.Message | sp.UnknownMessage]


async def _receive_until(
    chan: spice_net.ServerChannel, kinds: tuple[type[sp.Message], ...], log: _Log
) -> sp.Message | sp.UnknownMessage:
    while True:
        message = await chan.receive()
        log.append(message)
        if isinstance(message, kinds):
            return message


async def _source_main(chan: spice_net.ServerChannel, pair: Pair) -> None:
    modes = sp.MouseMode.SERVER | sp.MouseMode.CLIENT
    await chan.send(sp.MainInit(SESSION_ID, 1, modes, sp.MouseMode.SERVER, False, 10, 0, 0))
    await _receive_until(chan, (sp.MainAttachChannels,), [])
    await chan.send(sp.MainChannelsList((sp.ChannelId(T.DISPLAY, 0),)))
    await pair.begin.wait()
    dst = sp.MigrationDstInfo(0 if pair.no_port else pair.dst_port, 0xFFFF, pair.dst_host)
    await chan.send(sp.MainMigrateBegin(dst) if pair.semi else sp.MainMigrateBeginSeamless(dst, 7))
    if pair.leave:
        return
    answers = (sp.MainMigrateConnectedSeamless, sp.MainMigrateConnected, sp.MainMigrateConnectError)
    answer = await _receive_until(chan, answers, pair.src_main_got)
    pair.connected.set()
    if pair.stall == "close":
        return
    await trio.sleep(pair.move_after)
    if pair.stall == "data":
        await chan.send(sp.Migrate(BOTH))
        await _receive_until(chan, (sp.MigrateFlushMark,), pair.src_main_got)
    elif pair.semi and pair.move_after:
        await chan.send(sp.MainMigrateEnd())
    elif pair.semi or pair.stall:
        pass  # the source never finishes
    elif pair.cancel:
        await chan.send(sp.MainMigrateCancel())
        await chan.send(sp.MainName("still the source"))
    elif isinstance(answer, sp.MainMigrateConnectedSeamless):
        await chan.send(sp.Migrate(BOTH))
        await _receive_until(chan, (sp.MigrateFlushMark,), pair.src_main_got)
        await chan.send(sp.MigrateData(b"MAIN-STATE"))
        if pair.slow_display:
            try:  # until the client closes it
                while True:
                    pair.src_main_got.append(await chan.receive())
            except spice_net.ChannelClosed:
                pair.src_main_closed.set()
    await trio.sleep_forever()


async def _source_display(chan: spice_net.ServerChannel, pair: Pair) -> None:
    pair.src_display_got.append(await chan.receive())  # DISPLAY_INIT
    await chan.send(SURFACE)
    await chan.send(sp.DisplayMark())
    await pair.connected.wait()
    await trio.sleep(pair.move_after)
    if pair.drop_display:
        return
    if pair.hostile:
        await chan.send(sp.MigrateData(b"nobody asked"))
    elif (
        not pair.cancel
        and not pair.stall
        and pair.src_main_got
        and isinstance(pair.src_main_got[-1], sp.MainMigrateConnectedSeamless)
    ):
        if pair.slow_display:
            with trio.move_on_after(0.5):
                await pair.src_main_closed.wait()
            if pair.src_main_closed.is_set():
                return  # the client is gone for libspice-server
        await chan.send(sp.Migrate(BOTH))
        await _receive_until(chan, (sp.MigrateFlushMark,), pair.src_display_got)
        await chan.send(sp.MigrateData(b"DISPLAY-STATE"))
    await trio.sleep_forever()


async def _destination(chan: spice_net.ServerChannel, pair: Pair) -> None:
    got = pair.dst_got.setdefault(int(chan.channel_type), [])
    if chan.channel_type == T.MAIN and chan.connection_id == 0:  # a new session, no migration
        modes = sp.MouseMode.SERVER | sp.MouseMode.CLIENT
        await chan.send(sp.MainInit(SESSION_ID + 1, 1, modes, sp.MouseMode.SERVER, False, 10, 0, 0))
        await _receive_until(chan, (sp.MainAttachChannels,), got)
        await chan.send(sp.MainChannelsList(()))
        await chan.send(sp.MainName("a new session on the destination"))
        await trio.sleep_forever()
    if chan.channel_type == T.MAIN and pair.semi:  # the session comes over once the VM did
        await _receive_until(chan, (sp.MainClientMigrateEnd,), got)
        modes = sp.MouseMode.SERVER | sp.MouseMode.CLIENT
        await chan.send(sp.MainInit(SESSION_ID, 1, modes, sp.MouseMode.SERVER, False, 10, 0, 0))
        await _receive_until(chan, (sp.MainAttachChannels,), got)
        await chan.send(sp.MainChannelsList(()))
        await chan.send(sp.MainName("the destination"))
        await trio.sleep_forever()
    if chan.channel_type == T.MAIN:
        await _receive_until(chan, (sp.MainMigrateDstDoSeamless,), got)
        while pair.answer == "none":  # silent, until the client closes the channel
            got.append(await chan.receive())
        await chan.send(
            sp.MainMigrateDstSeamlessAck() if pair.answer == "ack" else sp.MainMigrateDstSeamlessNack()
        )
    got.append(await chan.receive())  # the client's MIGRATE_DATA comes first
    if chan.channel_type == T.MAIN:
        await chan.send(sp.MainName("the destination"))
    await trio.sleep_forever()


async def _serve(pair: Pair, source: bool, stream: trio.SocketStream) -> None:
    try:
        chan = await spice_net.accept_channel(stream, password=None)
    except spice_net.SpiceNetError:
        return
    async with chan:
        try:
            if not source:
                pair.dst_links.append((int(chan.channel_type), chan.channel_id, chan.connection_id))
                await _destination(chan, pair)
            elif chan.channel_type == T.MAIN:
                await _source_main(chan, pair)
            else:
                await _source_display(chan, pair)
        except spice_net.ChannelClosed:
            if not source:
                pair.dst_closed.append(int(chan.channel_type))


@asynccontextmanager
async def servers(pair: Pair, destination: bool = True) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(_serve, pair, True), 0, host="127.0.0.1")
        )
        if destination:
            dst = await nursery.start(
                partial(trio.serve_tcp, partial(_serve, pair, False), 0, host="127.0.0.1")
            )
            pair.dst_port = dst[0].socket.getsockname()[1]
        else:  # a port nobody listens on
            with trio.socket.socket() as sock:
                await sock.bind(("127.0.0.1", 0))
                pair.dst_port = sock.getsockname()[1]
        yield f"spice://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def _events_until(session: ss.Session, done: type) -> list[ss.events.Event]:
    seen: list[ss.events.Event] = []
    async for event in session.events():
        seen.append(event)
        if isinstance(event, done):
            return seen
    raise AssertionError(f"the events ended without {done.__name__}: {seen}")


async def test_seamless_switches_each_channel_after_handing_its_data_over() -> None:
    pair = Pair()
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            await session.screenshot()
            primary = session.display.primary
            pair.begin.set()
            events = await _events_until(session, MigrationCompleted)
            while session.name != "the destination":  # read from the destination's main now
                await trio.sleep(0.01)
            assert session.display.primary is primary  # kept, not created again
            assert session.uri.port == pair.dst_port
            assert session.migrated_to == sp.MigrationDstInfo(pair.dst_port, 0xFFFF, "127.0.0.1")
    where = f"127.0.0.1:{pair.dst_port}"
    assert [e for e in events if isinstance(e, (MigrationStarted, MigrationCompleted))] == [
        MigrationStarted("seamless", where),
        MigrationCompleted("seamless", where),
    ]
    assert sorted(pair.dst_links) == [(T.MAIN, 0, SESSION_ID), (T.DISPLAY, 0, SESSION_ID)]
    assert pair.dst_got[T.MAIN] == [sp.MainMigrateDstDoSeamless(7), sp.ClientMigrateData(b"MAIN-STATE")]
    assert pair.dst_got[T.DISPLAY] == [sp.ClientMigrateData(b"DISPLAY-STATE")]  # no DISPLAY_INIT
    assert isinstance(pair.src_main_got[-1], sp.MigrateFlushMark)
    assert isinstance(pair.src_display_got[-1], sp.MigrateFlushMark)


async def test_a_nack_leaves_the_linked_main_channel_for_semi_seamless() -> None:
    pair = Pair(answer="nack")
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            pair.begin.set()
            events = await _events_until(session, MigrationStarted)
            await session.migrating.wait()
            assert session.migration_main is not None
            assert isinstance(session.migrate_begin, sp.MainMigrateBeginSeamless)
    assert events[-1] == MigrationStarted("semi-seamless", f"127.0.0.1:{pair.dst_port}")
    assert pair.dst_links == [(T.MAIN, 0, SESSION_ID)]  # nothing else linked
    assert not pair.connected.is_set()  # CONNECTED is run_reconnecting's to send


@pytest.mark.parametrize("answer", ["unreachable", "none"])
async def test_a_destination_that_fails_gets_connect_error(answer: str) -> None:
    pair = Pair(answer=answer)
    alive = answer != "unreachable"
    with trio.fail_after(20):
        async with servers(pair, destination=alive) as uri, ss.connect(uri, timeout=1.0) as session:
            pair.begin.set()
            await pair.connected.wait()
            assert session.main is session.opened[(T.MAIN, 0)]
            assert session.uri.port != pair.dst_port  # still on the source
            failed = (await _events_until(session, MigrationFailed))[-1]  # queued before the refusal
    assert isinstance(pair.src_main_got[-1], sp.MainMigrateConnectError)
    assert isinstance(failed, MigrationFailed) and failed.reason.startswith("cannot link the destination")


async def test_migrate_data_nobody_asked_for_ends_the_session_with_migration_error() -> None:
    pair = Pair(hostile=True)
    with trio.fail_after(20):
        async with servers(pair) as uri:
            with pytest.raises(MigrationError, match="without a MIGRATE"):  # noqa: PT012
                async with ss.connect(uri) as session:
                    pair.begin.set()
                    async for _ in session.events():
                        pass
                    raise AssertionError("the session ended without the error")


async def test_migrate_cancel_closes_the_destination_and_stays_on_the_source() -> None:
    pair = Pair(cancel=True)
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            pair.begin.set()
            await pair.connected.wait()
            while session.name != "still the source" or len(pair.dst_closed) < 2:
                await trio.sleep(0.01)
            assert session._move is None
            assert session.uri.port != pair.dst_port and session.migrated_to is None
    assert sorted(pair.dst_closed) == [T.MAIN, T.DISPLAY]


@pytest.mark.parametrize(
    ("host", "no_port"),
    [("", False), ("a" * 300, False), ("host name with spaces", False), (HOST, True)],
    ids=["empty-host", "300-char-label", "spaces", "no-port"],
)
async def test_a_destination_that_cannot_be_named_gets_connect_error(host: str, no_port: bool) -> None:
    pair = Pair(dst_host=host, no_port=no_port)
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri, timeout=1.0) as session:
            pair.begin.set()
            await pair.connected.wait()
            assert session.uri.port != pair.dst_port and session._move is None
    assert isinstance(pair.src_main_got[-1], sp.MainMigrateConnectError)
    assert pair.dst_links == []


async def test_a_source_that_leaves_mid_migration_just_ends_the_session() -> None:
    pair = Pair(answer="none", leave=True)  # we wait for the destination; the source goes
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri, timeout=1.0) as session:
            pair.begin.set()
            async for event in session.events():
                if isinstance(event, ss.events.SessionClosed):
                    break
            # the destination never answers: after its timeout the client gives up on it,
            # and the refusal it cannot send to the gone source raises nothing
            while T.MAIN not in pair.dst_closed:
                await trio.sleep(0.05)
            assert session._move is None and session.lost.is_set()


async def test_a_channel_the_source_closes_mid_migration_does_not_hold_the_switch() -> None:
    pair = Pair(drop_display=True)
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            pair.begin.set()
            events = await _events_until(session, MigrationCompleted)
            while T.DISPLAY not in pair.dst_closed:  # its unused twin is closed
                await trio.sleep(0.01)
            assert session.uri.port == pair.dst_port and session._move is None
    assert ss.events.ChannelEnded(T.DISPLAY, 0) in events
    assert pair.dst_got[T.MAIN][-1] == sp.ClientMigrateData(b"MAIN-STATE")


def _kinds(events: list[ss.events.Event]) -> list[tuple[str, str]]:
    return [
        (type(e).__name__, e.kind)
        for e in events
        if isinstance(e, (MigrationStarted, MigrationCompleted, MigrationFailed))
    ]


async def test_a_vm_slower_to_move_than_the_timeout_still_moves_seamlessly() -> None:
    # the bound is for stalls (linking, the handover), not for the VM's memory moving
    pair = Pair(move_after=1.5)
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri, migration_timeout=0.5) as session:
            pair.begin.set()
            events = await _events_until(session, MigrationCompleted)
            assert session.uri.port == pair.dst_port
    assert _kinds(events) == [("MigrationStarted", "seamless"), ("MigrationCompleted", "seamless")]
    assert pair.dst_got[T.DISPLAY] == [sp.ClientMigrateData(b"DISPLAY-STATE")]


async def test_a_handover_that_stalls_after_the_vm_moved_reconnects_to_the_destination() -> None:
    pair = Pair(stall="data")  # MIGRATE on main, then no MIGRATE_DATA
    seen: list[list[ss.events.Event]] = []

    async def body(session: ss.Session) -> None:
        seen.append([])
        if len(seen) == 1:
            session.migration_timeout = 1.0
            pair.begin.set()
        async for event in session.events():
            seen[-1].append(event)
            if len(seen) == 2 and isinstance(event, ss.events.MainEvent):
                return  # the new session on the destination talks

    with trio.fail_after(20):
        async with servers(pair) as uri:
            await ss.run_reconnecting(uri, body)
    where = f"127.0.0.1:{pair.dst_port}"
    # the switch cancels the first body, maybe before it read the MigrationStarted("switch-host")
    assert _kinds(seen[0])[:2] == [("MigrationStarted", "seamless"), ("MigrationFailed", "seamless")]
    assert _kinds(seen[1]) == [("MigrationCompleted", "switch-host")]
    assert MigrationCompleted("switch-host", where) in seen[1]
    assert (T.MAIN, 0, 0) in pair.dst_links  # a fresh session there
    assert T.MAIN in pair.dst_got and sp.MainAttachChannels() in pair.dst_got[T.MAIN]


async def test_a_source_that_closes_mid_migration_does_not_complete_it() -> None:
    pair = Pair(stall="close")  # the source closes its main channel instead of migrating
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            pair.begin.set()
            events = await _events_until(session, MigrationFailed)
            events += await _events_until(session, MigrationStarted)
            assert session.switched.is_set() and session.switch_host is not None
            assert session.switch_host.port == pair.dst_port
            assert session.migrated_to is None  # no MigrationCompleted("seamless") for this
    assert _kinds(events) == [
        ("MigrationStarted", "seamless"),
        ("MigrationFailed", "seamless"),
        ("MigrationStarted", "switch-host"),
    ]


async def test_semi_seamless_waits_for_a_vm_slower_to_move_than_the_timeout() -> None:
    pair = Pair(semi=True, move_after=1.5)
    seen: list[list[ss.events.Event]] = []

    async def body(session: ss.Session) -> None:
        seen.append([])
        if len(seen) == 1:
            pair.begin.set()
        async for event in session.events():
            seen[-1].append(event)
            if isinstance(event, MigrationCompleted):
                return

    with trio.fail_after(20):
        async with servers(pair) as uri:
            await ss.run_reconnecting(uri, body, migration_timeout=0.5)
    assert _kinds(seen[0]) == [("MigrationStarted", "semi-seamless")]  # then the switch cancelled it
    assert seen[1][1] == MigrationCompleted("semi-seamless", f"127.0.0.1:{pair.dst_port}")
    assert isinstance(pair.src_main_got[-1], sp.MainMigrateConnected)
    assert pair.dst_links == [(T.MAIN, 0, SESSION_ID)]  # the main channel linked for it
    assert sp.MainClientMigrateEnd() in pair.dst_got[T.MAIN]


async def test_the_source_main_channel_stays_open_until_every_channel_switched() -> None:
    # closing the source's main channel ends the client there: a channel whose MIGRATE
    # comes later must still get it and hand its data over
    pair = Pair(slow_display=True)
    with trio.fail_after(20):
        async with servers(pair) as uri, ss.connect(uri) as session:
            pair.begin.set()
            events = await _events_until(session, MigrationCompleted)
            assert session.uri.port == pair.dst_port
            while not pair.src_main_closed.is_set():  # closed once the move is over
                await trio.sleep(0.01)
    assert pair.dst_got[T.DISPLAY] == [sp.ClientMigrateData(b"DISPLAY-STATE")]
    assert isinstance(pair.src_display_got[-1], sp.MigrateFlushMark)
    assert ss.events.ChannelEnded(T.DISPLAY, 0) not in events
