"""Port channels a server offers: named byte pipes to each client (``Server(ports=[...])``).

Each :class:`ServerPort` is a PORT channel (WEBDAV for ``org.spice-space.webdav.*``) in
every client's channel list.  A client that links it gets PORT_INIT {name, opened} and the
application a :class:`PortConnection` from :meth:`ServerPort.accept`, to exchange bytes
with that client until it sends PORT_EVENT CLOSED or leaves.
"""

from __future__ import annotations

import struct

import trio
from spice_net import ChannelClosed, ServerChannel
from spice_proto import (
    ChannelType,
    Direction,
    PortEvent,
    PortMsg,
    PortMsgc,
    SpicevmcMsg,
    SpicevmcMsgc,
    UnknownMessage,
)

__all__ = ["PortConnection", "ServerPort"]

#: Largest SPICEVMC_DATA body we send.
CHUNK = 64 * 1024
#: Client data queued for the application per connection before the channel stops being read.
_INBOX = 64


def _message(channel_type: ChannelType, msg_type: int, body: bytes) -> UnknownMessage:
    return UnknownMessage(channel_type, Direction.SERVER_TO_CLIENT, msg_type, body)


class PortConnection:
    """One client's open port: ``await send(bytes)``, ``await receive()`` (``b""`` at the end)."""

    def __init__(
        self, port: ServerPort, channel: ServerChannel, inbox: trio.MemoryReceiveChannel[bytes]
    ) -> None:
        self.port = port
        self.client_id = channel.connection_id
        self._channel = channel
        self._inbox = inbox
        #: The PORT_EVENT values the client sent (spice-gtk's webdav channel sends none).
        self.events: list[int] = []

    async def send(self, data: bytes) -> None:
        """Bytes to the client (:class:`spice_net.ChannelClosed` once it is gone)."""
        for start in range(0, len(data), CHUNK):
            body = data[start : start + CHUNK]
            await self._channel.send(_message(self.port.channel_type, SpicevmcMsg.DATA, body))

    async def receive(self) -> bytes:
        """The client's next bytes; ``b""`` once it closed the port or went away."""
        try:
            return await self._inbox.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return b""


class ServerPort:
    """A named port; :meth:`accept` hands over each client that links it."""

    def __init__(self, name: str, *, backlog: int = 16) -> None:
        if not name or "\0" in name or len(name.encode()) > 4096:
            raise ValueError(f"port name {name!r}: 1-4096 bytes without NUL")
        self.name = name
        webdav = name.startswith("org.spice-space.webdav.")
        self.channel_type = ChannelType.WEBDAV if webdav else ChannelType.PORT
        self._accepted_send, self._accepted = trio.open_memory_channel[PortConnection](backlog)

    async def accept(self) -> PortConnection:
        """The next client connection that opened this port."""
        return await self._accepted.receive()

    def init_body(self) -> bytes:
        raw = self.name.encode() + b"\0"
        return struct.pack("<IIB", len(raw), 9, 1) + raw

    async def serve_client(self, channel: ServerChannel) -> None:
        """Run one client's channel of this port until it closes."""
        await channel.send(_message(self.channel_type, PortMsg.INIT, self.init_body()))
        inbox_send, inbox = trio.open_memory_channel[bytes](_INBOX)
        conn = PortConnection(self, channel, inbox)
        try:
            self._accepted_send.send_nowait(conn)
        except trio.WouldBlock:  # nobody accepts: the channel stays open but unread
            await inbox_send.aclose()
            await trio.sleep_forever()
        async with inbox_send:
            while True:
                try:
                    message = await channel.receive()
                except ChannelClosed:
                    return
                kind, body = int(message.type), message.encode()
                if kind == PortMsgc.EVENT and len(body) == 1:
                    conn.events.append(body[0])
                    if body[0] == PortEvent.CLOSED:
                        return
                elif kind == SpicevmcMsgc.DATA and body:
                    await inbox_send.send(body)
