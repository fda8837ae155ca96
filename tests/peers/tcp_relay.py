"""A TCP relay in front of a server: clients connect to ``relay.port``; :meth:`TcpRelay.drop`
cuts every connection through it at once (the server stays up), as a network outage does."""

from __future__ import annotations

import trio

from .ports import HOST


class TcpRelay:
    """Forwards each connection on ``port`` to ``target_port`` on 127.0.0.1; run with :meth:`serve`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.accepted = 0
        self._cuts: list[trio.CancelScope] = []

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host=HOST)
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._relay, listeners)

    def drop(self) -> None:
        """Close every connection relayed so far."""
        cuts, self._cuts = self._cuts, []
        for scope in cuts:
            scope.cancel()

    async def _relay(self, client: trio.SocketStream) -> None:
        self.accepted += 1
        with trio.CancelScope() as scope:
            self._cuts.append(scope)
            server = await trio.open_tcp_stream(HOST, self.target_port)
            async with client, server, trio.open_nursery() as nursery:
                nursery.start_soon(_pump, client, server, nursery.cancel_scope)
                nursery.start_soon(_pump, server, client, nursery.cancel_scope)


async def _pump(src: trio.SocketStream, dst: trio.SocketStream, done: trio.CancelScope) -> None:
    try:
        while data := await src.receive_some(65536):
            await dst.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    done.cancel()
