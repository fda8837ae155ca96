"""spice_server on a Unix socket: our client connects with spice+unix://, the socket file's lifecycle."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import spice_server as ss
import spice_session
import trio
from peers.viewers import pattern_frame


async def test_unix_socket_serves_and_cleans_up(tmp_path: Path) -> None:
    path = str(tmp_path / "vm.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket left behind by a crashed server is replaced
    stale.close()
    fb = ss.Framebuffer(64, 48)
    fb.update(pattern_frame(64, 48))
    server = ss.Server(fb)
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(
            lambda task_status: server.serve(port=None, unix_path=path, task_status=task_status)
        )
        assert addr.unix_path == path
        async with spice_session.connect(f"spice+unix://{path}") as session:
            shot = await session.screenshot(timeout=20)
            assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])
            assert server.clients and "unix" in repr(server.clients[0])
        nursery.cancel_scope.cancel()
    assert not os.path.exists(path)


async def test_unix_path_that_is_a_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "precious.txt"
    path.write_text("keep me")
    with pytest.raises(FileExistsError, match="not a socket"):
        await ss.Server().serve(port=None, unix_path=str(path))
    assert path.read_text() == "keep me"


async def test_serve_needs_somewhere_to_listen() -> None:
    with pytest.raises(ValueError, match="unix_path"):
        await ss.Server().serve(port=None)
