"""A scripted evil SPICE client that speaks raw bytes, for attacking a server.

Each attack is an async function over raw sockets (plain TCP, or TLS with
``tls=``), optionally from another loopback source address (``127.0.0.2``...;
Linux routes all of 127/8 to ``lo``), so that the client under test, on
``127.0.0.1``, is a different peer from the attackers:

- :func:`hold_idle`: keep N sockets open that never send a byte (reopening the
  ones the server closes);
- :func:`half_link`: send the first bytes of a link message, then nothing;
- :func:`guess_passwords`: link and send a wrong ticket, again and again;
- :func:`link_silent`: link a channel for real, then neither send nor read;
- :func:`abandon_links`: send link requests (each costs the server a fresh RSA key) and hang up
  before the ticket, again and again.

Every attack records what happened in an :class:`AttackStats`.  For a flood
that must not share the server's event loop (and CPU accounting) run it as a
subprocess: ``python -m hostile.evil_client PORT --idle 200 --guessers 4``
prints ``ready`` once the idle sockets are open and attacks until killed.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import ssl
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import spice_proto as sp
import trio
from spice_net.lowlevel import encrypt_ticket

__all__ = [
    "AttackStats",
    "abandon_links",
    "guess_passwords",
    "half_link",
    "hold_idle",
    "link_raw",
    "link_silent",
    "open_raw",
    "sources",
]

HOST = "127.0.0.1"
_U32 = struct.Struct("<I")


def sources(first: str, count: int) -> list[str]:
    """``count`` consecutive loopback addresses from ``first`` (``sources("127.0.0.2", 3)``)."""
    start = ipaddress.IPv4Address(first)
    return [str(start + i) for i in range(count)]


@dataclass
class AttackStats:
    """What an attack saw; ``open`` is the number of its sockets open right now."""

    connects: int = 0
    open: int = 0
    closed_by_server: int = 0
    refused_at_once: int = 0
    replies: dict[int, int] = field(default_factory=dict)  # link error -> count
    answer_times: list[float] = field(default_factory=list)  # seconds from ticket to answer


async def open_raw(
    port: int, *, source: str | None = None, tls: ssl.SSLContext | None = None, handshake: bool = True
) -> trio.abc.Stream:
    """A TCP connection to ``HOST:port`` from ``source`` (optionally TLS, handshaken unless told not to)."""
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if source is not None:
            await sock.bind((source, 0))
        await sock.connect((HOST, port))
    except BaseException:
        sock.close()
        raise
    stream: trio.abc.Stream = trio.SocketStream(sock)
    if tls is not None:
        ssl_stream = trio.SSLStream(stream, tls, server_hostname=HOST, https_compatible=False)
        if handshake:
            try:
                await ssl_stream.do_handshake()
            except BaseException:
                await trio.aclose_forcefully(stream)
                raise
        stream = ssl_stream
    return stream


async def _read_exactly(stream: trio.abc.Stream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await stream.receive_some(size - len(data))
        if not chunk:
            raise EOFError(f"server closed after {len(data)} of {size} bytes")
        data += chunk
    return data


async def _wait_closed(stream: trio.abc.Stream) -> None:
    """Read (and drop) until the server closes the connection."""
    try:
        while await stream.receive_some(65536):
            pass
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass


def _link_mess(channel_type: int, connection_id: int = 0) -> bytes:
    # No capabilities: the ticket follows the reply directly, messages use the full data header.
    return sp.LinkMess(connection_id, channel_type, 0).encode_with_header()


async def link_raw(
    stream: trio.abc.Stream,
    password: str,
    *,
    channel_type: int = sp.ChannelType.MAIN,
    connection_id: int = 0,
    stats: AttackStats | None = None,
) -> sp.LinkErr:
    """Link over ``stream`` with ``password``; the server's answer to the ticket."""
    await stream.send_all(_link_mess(channel_type, connection_id))
    header = sp.LinkHeader.decode(await _read_exactly(stream, sp.LINK_HEADER_SIZE))
    reply = sp.LinkReply.decode(await _read_exactly(stream, header.size))
    if reply.error != sp.LinkErr.OK:
        return reply.error
    await stream.send_all(encrypt_ticket(reply.pub_key, password))
    sent = trio.current_time()
    (answer,) = _U32.unpack(await _read_exactly(stream, 4))
    if stats is not None:
        stats.answer_times.append(trio.current_time() - sent)
    return sp.LinkErr(answer)


