"""A trio stream through a SASL security layer (DIGEST-MD5's auth-conf over plain TCP).

Until :meth:`SaslLayerStream.start` bytes pass unchanged (the SASL exchange itself is plain;
with :meth:`~SaslLayerStream.trickle` one at a time, so that no wrapped byte is read as plain);
after it every write is encoded in records of at most the layer's output size and every read
is decoded.  The record framing (a 4-byte big-endian length, then the protected bytes) is the
mechanism's own and is checked by libsasl2, which refuses a record longer than the receive
buffer we announced (``MAX_BUFFER``).  A record that does not decode breaks the stream.
"""

from __future__ import annotations

from typing import Protocol

import trio

from ._sasl_lib import SaslError

__all__ = ["SaslLayerStream"]

_READ_SIZE = 16384


class _Layer(Protocol):
    """What the stream needs of a SASL connection (:class:`~spice_net._sasl_lib.SaslClient`)."""

    @property
    def max_out(self) -> int: ...

    def encode(self, data: bytes) -> bytes: ...

    def decode(self, data: bytes) -> bytes: ...

    def close(self) -> None: ...


class SaslLayerStream(trio.abc.Stream):
    """``inner`` unchanged until :meth:`start`, then wrapped by a SASL security layer."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self._layer: _Layer | None = None
        self._chunk = 0
        self._plain = bytearray()
        self._broken: str | None = None
        self._pending = b""
        self._trickle = False

    @property
    def active(self) -> bool:
        return self._layer is not None

    def trickle(self) -> None:
        """Until :meth:`start`, read one byte at a time: the plain SASL exchange is followed by
        wrapped bytes at a place only the parser knows, and what is read above this stream (a
        capture tap) must not see them unwrapped."""
        self._trickle = True

    def start(self, layer: _Layer, pending: bytes = b"") -> None:
        """Wrap from now on; ``pending`` are wrapped bytes already read from ``inner``."""
        self._trickle = False
        self._layer = layer
        self._chunk = max(1, min(layer.max_out, 65536))
        self._pending = pending  # decoded by the next read, where errors are the stream's

    def _decode(self, data: bytes) -> bytes:
        assert self._layer is not None
        try:
            return self._layer.decode(data)
        except SaslError as exc:
            self._broken = f"SASL security layer: the peer's data does not decode ({exc})"
            self._pending = b""
            raise trio.BrokenResourceError(self._broken) from exc

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._layer is None:
            await self.inner.send_all(data)
            return
        view = memoryview(data)
        try:
            wrapped = b"".join(
                self._layer.encode(bytes(view[i : i + self._chunk])) for i in range(0, len(view), self._chunk)
            )
        except SaslError as exc:
            raise trio.BrokenResourceError(f"SASL security layer: {exc}") from exc
        await self.inner.send_all(wrapped)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._layer is None:
            return await self.inner.receive_some(1 if self._trickle else max_bytes)
        if self._broken is not None:
            raise trio.BrokenResourceError(self._broken)
        while not self._plain:
            raw, self._pending = self._pending or await self.inner.receive_some(_READ_SIZE), b""
            if not raw:
                return b""
            self._plain += self._decode(bytes(raw))
        size = len(self._plain) if max_bytes is None else min(max_bytes, len(self._plain))
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self._layer is not None:
                self._layer.close()
