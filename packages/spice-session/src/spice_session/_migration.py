"""Seamless live migration: the session moves to the destination server and keeps its state.

The source says MAIN_MIGRATE_BEGIN_SEAMLESS (where, and its migration protocol version).
:func:`prepare_seamless` links the destination's main channel with our session id, asks
it MIGRATE_DST_DO_SEAMLESS and, on MIGRATE_DST_SEAMLESS_ACK, links every other channel
the session has there too, then tells the source MIGRATE_CONNECTED_SEAMLESS.  When the
VM has moved the source sends MIGRATE on each channel: the client answers
MIGRATE_FLUSH_MARK when asked, takes the channel's MIGRATE_DATA, switches that channel
to its destination twin and hands the data on unchanged as the client's MIGRATE_DATA
(:class:`SeamlessHandover` decides this without I/O).  Surfaces, caches, agent and input
state stay where they are.  A NACK falls back to semi-seamless (``run_reconnecting``
takes over the linked main channel); a failed link is answered MIGRATE_CONNECT_ERROR
and the source falls back to MIGRATE_SWITCH_HOST.

A migration's stalls are bounded by ``session.migration_timeout`` seconds: linking the
destination (from the source's MIGRATE_BEGIN_SEAMLESS; on failure MIGRATE_CONNECT_ERROR)
and the handover (from the source's first MIGRATE, when the VM has moved: the session is
frozen until every channel switched).  A handover not done by then is abandoned
(:class:`MigrationFailed`) and the session falls back to a fresh one on the destination,
as if the source had said MIGRATE_SWITCH_HOST.  Between the two the VM's memory moves,
which takes as long as it takes (minutes for a big VM): the session keeps running on the
source, which ends the wait with MIGRATE, MIGRATE_CANCEL or by closing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

import spice_net
import trio
from spice_net import Channel
from spice_proto import (
    ChannelType,
    ClientMigrateData,
    MainMigrateBegin,
    MainMigrateBeginSeamless,
    MainMigrateCancel,
    MainMigrateConnectedSeamless,
    MainMigrateConnectError,
    MainMigrateDstDoSeamless,
    MainMigrateDstSeamlessAck,
    MainMigrateDstSeamlessNack,
    MainMigrateSwitchHost,
    Message,
    Migrate,
    MigrateData,
    MigrateFlags,
    MigrateFlushMark,
    MigrationDstInfo,
)
from spice_proto.lowlevel import frozen

from ._connector import Connector
from ._errors import SessionError
from ._events import Event

if TYPE_CHECKING:
    from ._agent import Agent
    from ._eventstream import EventStream
    from ._inputs import Inputs
    from ._uri import SpiceURI


class MigratingSession(Protocol):
    """What a migration reads and switches of :class:`spice_session.Session` (a protocol,
    so that this module does not import the session's)."""

    uri: SpiceURI
    tls: bool
    main: Channel
    session_id: int
    agent: Agent
    opened: dict[tuple[ChannelType, int], Channel]
    migrating: trio.Event
    migrate_begin: MainMigrateBegin | MainMigrateBeginSeamless | None
    migration_main: tuple[Channel, bool] | None
    migrated_to: MigrationDstInfo | None
    migration_timeout: float | None
    switch_host: MainMigrateSwitchHost | None
    switched: trio.Event
    lost: trio.Event
    _connector: Connector | None
    _move: SeamlessMove | None
    _ended: set[tuple[ChannelType, int]]
    _inputs: Inputs | None
    _events: EventStream
    _migration_queue: trio.MemoryReceiveChannel[MainMigrateBeginSeamless | MainMigrateCancel]


__all__ = [
    "DEFAULT_MIGRATION_TIMEOUT",
    "MigrationCompleted",
    "MigrationError",
    "MigrationFailed",
    "MigrationKind",
    "MigrationStarted",
    "SeamlessHandover",
    "SeamlessMove",
    "answer_migrations",
    "channel_ended",
    "destination_connector",
    "prepare_seamless",
    "switch_channel",
    "where",
]

#: How the session followed the VM: seamless (same session, state handed over), semi-seamless
#: (a new session on the destination's pre-linked main channel) or switch-host (a new session).
MigrationKind = Literal["seamless", "semi-seamless", "switch-host"]

log = logging.getLogger("spice_session.migration")

#: Seconds linking the destination may take (from the source's MIGRATE_BEGIN), and the
#: handover (from the source's first MIGRATE until every channel runs on the destination).
DEFAULT_MIGRATION_TIMEOUT = 30.0

#: Messages the destination's main channel may send before its ACK/NACK (SET_ACK, PING...).
_MAX_EARLY_MESSAGES = 64

_K = TypeVar("_K")
_Key = tuple[ChannelType, int]
#: How long closing a channel may take.
_CLOSE_TIMEOUT = 2.0


class MigrationError(SessionError):
    """The destination of a migration answered what the protocol does not allow."""


@frozen
class MigrationStarted(Event):
    """The server is moving the VM to ``target`` (``host:port``); the client follows as ``kind`` says."""

    kind: MigrationKind
    target: str


@frozen
class MigrationCompleted(Event):
    """The session now talks to the migration destination ``target``."""

    kind: MigrationKind
    target: str


@frozen
class MigrationFailed(Event):
    """The migration to ``target`` was abandoned (``reason``).  When the destination could
    not be linked the session stays on the source (which moves the VM and then says
    SWITCH_HOST); when a seamless handover stalled or the source left mid-migration a
    ``MigrationStarted("switch-host", target)`` follows
    (:func:`~spice_session.run_reconnecting` then opens a new session there)."""

    kind: MigrationKind
    target: str
    reason: str


class SeamlessHandover(Generic[_K]):
    """Which channels still have to switch to the destination, and what to send when (no I/O).

    ``keys`` are the channels linked on the destination.  For each, the source's MIGRATE
    goes to :meth:`migrate`, a MIGRATE_DATA that follows it to :meth:`data`; once the
    channel switched, :meth:`switched` says whether it was the last.
    """

    def __init__(self, keys: Iterable[_K]) -> None:
        self.left: set[_K] = set(keys)
        self._awaiting_data: set[_K] = set()

    def covers(self, key: _K) -> bool:
        """Whether ``key`` is linked on the destination and not switched yet."""
        return key in self.left

    def migrate(self, key: _K, flags: MigrateFlags) -> tuple[list[Message], bool]:
        """The source's MIGRATE on ``key``: what to send back on it, and whether to switch now
        (``False``: wait for its MIGRATE_DATA)."""
        if key not in self.left:
            raise MigrationError(f"MIGRATE on channel {key} that has no destination channel")
        replies: list[Message] = [MigrateFlushMark()] if flags & MigrateFlags.NEED_FLUSH else []
        if flags & MigrateFlags.NEED_DATA_TRANSFER:
            self._awaiting_data.add(key)
            return replies, False
        return replies, True

    def data(self, key: _K, message: MigrateData) -> ClientMigrateData:
        """The source's MIGRATE_DATA on ``key``: the message for its destination twin."""
        if key not in self._awaiting_data:
            raise MigrationError(f"MIGRATE_DATA on channel {key} without a MIGRATE asking for it")
        self._awaiting_data.discard(key)
        return ClientMigrateData(message.data)

    def switched(self, key: _K) -> bool:
        """``key`` now runs on the destination; ``True`` when it was the last channel."""
        self.left.discard(key)
        return not self.left


@dataclass
class SeamlessMove:
    """A seamless migration under way: where to, and the destination twins not switched yet."""

    connector: Connector
    dst: MigrationDstInfo
    targets: dict[_Key, Channel]
    handover: SeamlessHandover[_Key]
    #: Whether the destination's channels run over TLS.
    tls: bool = False
    #: Set once the move completed or was given up.
    done: trio.Event = dataclasses.field(default_factory=trio.Event)
    #: Set when the source said MIGRATE on a channel (the VM runs on the destination now).
    moved: trio.Event = dataclasses.field(default_factory=trio.Event)
    #: Source channels already switched away, closed once the move is over: closing the
    #: source's main channel ends all the others there, before their FLUSH_MARK or data.
    sources: list[Channel] = dataclasses.field(default_factory=list)


def destination_connector(connector: Connector, dst: MigrationDstInfo) -> Connector:
    """How to reach the migration destination: its host and ports, the rest as before
    (password, CA, proxy); its certificate subject when the server gave one."""
    uri = dataclasses.replace(
        connector.uri,
        host=dst.host,
        port=dst.port or None,
        tls_port=dst.sport if dst.sport not in (0, 0xFFFF) else None,
        unix_path=None,
    )
    subject = dst.cert_subject or connector.host_subject
    return dataclasses.replace(connector, uri=uri, host_subject=subject)


def where(dst: MigrationDstInfo | MainMigrateSwitchHost) -> str:
    """``host:port`` of a migration destination (its TLS port when it has only that)."""
    port = dst.port or (dst.sport if dst.sport not in (0, 0xFFFF) else 0)
    return f"{dst.host}:{port}"


async def _seamless_answer(main: Channel, timeout: float) -> bool:
    """Read the destination main channel's ACK (``True``) or NACK (``False``)."""
    with trio.fail_after(timeout):
        for _ in range(_MAX_EARLY_MESSAGES):
            message = await main.receive()
            if isinstance(message, MainMigrateDstSeamlessAck):
                return True
            if isinstance(message, MainMigrateDstSeamlessNack):
                return False
    raise MigrationError(
        f"the migration destination sent {_MAX_EARLY_MESSAGES} messages but no seamless answer"
    )


async def _close_all(channels: Iterable[Channel]) -> None:
    with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_TIMEOUT):
        for channel in channels:
            await channel.aclose()


