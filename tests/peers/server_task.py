"""Our spice_server serving inside a test's nursery: on a free port (:func:`serve_uri`), or on
a fixed port until told to stop, so a test can take it away and bring another up on the same
port (reconnect tests)."""

from __future__ import annotations

from functools import partial

import spice_server as srv
import trio


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
