"""A scripted evil SPICE server that speaks raw bytes.

It answers the link stage of every channel (any ticket is accepted), sends
MAIN_INIT and, once the client attaches, a channel list naming every channel
of the script; on each of those channels it then plays that channel's script.
A script is a list of ``(msg_type, body)`` pairs sent verbatim behind a mini
header (the bodies are raw bytes, so they may say anything), or an async
callable given an :class:`EvilChannel` to do what it likes with the stream.
Whatever the client sends is read and kept (so it never blocks on writing).

In a trio test::

    script = {(ChannelType.DISPLAY, 0): [(DisplayMsg.SURFACE_CREATE, body)]}
    async with evil_server(script) as uri:
        async with spice_session.connect(uri) as session: ...

For a client in a subprocess (``spice screenshot URI``), run it in a thread::

    with EvilServerThread(script) as server:
        subprocess.run(["spice", "screenshot", server.uri, ...])
"""

from __future__ import annotations

import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from types import TracebackType

import spice_proto as sp
import trio
from spice_net.lowlevel import TicketKey

__all__ = [
    "EvilChannel",
    "EvilServerThread",
    "Script",
    "evil_server",
    "mini",
]

T = sp.ChannelType
SESSION_ID = 0x5EC0DE
_U32 = struct.Struct("<I")
_CAPS = sp.Caps.of(sp.CommonCap.PROTOCOL_AUTH_SELECTION, sp.CommonCap.AUTH_SPICE, sp.CommonCap.MINI_HEADER)


def mini(msg_type: int, body: bytes) -> bytes:
    """One message as it goes on the wire (mini header + body)."""
    return sp.MiniHeader(int(msg_type), len(body)).encode() + body


@dataclass
class EvilChannel:
    """One linked channel: the raw stream, and what the client sent on it."""

    stream: trio.SocketStream
    channel_type: int
    channel_id: int
    #: ``(msg_type, body)`` of every message the client sent, in order.
    received: list[tuple[int, bytes]] = field(default_factory=list)
    got_message: trio.Event = field(default_factory=trio.Event)

    async def send(self, msg_type: int, body: bytes) -> None:
        await self.stream.send_all(mini(msg_type, body))

    async def wait_for(self, msg_type: int) -> bytes:
        """The body of the first message of ``msg_type`` from the client (waits for it)."""
        while True:
            for t, body in self.received:
                if t == msg_type:
                    return body
            await self.got_message.wait()


#: What a channel does after its link: raw messages to send, or a coroutine of its own.
ChannelScript = Sequence[tuple[int, bytes]] | Callable[[EvilChannel], Awaitable[None]]
#: ``(channel_type, channel_id) -> ChannelScript``; the main channel is implicit.
Script = Mapping[tuple[int, int], ChannelScript]


@cache
def _key() -> TicketKey:
    return TicketKey.generate()


async def _read_exactly(stream: trio.SocketStream, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        if not chunk:
            raise EOFError(f"client closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


async def _link(stream: trio.SocketStream) -> sp.LinkMess:
    header = sp.LinkHeader.decode(await _read_exactly(stream, sp.LINK_HEADER_SIZE))
    mess = sp.LinkMess.decode(await _read_exactly(stream, header.size))
    reply = sp.LinkReply(sp.LinkErr.OK, _key().public_der, _CAPS, sp.Caps())
    await stream.send_all(reply.encode_with_header())
    if sp.CommonCap.PROTOCOL_AUTH_SELECTION in mess.common_caps:
        await _read_exactly(stream, 4)  # auth mechanism
    await _read_exactly(stream, sp.ENCRYPTED_TICKET_SIZE)  # any ticket will do
    await stream.send_all(_U32.pack(int(sp.LinkErr.OK)))
    if sp.CommonCap.MINI_HEADER not in mess.common_caps:
        raise EOFError("the evil server only speaks mini headers")
    return mess


async def _drain(chan: EvilChannel) -> None:
    """Read the client's messages into ``chan.received`` until it closes."""
    buf = bytearray()
    while True:
        chunk = await chan.stream.receive_some(65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= sp.MINI_HEADER_SIZE:
            head = sp.MiniHeader.decode(buf)
            end = sp.MINI_HEADER_SIZE + head.size
            if len(buf) < end:
                break
            chan.received.append((head.type, bytes(buf[sp.MINI_HEADER_SIZE : end])))
            del buf[:end]
            chan.got_message.set()
            chan.got_message = trio.Event()


async def _play(chan: EvilChannel, script: ChannelScript) -> None:
    if callable(script):
        await script(chan)
    else:
        for msg_type, body in script:
            await chan.send(msg_type, body)
    await trio.sleep_forever()


async def _main(chan: EvilChannel, script: Script) -> None:
    init = sp.MainInit(SESSION_ID, 1, sp.MouseMode.SERVER, sp.MouseMode.SERVER, False, 10, 0, 0)
    await chan.send(sp.MainMsg.INIT, init.encode())
    await chan.wait_for(sp.MainMsgc.ATTACH_CHANNELS)
    listed = sp.MainChannelsList(tuple(sp.ChannelId(t, i) for t, i in script))
    await chan.send(sp.MainMsg.CHANNELS_LIST, listed.encode())
    await trio.sleep_forever()


_GONE = (EOFError, trio.BrokenResourceError, trio.ClosedResourceError, sp.ProtocolError)


async def _until_gone(fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn``; the client going away (or garbling its side) just ends it."""
    try:
        await fn()
    except _GONE:
        pass


async def _serve_channel(script: Script, chan: EvilChannel) -> None:
    if chan.channel_type == T.MAIN:
        await _main(chan, script)
    elif (chan.channel_type, chan.channel_id) in script:
        await _play(chan, script[chan.channel_type, chan.channel_id])
    else:
        await trio.sleep_forever()


async def _handler(script: Script, stream: trio.SocketStream) -> None:
    try:
        with trio.fail_after(30):
            mess = await _link(stream)
    except (*_GONE, trio.TooSlowError):
        await trio.aclose_forcefully(stream)
        return
    chan = EvilChannel(stream, int(mess.channel_type), mess.channel_id)
    try:
        async with trio.open_nursery() as nursery:

            async def drain_then_stop() -> None:
                await _until_gone(partial(_drain, chan))
                nursery.cancel_scope.cancel()

            nursery.start_soon(drain_then_stop)
            await _until_gone(partial(_serve_channel, script, chan))
    finally:
        await trio.aclose_forcefully(stream)


@asynccontextmanager
async def evil_server(script: Script) -> AsyncIterator[str]:
    """Serve ``script`` on a free 127.0.0.1 port; yields the ``spice://`` URI."""
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(_handler, script), 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        yield f"spice://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


class EvilServerThread:
    """:func:`evil_server` in a background thread, for a client run as a subprocess.

    An error inside the server (a broken script) is raised again on leaving the ``with``.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.uri = ""
        self._ready = threading.Event()
        self._stop: trio.Event | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = trio.Event()
        self._token = trio.lowlevel.current_trio_token()
        async with evil_server(self.script) as uri:
            self.uri = uri
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> EvilServerThread:
        self._thread.start()
        if not self._ready.wait(30) or not self.uri:
            raise RuntimeError("the evil server did not start") from self._error
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._stop is not None and self._token is not None
        if self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(30)
        if self._error is not None and exc is None:
            raise RuntimeError("the evil server failed") from self._error
