"""A pool of pre-generated ticket keys, refilled in a worker thread so links never wait on RSA."""

from __future__ import annotations

import trio

from ._ticket import TicketKey

__all__ = ["TicketKeyPool"]


class TicketKeyPool:
    """Fresh :class:`TicketKey` pairs made ahead of time; each is handed out once.

    Run :meth:`run` in a nursery: it fills the pool (one worker thread, so key
    generation costs at most one core and never blocks the event loop) and tops it
    up as keys are taken.  :meth:`take` waits, first come first served, when the
    pool is empty; without :meth:`run` running it generates a key in a thread itself.
    """

    def __init__(self, size: int = 4) -> None:
        if size < 1:
            raise ValueError("a key pool holds at least one key")
        self.size = size
        self._send, self._receive = trio.open_memory_channel[TicketKey](size - 1)
        self._running = False

    @property
    def running(self) -> bool:
        """Whether :meth:`run` is keeping the pool full."""
        return self._running

    @property
    def ready(self) -> int:
        """Keys waiting in the pool."""
        stats = self._receive.statistics()
        return stats.current_buffer_used + stats.tasks_waiting_send

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the pool full until cancelled; reports started once it is full the first time."""
        if self._running:
            raise RuntimeError("this key pool is already running")
        self._running = True
        try:
            for _ in range(self.size - 1):
                self._send.send_nowait(await _generate())
            key = await _generate()
            task_status.started()
            while True:
                await self._send.send(key)  # waits while the pool is full
                key = await _generate()
        finally:
            self._running = False

    async def take(self) -> TicketKey:
        """A key no one else got (waits for the refill when the pool is empty)."""
        if not self._running:
            try:
                return self._receive.receive_nowait()
            except trio.WouldBlock:
                return await _generate()
        return await self._receive.receive()


async def _generate() -> TicketKey:
    return await trio.to_thread.run_sync(TicketKey.generate)
