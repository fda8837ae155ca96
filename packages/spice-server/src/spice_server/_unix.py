"""Listening on a Unix socket (QEMU's ``-spice unix=on,addr=PATH``)."""

from __future__ import annotations

import contextlib
import os
import stat

import trio

__all__ = ["open_unix_listener", "remove_unix_socket"]


async def open_unix_listener(path: str) -> trio.SocketListener:
    """A listener on a new Unix socket at ``path``; a stale socket there is replaced.

    Anything at ``path`` that is not a socket is left alone (:class:`FileExistsError`).
    """
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise FileExistsError(f"{path} exists and is not a socket")
        os.unlink(path)
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return trio.SocketListener(sock)


def remove_unix_socket(path: str) -> None:
    """Remove the socket file at ``path`` (if it is still a socket)."""
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
