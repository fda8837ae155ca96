"""Our spice_server serving inside a test's nursery: on a free port (:func:`serve_uri`,
:func:`animated_server`), or on a fixed port until told to stop, so a test can take it away
and bring another up on the same port (reconnect tests)."""

from __future__ import annotations

from functools import partial

import numpy as np
import spice_server as srv
import trio
from spice_proto import Rect


async def serve_until(
    server: srv.Server,
    port: int,
    stop: trio.Event,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """``await nursery.start(serve_until, server, port, stop)``: listening on 127.0.0.1:``port``
    once started; ``stop.set()`` closes it and its clients."""
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(server.serve, "127.0.0.1", port))
        task_status.started()
        await stop.wait()
        nursery.cancel_scope.cancel()


async def serve_uri(nursery: trio.Nursery, server: srv.Server) -> str:
    """Start ``server`` in ``nursery`` on a free 127.0.0.1 port; its ``spice://`` URI."""
    addr: srv.ServerAddress = await nursery.start(partial(server.serve, "127.0.0.1", 0))
    return f"spice://127.0.0.1:{addr.port}"


async def animated_server(nursery: trio.Nursery, hz: float, size: tuple[int, int] = (160, 120)) -> str:
    """A server on a free port whose 20x20 square at (10, 10) changes ``hz`` times a second
    (seeded noise) for as long as ``nursery`` runs; its URI."""
    fb = srv.Framebuffer(*size)
    uri = await serve_uri(nursery, srv.Server(fb))

    async def animate() -> None:
        rng = np.random.default_rng(0)
        while True:
            fb.update(rng.integers(0, 255, (20, 20, 3), np.uint8), Rect(10, 10, 30, 30), format="rgb")
            await trio.sleep(1 / hz)

    nursery.start_soon(animate)
    return uri
