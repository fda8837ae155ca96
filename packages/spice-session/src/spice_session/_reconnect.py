"""Keep a session alive: reconnect with backoff when the server goes, follow a VM that moves.

:func:`run_reconnecting` calls ``body(session)`` for each connection.  When the body
ends because the connection was lost, it waits (``Backoff``) and connects again; when the
server says MIGRATE_SWITCH_HOST (QEMU migrated the VM to another host), the body is
cancelled and the next session opens on the new host at once.  A password refused after a
successful connection means the one-time ticket has expired: :class:`TicketExpired`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import spice_net
import trio
from spice_net import Channel
from spice_proto import (
    ChannelType,
    MainClientMigrateEnd,
    MainMigrateConnected,
    MainMigrateConnectError,
    MainMigrateSwitchHost,
    MigrationDstInfo,
)
from spice_proto.lowlevel import frozen

from ._carry import CarriedState, carried_state, restore_agent, restore_inputs
from ._connector import ConnectTarget, is_vv_path, make_connector
from ._errors import SessionError
from ._migration import MigrationCompleted, where
from ._session import Session, connect
from ._uri import SpiceURI, parse_uri
from ._vv import VVFile, load_vv

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

_Destination = MainMigrateSwitchHost | MigrationDstInfo
#: The connect() options a Connector is made from.
_CONNECTOR_OPTIONS = ("password", "ca_file", "host_subject", "timeout", "opus", "proxy")

__all__ = ["Backoff", "ReconnectNotice", "SessionLost", "TicketExpired", "run_reconnecting"]


#: What ends a session in a way worth reconnecting after.
_LOST = (
    spice_net.ChannelClosed,
    spice_net.ConnectFailed,
    spice_net.ConnectTimeout,
    spice_net.NotSpiceServer,
    spice_net.ProtocolViolation,
)


class TicketExpired(spice_net.AuthenticationFailed):
    """The server refused, on reconnecting, the password it had accepted: a one-time ticket expired."""


class SessionLost(SessionError):
    """The connection was lost and every reconnection attempt failed."""


@frozen
class Backoff:
    """Reconnection delays: ``first`` seconds, times ``factor`` each attempt, at most ``limit``;
    ``attempts`` tries in all (``None``: forever)."""

    first: float = 0.5
    factor: float = 2.0
    limit: float = 8.0
    attempts: int | None = 10

    def delays(self) -> Iterator[float]:
        delay, n = self.first, 0
        while self.attempts is None or n < self.attempts:
            yield delay
            delay, n = min(self.limit, delay * self.factor), n + 1


@frozen
class ReconnectNotice:
    """What a banner shows: why, which attempt, how long until it, and where (``migrated``: a switch)."""

    reason: str
    attempt: int
    delay: float
    target: str
    migrated: bool = False

    def __str__(self) -> str:
        if self.migrated:
            return f"the VM moved: connecting to {self.target}"
        return f"connection lost ({self.reason}); reconnecting in {self.delay:g} s (attempt {self.attempt})"


def _resolved(target: ConnectTarget) -> SpiceURI | VVFile:
    """The target read once (a .vv file may delete itself when read)."""
    if isinstance(target, (SpiceURI, VVFile)):
        return target
    if is_vv_path(target):
        return load_vv(target)
    return parse_uri(str(target))


def _switched(target: SpiceURI | VVFile, message: _Destination) -> tuple[SpiceURI | VVFile, str | None]:
    """Where MIGRATE_SWITCH_HOST or MIGRATE_BEGIN sends us, keeping the rest (password, CA, proxy...)."""
    port = message.port or None
    sport = message.sport if message.sport not in (0, 0xFFFF) else None
    subject = message.cert_subject or None
    if isinstance(target, VVFile):
        moved = dataclasses.replace(target, host=message.host, port=port, tls_port=sport, unix_path=None)
        if subject is not None:
            moved = dataclasses.replace(moved, host_subject=subject)
        return moved, None
    return dataclasses.replace(target, host=message.host, port=port, tls_port=sport, unix_path=None), subject


async def run_reconnecting(
    target: ConnectTarget,
    body: Callable[[Session], Awaitable[None]],
    *,
    backoff: Backoff = Backoff(),  # noqa: B008 - frozen
    on_reconnect: Callable[[ReconnectNotice], None] | None = None,
    **connect_options: Any,
) -> None:
    """Run ``body(session)`` on a session to ``target``, again after each loss or VM switch.

    Returns when ``body`` returns.  The first connection's failure is raised as it is;
    after that, lost connections are retried on ``backoff`` (``on_reconnect`` is told
    before each wait: a banner) and :class:`SessionLost` ends it when the attempts run
    out.  ``connect_options`` go to :func:`~spice_session.connect` every time.

    Each new session takes over the lost one's state before ``body`` runs: keys and
    buttons held are released on it, the lock keys and client mouse mode set again, and
    (in the background, once its agent is there) the monitor layout asked for and the
    clipboard offered again (:mod:`spice_session._carry`).
    """
    current = _resolved(target)
    connected_once = False
    delays = backoff.delays()
    attempt = 0
    linked: tuple[Channel, bool] | None = None
    carried: CarriedState | None = None
    completed: MigrationCompleted | None = None
    while True:
        established: Session | None = None
        try:
            try:
                # a completed migration is announced before any channel's events
                async with connect(
                    current, linked_main=linked, _first_event=completed, **connect_options
                ) as session:
                    established = session
                    connected_once, attempt, delays, linked = True, 0, backoff.delays(), None
                    completed = None
                    if carried is not None:
                        await restore_inputs(session, carried)
                    try:
                        outcome, handover = await _run_body(session, body, current, connect_options, carried)
                    finally:
                        carried = carried_state(session)
            except BaseExceptionGroup as group:
                single = spice_net.lowlevel.single_error(group)
                if single is None:
                    raise
                raise single from None
        except spice_net.AuthenticationFailed as exc:
            if connected_once:
                raise TicketExpired(
                    exc.code, "the server no longer accepts the password (ticket expired)"
                ) from exc
            raise
        except _LOST as exc:
            if not connected_once:
                raise
            outcome, reason = "lost", str(exc)
        else:
            reason = "the server closed the session"
        if outcome == "done":
            return
        if outcome == "lost" and established is not None and established.switch_host is not None:
            outcome = "switched"  # the source said where the VM went, then closed
        if session.migrated_to is not None:  # a seamless migration moved it: reconnect there
            current, subject = _switched(current, session.migrated_to)
            if subject is not None:
                connect_options = {**connect_options, "host_subject": subject}
        if outcome in ("switched", "migrated"):
            if outcome == "migrated":
                assert handover is not None and session.migrate_begin is not None
                current, linked = handover
                subject = None
                completed = MigrationCompleted("semi-seamless", where(session.migrate_begin.dst_info))
            else:
                assert session.switch_host is not None
                current, subject = _switched(current, session.switch_host)
                completed = MigrationCompleted("switch-host", where(session.switch_host))
            if subject is not None:
                connect_options = {**connect_options, "host_subject": subject}
            if on_reconnect is not None:
                on_reconnect(ReconnectNotice(outcome, 0, 0.0, _where(current), migrated=True))
            continue
        attempt += 1
        delay = next(delays, None)
        if delay is None:
            raise SessionLost(
                reason if attempt == 1 else f"gave up after {attempt - 1} reconnection attempts: {reason}"
            )
        if on_reconnect is not None:
            on_reconnect(ReconnectNotice(reason, attempt, delay, _where(current)))
        await trio.sleep(delay)


_Handover = tuple[SpiceURI | VVFile, tuple[Channel, bool]]


async def _run_body(
    session: Session,
    body: Callable[[Session], Awaitable[None]],
    current: SpiceURI | VVFile,
    connect_options: dict[str, Any],
    carried: CarriedState | None = None,
) -> tuple[str, _Handover | None]:
    """``done`` (the body returned), ``lost`` (the server closed), ``switched`` (SWITCH_HOST) or
    ``migrated`` (a semi-seamless migration, with the destination's linked main channel)."""
    outcome = "done"
    handover: _Handover | None = None
    async with trio.open_nursery() as nursery:

        async def until(event: trio.Event, name: str) -> None:
            nonlocal outcome
            await event.wait()
            outcome = name
            nursery.cancel_scope.cancel()

        async def semi_seamless() -> None:
            nonlocal outcome, handover
            await session.migrating.wait()
            assert session.migrate_begin is not None
            moved, subject = _switched(current, session.migrate_begin.dst_info)
            options = {k: v for k, v in connect_options.items() if k in _CONNECTOR_OPTIONS}
            if subject is not None:
                options["host_subject"] = subject
            connector = make_connector(moved, **options)
            main, session.migration_main = session.migration_main, None  # a refused seamless one
            try:  # the destination's main channel, linked with our session id
                if main is None:
                    main = await connector.open(
                        ChannelType.MAIN, 0, session.session_id, tls=connector.uri.tls_only
                    )
            except spice_net.SpiceNetError:
                await session.main.send(MainMigrateConnectError())
                return  # the server falls back to SWITCH_HOST
            try:
                await session.main.send(MainMigrateConnected())
                # MIGRATE_END comes once the VM has moved (minutes for a big one): the
                # session runs on the source meanwhile, so this wait is not bounded
                await session.migrate_end.wait()
                await main[0].send(MainClientMigrateEnd())
            except BaseException:
                with trio.CancelScope(shield=True):
                    await main[0].aclose()
                raise
            outcome, handover = "migrated", (moved, main)
            nursery.cancel_scope.cancel()

        nursery.start_soon(until, session.switched, "switched")
        nursery.start_soon(until, session.lost, "lost")
        nursery.start_soon(semi_seamless)
        if carried is not None:
            nursery.start_soon(restore_agent, session, carried)
        await body(session)
        nursery.cancel_scope.cancel()
    return outcome, handover


def _where(target: SpiceURI | VVFile) -> str:
    return str(target.uri() if isinstance(target, VVFile) else target)