async def prepare_seamless(
    session: MigratingSession,
    begin: MainMigrateBeginSeamless,
    connector: Connector,
    deadline: float = math.inf,
) -> SeamlessMove | None:
    """Link the destination for a seamless migration and tell the source how it went;
    the move under way (also in ``session._move``) after an ACK.

    ACK: every channel the session opened gets a destination twin (linked in parallel),
    kept in ``session._move`` until the source's MIGRATE switches it.  NACK: the
    linked main channel waits in ``session.migration_main`` for ``run_reconnecting``'s
    semi-seamless path.  Any failure, or no answer by ``deadline`` (trio time):
    MIGRATE_CONNECT_ERROR (the source will say SWITCH_HOST).
    """
    target = destination_connector(connector, begin.dst_info)
    linked: dict[_Key, Channel] = {}
    try:
        with trio.fail_at(deadline):
            main, tls = await target.open(ChannelType.MAIN, 0, session.session_id, tls=target.uri.tls_only)
            linked[(ChannelType.MAIN, 0)] = main
            await main.send(MainMigrateDstDoSeamless(begin.src_mig_version))
            if not await _seamless_answer(main, target.timeout):
                session._events.put(MigrationStarted("semi-seamless", where(begin.dst_info)), force=True)
                session.migration_main = (main, tls)
                session.migrate_begin = begin
                session.migrating.set()
                return None
            others = [key for key in session.opened if key not in linked and key not in session._ended]
            await _link_twins(target, session.session_id, tls, others, linked)
    except (spice_net.SpiceNetError, MigrationError, trio.TooSlowError) as exc:
        reason = f"cannot link the destination: {exc or 'timed out'}"
        log.warning("seamless migration to %s abandoned (%s)", where(begin.dst_info), reason)
        session._events.put(MigrationFailed("seamless", where(begin.dst_info), reason), force=True)
        await _close_all(linked.values())
        await session.main.send(MainMigrateConnectError())
        return None
    except BaseException:
        await _close_all(linked.values())
        raise
    move = session._move = SeamlessMove(target, begin.dst_info, linked, SeamlessHandover(linked), tls)
    session._events.put(MigrationStarted("seamless", where(begin.dst_info)), force=True)
    await session.main.send(MainMigrateConnectedSeamless())
    return move


