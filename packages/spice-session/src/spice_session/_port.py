"""Port channels: named byte pipes between the client and a guest service.

QEMU's ``-chardev spiceport,name=N`` (with a virtserialport in the guest) appears as a
SPICE PORT channel (WEBDAV for ``org.spice-space.webdav.*``).  The server's first message
is PORT_INIT {name, opened}; PORT_EVENT says when the guest side opens or closes; bytes go
both ways in SPICEVMC_DATA.  ``async with PortChannels.for_session(s).open("org.x.y") as p``
links the matching channel, tells the server we opened it, and closes it at the end.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import spice_net
import trio
from spice_net import Channel
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
from spice_proto.lowlevel import frozen

from ._errors import ChannelUnavailable, SessionError
from ._extra_channels import ChannelOpener, ExtraChannelHost

__all__ = ["Port", "PortChannels", "PortError", "PortInit", "parse_port_init"]

PORT_TYPES = (ChannelType.PORT, ChannelType.WEBDAV)
#: Largest SPICEVMC_DATA body we send.
CHUNK = 64 * 1024
_INIT = struct.Struct("<IIB")


class PortError(SessionError):
    """A port message that breaks the protocol, or a port that does not exist."""


@frozen
class PortInit:
    name: str
    opened: bool


def parse_port_init(body: bytes) -> PortInit:
    """PORT_INIT: u32 name_size (with its NUL), u32 offset of the name, u8 opened."""
    if len(body) < _INIT.size:
        raise PortError(f"PORT_INIT of {len(body)} bytes, shorter than {_INIT.size}")
    size, offset, opened = _INIT.unpack_from(body)
    if size < 1 or offset + size > len(body):
        raise PortError(f"PORT_INIT name of {size} bytes at {offset} lies outside the {len(body)}-byte body")
    raw = body[offset : offset + size]
    if raw[-1] != 0 or 0 in raw[:-1]:
        raise PortError(f"PORT_INIT name at {offset} is not one NUL-terminated string")
    try:
        name = raw[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise PortError(f"PORT_INIT name at {offset} is not UTF-8") from None
    return PortInit(name, bool(opened))


def _message(msg_type: int, body: bytes, channel_type: ChannelType) -> UnknownMessage:
    return UnknownMessage(channel_type, Direction.CLIENT_TO_SERVER, msg_type, body)


class Port:
    """One open port: ``send(bytes)``, ``receive()``; ``peer_opened`` follows the guest side."""

    def __init__(self, channel: Channel, channel_type: ChannelType, init: PortInit) -> None:
        self.channel = channel
        self.channel_type = channel_type
        self.name = init.name
        #: Whether the guest side has the port open (PORT_INIT, then PORT_EVENT OPENED/CLOSED).
        self.peer_opened = init.opened
        #: The PORT_EVENT values the server sent, in order.
        self.events: list[PortEvent | int] = []
        self._buffer = bytearray()
        self._ended = False
        self._pumping = False
        self._changed = trio.Event()

    async def send(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            await self.channel.send(
                _message(SpicevmcMsgc.DATA, data[start : start + CHUNK], self.channel_type)
            )

    async def send_event(self, event: PortEvent) -> None:
        await self.channel.send(_message(PortMsgc.EVENT, bytes([event]), self.channel_type))

    async def receive(self, max_bytes: int | None = None) -> bytes:
        """The bytes that came next (``b""`` once the server closed the channel)."""
        while not self._buffer and not self._ended:
            await self._pump()
        cut = len(self._buffer) if max_bytes is None else max_bytes
        out = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return out

    async def receive_exactly(self, count: int) -> bytes:
        """Exactly ``count`` bytes; :class:`PortError` if the channel ends first."""
        while len(self._buffer) < count:
            if self._ended:
                raise PortError(f"port {self.name!r} closed after {len(self._buffer)} of {count} bytes")
            await self._pump()
        out = bytes(self._buffer[:count])
        del self._buffer[:count]
        return out

    async def wait_peer(self, opened: bool = True) -> None:
        """Return once the guest side has the port open (or closed, with ``opened=False``)."""
        while self.peer_opened != opened:
            if self._ended:
                raise PortError(f"port {self.name!r} closed while waiting for the guest")
            await self._pump()

    async def _pump(self) -> None:
        """Take in one message; a second task waiting meanwhile sees its effect instead."""
        if self._pumping:
            await self._changed.wait()
            return
        self._pumping = True
        try:
            await self._take_one()
        finally:
            self._pumping = False
            self._changed.set()
            self._changed = trio.Event()

    async def _take_one(self) -> None:
        try:
            message = await self.channel.receive()
        except spice_net.ChannelClosed:
            self._ended = True
            return
        kind = int(message.type)
        if kind == SpicevmcMsg.DATA:
            self._buffer += message.encode()
        elif kind == SpicevmcMsg.COMPRESSED_DATA:
            raise PortError(f"port {self.name!r}: compressed data, which we did not offer")
        elif kind == PortMsg.EVENT:
            body = message.encode()
            if len(body) != 1:
                raise PortError(f"port {self.name!r}: PORT_EVENT of {len(body)} bytes")
            event: PortEvent | int = (
                PortEvent(body[0]) if body[0] in PortEvent._value2member_map_ else body[0]
            )
            self.events.append(event)
            if event == PortEvent.OPENED:
                self.peer_opened = True
            elif event == PortEvent.CLOSED:
                self.peer_opened = False
        elif kind == PortMsg.INIT:
            raise PortError(f"port {self.name!r}: a second PORT_INIT")


class PortChannels:
    """The server's port channels, found by name."""

    def __init__(self, opener: ChannelOpener, listed: Sequence[tuple[ChannelType, int]]) -> None:
        self._opener = opener
        self.listed = list(listed)
        self._names: dict[tuple[ChannelType, int], str] = {}

    @classmethod
    def for_session(cls, session: ExtraChannelHost) -> PortChannels:
        """The port channels ``session``'s server listed, linked the way the session linked its own."""
        listed = [(ChannelType(c.type), int(c.id)) for c in session.channels if c.type in PORT_TYPES]
        return cls(session.open_extra_channel, listed)

    async def _link(self, key: tuple[ChannelType, int]) -> tuple[Channel, PortInit]:
        channel = await self._opener(*key)
        try:
            with trio.fail_after(10):
                while True:
                    message = await channel.receive()
                    if int(message.type) == PortMsg.INIT:
                        init = parse_port_init(message.encode())
                        self._names[key] = init.name
                        return channel, init
                    if int(message.type) in (SpicevmcMsg.DATA, PortMsg.EVENT):
                        raise PortError(f"port channel {key[1]}: {message.type} before PORT_INIT")
        except BaseException:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await channel.aclose()
            raise

    async def names(self) -> list[str]:
        """Every port's name (each channel is linked once to learn it)."""
        for key in self.listed:
            if key not in self._names:
                channel, _ = await self._link(key)
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await channel.aclose()
        return [self._names[k] for k in self.listed]

    @asynccontextmanager
    async def open(self, name: str) -> AsyncIterator[Port]:
        """The port called ``name``, open for the block (PORT_EVENT OPENED / CLOSED sent)."""
        if not self.listed:
            raise ChannelUnavailable("the server offers no port channels")
        order = sorted(self.listed, key=lambda k: self._names.get(k) != name)
        for key in order:
            if key in self._names and self._names[key] != name:
                continue
            channel, init = await self._link(key)
            if init.name != name:
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await channel.aclose()
                continue
            port = Port(channel, key[0], init)
            try:
                await port.send_event(PortEvent.OPENED)
                yield port
                with contextlib.suppress(spice_net.ChannelClosed):
                    await port.send_event(PortEvent.CLOSED)
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(2):
                    await channel.aclose()
            return
        raise PortError(f"no port named {name!r} (the server has {sorted(set(self._names.values()))})")
