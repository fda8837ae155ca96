"""A plain TCP connection's bytes moved with ``os.read``/``os.write`` on its descriptor.

trio's ``SocketStream.receive_some`` goes through about twenty Python calls (a context manager
that maps errors, the socket method wrapper, a try-first helper and its async context
manager) before the read that is usually answered "would block".  A channel receives once a
message, and a video stream's message comes after the process slept.  The same read, and the
automatic replies' write, go straight to the descriptor here, with trio's own waiting
(``wait_readable``) and the same checkpoints: a read that waits is one, a read that did not
wait is followed by a cancel-shielded one (so no byte read is lost to a cancellation).
After a read that had to wait and took less than a quarter of what it could (the peer sends
now and then: a video frame every 40 ms), the next one waits first instead of asking a socket
that is most likely empty: one system call and one ``BlockingIOError`` less a message.  After
a read that found bytes there, or took a quarter of what it could or more (a flood keeps the
socket full), the next one asks first.

Only a ``trio.SocketStream`` (maybe tapped by a capture) qualifies; TLS and any other stream
keep their own ``receive_some``/``send_all``.
"""

from __future__ import annotations

import os

import trio

from ._capture import ChannelCapture, _TappedStream

__all__ = ["PlainSocket", "plain_socket", "read_plain", "write_plain"]


class PlainSocket:
    """The descriptor under a stream, the stream that writes the rest of what would block, and
    the capture that must see the bytes (``None``: not captured)."""

    __slots__ = ("capture", "fd", "socket_stream", "waited")

    def __init__(self, fd: int, socket_stream: trio.SocketStream, capture: ChannelCapture | None) -> None:
        self.fd = fd
        self.socket_stream = socket_stream
        self.capture = capture
        #: The last read waited for a little data (the next one waits first).
        self.waited = False


def plain_socket(stream: trio.abc.Stream) -> PlainSocket | None:
    """What moves ``stream``'s bytes directly, when it is a plain TCP stream (or one tapped for a
    capture); ``None`` for TLS and any other stream."""
    capture = None
    if type(stream) is _TappedStream:
        capture, stream = stream.capture, stream.inner
    if type(stream) is not trio.SocketStream:
        return None
    return PlainSocket(stream.socket.fileno(), stream, capture)


def _check_open(plain: PlainSocket) -> None:
    """Raise ``trio.ClosedResourceError`` once the socket is closed: its descriptor number may
    belong to another connection by then.  (A close while waiting wakes the wait with it.)"""
    if plain.socket_stream.socket.fileno() != plain.fd:
        raise trio.ClosedResourceError("the socket was closed")


async def read_plain(plain: PlainSocket, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` bytes, waiting until some came (``b""`` at end of file); a checkpoint.

    Raises ``OSError`` as the socket does, ``trio.ClosedResourceError`` when the socket is
    closed while waiting."""
    fd = plain.fd
    wait_first = plain.waited  # the socket is most likely empty: wait first (a checkpoint)
    if not wait_first:
        await trio.lowlevel.checkpoint_if_cancelled()
    if plain.socket_stream.socket.fileno() != fd:  # (_check_open in line: once a read)
        raise trio.ClosedResourceError("the socket was closed")
    data: bytes | None = None
    if not wait_first:
        try:
            data = os.read(fd, max_bytes)
        except BlockingIOError:
            pass
    if data is None:
        while True:
            await trio.lowlevel.wait_readable(fd)
            try:
                data = os.read(fd, max_bytes)
                break
            except BlockingIOError:  # woken for nothing (another reader, a spurious wake-up)
                pass
        plain.waited = len(data) < max_bytes // 4  # (more than that: a flood, most likely)
    else:
        plain.waited = False
        await trio.lowlevel.cancel_shielded_checkpoint()  # (data was there: let others run)
    if data and plain.capture is not None:
        plain.capture.write(True, data)
    return data


async def write_plain(plain: PlainSocket, data: bytes | bytearray | memoryview) -> None:
    """Send all of ``data``: at once when the socket takes it (no checkpoint then), else the
    rest through the socket stream (which waits)."""
    fd = plain.fd
    _check_open(plain)
    sent = 0
    try:
        sent = os.write(fd, data)
        while sent < len(data):
            sent += os.write(fd, memoryview(data)[sent:])
    except BlockingIOError:
        pass
    if sent < len(data):
        await plain.socket_stream.send_all(memoryview(data)[sent:])
    if plain.capture is not None:
        plain.capture.write(False, bytes(data))