async def _link_twins(
    target: Connector, session_id: int, tls: bool, keys: list[_Key], linked: dict[_Key, Channel]
) -> None:
    """Link ``keys`` on the destination all at once into ``linked`` (the source finishes the
    VM's move without waiting for us); the first failure cancels the rest and is raised."""
    failed: list[spice_net.SpiceNetError] = []

    async def link(key: _Key) -> None:
        try:
            linked[key], _ = await target.open(key[0], key[1], session_id, tls=tls)
        except spice_net.SpiceNetError as exc:
            failed.append(exc)
            nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        for key in keys:
            nursery.start_soon(link, key)
    if failed:
        raise failed[0]


async def answer_migrations(session: MigratingSession) -> None:
    """Answer the source's seamless migration requests (and cancels), one at a time, and
    give up a link or a handover that takes more than ``session.migration_timeout``
    seconds; until the source closes its main channel (its reader reports that)."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_drop_on_switch_host, session)
        try:
            async for request in session._migration_queue:
                if isinstance(request, MainMigrateCancel):
                    await _drop(session)  # the VM stays on the source
                elif session._connector is None or session._move is not None:
                    await session.main.send(MainMigrateConnectError())
                else:
                    timeout = session.migration_timeout
                    deadline = math.inf if timeout is None else trio.current_time() + timeout
                    move = await prepare_seamless(session, request, session._connector, deadline)
                    if move is not None and session.switched.is_set():
                        await _drop(session)  # the source said SWITCH_HOST meanwhile
                    elif move is not None:
                        nursery.start_soon(_watch, session, move, timeout)
        except spice_net.ChannelClosed:
            await _drop(session)
        nursery.cancel_scope.cancel()


async def _drop_on_switch_host(session: MigratingSession) -> None:
    """MIGRATE_SWITCH_HOST ends a seamless migration: its destination twins are not needed."""
    await session.switched.wait()
    await _drop(session)


async def _watch(session: MigratingSession, move: SeamlessMove, timeout: float | None) -> None:
    """Abandon ``move`` when its handover has not completed ``timeout`` seconds after the VM
    moved (the source's first MIGRATE); the move itself may take as long as it needs."""
    if timeout is None:
        return
    async with trio.open_nursery() as nursery:

        async def stop_on(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(stop_on, move.done)
        nursery.start_soon(stop_on, move.moved)
    with trio.move_on_after(timeout):
        await move.done.wait()
        return
    if session._move is move:
        await _abandon(session, move, f"the handover took more than {timeout:g} s")


async def _abandon(session: MigratingSession, move: SeamlessMove, reason: str) -> None:
    """Give up ``move`` (the VM moved, or the source is gone): fall back to a new session on
    the destination, as SWITCH_HOST would; close its twins and the source's channels."""
    session._move = None
    move.done.set()
    target = where(move.dst)
    session._events.put(MigrationFailed("seamless", target, reason), force=True)
    log.warning("seamless migration to %s abandoned (%s): reconnecting there", target, reason)
    _fall_back(session, move.dst)
    await _close_all([*move.targets.values(), *move.sources])


def _fall_back(session: MigratingSession, dst: MigrationDstInfo) -> None:
    """A new session on ``dst`` instead of the handover: what SWITCH_HOST asks for."""
    session.switch_host = MainMigrateSwitchHost(dst.port, dst.sport, dst.host, dst.cert_subject)
    session._events.put(MigrationStarted("switch-host", where(dst)), force=True)
    session.switched.set()


async def _drop(session: MigratingSession) -> None:
    """Forget a migration that will not happen: close what was linked on the destination."""
    move, session._move = session._move, None
    if move is not None:
        move.done.set()
        await _close_all([*move.targets.values(), *move.sources])


async def switch_channel(
    session: MigratingSession, key: _Key, channel: Channel, message: Migrate | MigrateData
) -> Channel:
    """One step of a channel's seamless switch (the source's MIGRATE or MIGRATE_DATA on
    ``channel``); the channel to read from next, its destination twin once switched."""
    move = session._move
    assert move is not None
    if isinstance(message, Migrate):
        move.moved.set()
        replies, now = move.handover.migrate(key, message.flags)
        for reply in replies:
            await channel.send(reply)
        if not now:
            return channel
        forward = None
    else:
        forward = move.handover.data(key, message)
    twin = move.targets[key]
    if forward is not None:
        await twin.send(forward)  # the twin's first message from us
    del move.targets[key]
    move.sources.append(channel)
    session.opened[key] = twin
    if key[0] == ChannelType.MAIN:
        session.main = twin
        session.agent.rebind(twin)
    elif (
        key[0] == ChannelType.INPUTS and session._inputs is not None and session._inputs.channel_id == key[1]
    ):
        session._inputs.rebind(twin)
    if session._move is not move:  # given up meanwhile
        await _close_all([channel])
    elif move.handover.switched(key):
        await _arrived(session, move)
    return twin


async def channel_ended(session: MigratingSession, key: _Key) -> None:
    """The server closed ``key``: no MIGRATE will come for it, its twin is not needed.
    Without its main channel the source is gone: the migration cannot complete."""
    session._ended.add(key)
    move = session._move
    if move is not None and key == (ChannelType.MAIN, 0) and move.handover.covers(key):
        await _abandon(session, move, "the source closed its main channel")
    elif move is not None and move.handover.covers(key):
        await _close_all([move.targets.pop(key)])
        if move.handover.switched(key) and session._move is move:
            await _arrived(session, move)


async def _arrived(session: MigratingSession, move: SeamlessMove) -> None:
    """Every channel runs on the destination now: the session is there (the source's
    channels are closed)."""
    session._move = None
    move.done.set()
    session._connector, session.uri, session.tls = move.connector, move.connector.uri, move.tls
    session.migrated_to = move.dst
    session._events.put(MigrationCompleted("seamless", where(move.dst)), force=True)
    await _close_all(move.sources)
