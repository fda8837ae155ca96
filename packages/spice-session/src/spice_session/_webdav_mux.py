"""The webdav port's multiplexing, sans-I/O: many guest HTTP connections over one port.

The guest's spice-webdavd accepts local HTTP clients and forwards each connection's
bytes as frames {client id i64 LE, length u16 LE, data}; a frame of length 0 closes
that client.  The client side answers with frames carrying the same id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from spice_proto.lowlevel import frozen

from ._errors import SessionError

__all__ = ["ClientClosed", "ClientData", "MuxError", "WebdavMux"]

_HEAD = struct.Struct("<qH")
MAX_FRAME = 0xFFFF


class MuxError(SessionError):
    """A malformed webdav mux stream."""


@frozen
class ClientData:
    client: int
    data: bytes


@frozen
class ClientClosed:
    client: int


@dataclass
class WebdavMux:
    """Frames in, events out; events in, frames out.  ``max_clients`` bounds open ids."""

    max_clients: int = 64
    clients: set[int] = field(default_factory=set)
    _buf: bytearray = field(default_factory=bytearray)

    def receive_data(self, data: bytes) -> list[ClientData | ClientClosed]:
        self._buf += data
        out: list[ClientData | ClientClosed] = []
        while len(self._buf) >= _HEAD.size:
            client, size = _HEAD.unpack_from(self._buf)
            if len(self._buf) < _HEAD.size + size:
                break
            payload = bytes(self._buf[_HEAD.size : _HEAD.size + size])
            del self._buf[: _HEAD.size + size]
            if size == 0:
                if client in self.clients:
                    self.clients.discard(client)
                    out.append(ClientClosed(client))
                continue
            if client not in self.clients:
                if len(self.clients) >= self.max_clients:
                    raise MuxError(f"webdav mux: client {client} would be more than {self.max_clients} open")
                self.clients.add(client)
            out.append(ClientData(client, payload))
        return out

    def send(self, client: int, data: bytes) -> bytes:
        """Frames carrying ``data`` to ``client`` (nothing for empty data)."""
        out = bytearray()
        for start in range(0, len(data), MAX_FRAME):
            chunk = data[start : start + MAX_FRAME]
            out += _HEAD.pack(client, len(chunk)) + chunk
        return bytes(out)

    def close(self, client: int) -> bytes:
        """The frame that closes ``client``."""
        self.clients.discard(client)
        return _HEAD.pack(client, 0)
