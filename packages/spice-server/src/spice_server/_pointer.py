"""The pointer every client shows: shape, visibility and position, shared by all clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ._cursor import CursorShape
from ._wakeup import Wakeup

__all__ = ["SharedPointer"]


class SharedPointer:
    """The server's pointer; each client's cursor channel watches it for changes."""

    def __init__(self, shape: CursorShape | None) -> None:
        self.shape = shape
        self.visible = True
        self.position = (0, 0)
        self._watchers: list[Wakeup] = []

    def show(self, shape: CursorShape) -> None:
        self.shape = shape
        self.visible = True
        self._changed()

    def hide(self) -> None:
        self.visible = False
        self._changed()

    def move(self, x: int, y: int) -> None:
        self.position = (int(x), int(y))
        self._changed()

    @contextmanager
    def watch(self, wakeup: Wakeup) -> Iterator[None]:
        """Set ``wakeup`` on every change while inside the block."""
        self._watchers.append(wakeup)
        try:
            yield
        finally:
            self._watchers.remove(wakeup)

    def _changed(self) -> None:
        for wake in self._watchers:
            wake.set()
