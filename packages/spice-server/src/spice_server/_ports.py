"""Port channels a server offers: named byte pipes to each client (``Server(ports=[...])``).

Each :class:`ServerPort` is a PORT channel (WEBDAV for ``org.spice-space.webdav.*``) in
every client's channel list.  A client that links it gets PORT_INIT {name, opened}; when it
sends PORT_EVENT OPENED the application gets a :class:`PortConnection` from
:meth:`ServerPort.accept` and exchanges bytes with that client until either side closes.
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
    """A named port; :meth:`accept` hands over each client that opens it."""

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
        inbox_send: trio.MemorySendChannel[bytes] | None = None
        try:
            while True:
                try:
                    message = await channel.receive()
                except ChannelClosed:
                    return
                kind, body = int(message.type), message.encode()
                if kind == PortMsgc.EVENT and body[:1] == bytes([PortEvent.OPENED]) and inbox_send is None:
                    inbox_send, inbox = trio.open_memory_channel[bytes](_INBOX)
                    try:
                        self._accepted_send.send_nowait(PortConnection(self, channel, inbox))
                    except trio.WouldBlock:  # nobody accepts: this client's port stays unread
                        inbox_send = None
                elif (
                    kind == PortMsgc.EVENT
                    and body[:1] == bytes([PortEvent.CLOSED])
                    and inbox_send is not None
                ):
                    await inbox_send.aclose()
                    inbox_send = None
                elif kind == SpicevmcMsgc.DATA and inbox_send is not None and body:
                    await inbox_send.send(body)
        finally:
            if inbox_send is not None:
                await inbox_send.aclose()
