"""A flag one task sets and another waits for."""

from __future__ import annotations

import trio

__all__ = ["Wakeup"]


class Wakeup:
    """A flag one side sets and the other waits for (and clears); setting is idempotent."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = trio.Event()