async def hold_idle(
    port: int,
    count: int,
    *,
    source_addresses: Sequence[str | None] = (None,),
    tls: ssl.SSLContext | None = None,
    retry: float = 0.2,
    stats: AttackStats | None = None,
    task_status: trio.TaskStatus[AttackStats] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep ``count`` silent connections open (round-robin over ``source_addresses``) until cancelled.

    A socket the server closes is reopened after ``retry`` s.  Over TLS no handshake is made
    (the server's TLS layer waits for a ClientHello that never comes).  Reports started once
    every socket has been opened once.
    """
    stats = stats if stats is not None else AttackStats()
    opened = trio.Event()
    first_round = [0]

    async def one(source: str | None) -> None:
        while True:
            try:
                stream = await open_raw(port, source=source, tls=tls, handshake=False)
            except OSError:
                stats.refused_at_once += 1
            else:
                stats.connects += 1
                stats.open += 1
                began = trio.current_time()
                try:
                    if first_round[0] < count:
                        first_round[0] += 1
                        if first_round[0] == count:
                            opened.set()
                    await _wait_closed(
                        stream.transport_stream if isinstance(stream, trio.SSLStream) else stream
                    )
                finally:
                    stats.open -= 1
                    with trio.CancelScope(shield=True):
                        await trio.aclose_forcefully(stream)
                stats.closed_by_server += 1
                if trio.current_time() - began < 0.05:
                    stats.refused_at_once += 1
            await trio.sleep(retry)

    async with trio.open_nursery() as nursery:
        for i in range(count):
            nursery.start_soon(one, source_addresses[i % len(source_addresses)])
        await opened.wait()
        task_status.started(stats)


async def half_link(
    port: int, *, sent: int = 10, source: str | None = None, tls: ssl.SSLContext | None = None
) -> float:
    """Send the first ``sent`` bytes of a MAIN link message and nothing more; seconds until closed."""
    stream = await open_raw(port, source=source, tls=tls)
    began = trio.current_time()
    async with stream:
        await stream.send_all(_link_mess(sp.ChannelType.MAIN)[:sent])
        await _wait_closed(stream)
    return trio.current_time() - began


async def guess_passwords(
    port: int,
    *,
    parallel: int = 1,
    source: str | None = None,
    tls: ssl.SSLContext | None = None,
    stats: AttackStats | None = None,
    task_status: trio.TaskStatus[AttackStats] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Try wrong passwords over ``parallel`` connections at a time, as fast as answered, until cancelled."""
    stats = stats if stats is not None else AttackStats()
    task_status.started(stats)

    async def guesser(n: int) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                stream = await open_raw(port, source=source, tls=tls)
            except (OSError, trio.BrokenResourceError):
                stats.refused_at_once += 1
                await trio.sleep(0.05)
                continue
            stats.connects += 1
            try:
                async with stream:
                    error = await link_raw(stream, f"guess-{n}-{attempt}", stats=stats)
                stats.replies[int(error)] = stats.replies.get(int(error), 0) + 1
            except (EOFError, OSError, trio.BrokenResourceError, sp.ProtocolError):
                stats.closed_by_server += 1
                await trio.sleep(0.05)

    async with trio.open_nursery() as nursery:
        for n in range(parallel):
            nursery.start_soon(guesser, n)


async def abandon_links(
    port: int,
    *,
    parallel: int = 1,
    source: str | None = None,
    tls: ssl.SSLContext | None = None,
    stats: AttackStats | None = None,
    task_status: trio.TaskStatus[AttackStats] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Request links and hang up once the key arrives, over ``parallel`` connections, until cancelled."""
    stats = stats if stats is not None else AttackStats()
    task_status.started(stats)

    async def abandoner() -> None:
        while True:
            try:
                stream = await open_raw(port, source=source, tls=tls)
                stats.connects += 1
                async with stream:
                    await stream.send_all(_link_mess(sp.ChannelType.MAIN))
                    header = sp.LinkHeader.decode(await _read_exactly(stream, sp.LINK_HEADER_SIZE))
                    reply = sp.LinkReply.decode(await _read_exactly(stream, header.size))
                stats.replies[int(reply.error)] = stats.replies.get(int(reply.error), 0) + 1
            except (EOFError, OSError, trio.BrokenResourceError, sp.ProtocolError):
                stats.closed_by_server += 1
                await trio.sleep(0.05)

    async with trio.open_nursery() as nursery:
        for _ in range(parallel):
            nursery.start_soon(abandoner)


async def link_silent(
    port: int,
    *,
    password: str = "",
    channel_type: int = sp.ChannelType.MAIN,
    connection_id: int = 0,
    source: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> trio.abc.Stream:
    """Link a channel for real and return its stream: the caller then never sends nor reads."""
    stream = await open_raw(port, source=source, tls=tls)
    error = await link_raw(stream, password, channel_type=channel_type, connection_id=connection_id)
    if error != sp.LinkErr.OK:
        await stream.aclose()
        raise RuntimeError(f"link refused: {error.name}")
    return stream


# --- the flood as a subprocess --------------------------------------------------------------------


async def _flood(args: argparse.Namespace) -> None:
    tls = None
    if args.tls:  # an attacker does not verify the server
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    idle_from = sources(args.idle_from, args.idle_addresses)
    async with trio.open_nursery() as nursery:
        idle = await nursery.start(
            partial(hold_idle, args.port, args.idle, source_addresses=idle_from, tls=tls, retry=args.retry)
        )
        guesses = await nursery.start(
            partial(guess_passwords, args.port, parallel=args.guessers, source=args.guess_from, tls=tls)
        )
        print("ready", flush=True)
        while True:
            await trio.sleep(1)
            print(
                f"idle open {idle.open} connects {idle.connects} closed {idle.closed_by_server}; "
                f"guesses {sum(guesses.replies.values())} replies {guesses.replies} "
                f"dropped {guesses.closed_by_server}",
                flush=True,
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hostile.evil_client", description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--tls", action="store_true", help="the port is a TLS port")
    parser.add_argument("--idle", type=int, default=200, help="idle sockets to hold open")
    parser.add_argument("--idle-from", default="127.0.0.2", help="first source address of idle sockets")
    parser.add_argument("--idle-addresses", type=int, default=1, help="how many source addresses")
    parser.add_argument("--retry", type=float, default=0.2, help="seconds before reopening a socket")
    parser.add_argument("--guessers", type=int, default=4, help="password guesses in parallel")
    parser.add_argument("--guess-from", default="127.0.0.250", help="source address of the guesser")
    trio.run(_flood, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
