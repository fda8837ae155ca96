"""The client's copy of the server's multimedia clock, which stream frames are timed against."""

from __future__ import annotations

import time
from collections.abc import Callable

from spice_proto import MainInit, MainMultiMediaTime, Message, UnknownMessage

__all__ = ["MediaClock", "mm_diff"]


class MediaClock:
    """The server's multimedia clock (u32 milliseconds), as the client last heard it.

    :meth:`sync` sets it from MAIN_INIT / MAIN_MULTI_MEDIA_TIME; between syncs it runs on
    ``monotonic`` (seconds).  Until the first sync it reads 0.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._offset: float | None = None

    @property
    def synced(self) -> bool:
        return self._offset is not None

    def sync(self, mm_time: int) -> None:
        self._offset = mm_time - self._monotonic() * 1000.0

    def observe(self, message: Message | UnknownMessage) -> None:
        """Sync from a main-channel message when it carries the server's media time."""
        if isinstance(message, MainInit):
            self.sync(message.multi_media_time)
        elif isinstance(message, MainMultiMediaTime):
            self.sync(message.time)

    def now(self) -> int:
        if self._offset is None:
            return 0
        return int(self._monotonic() * 1000.0 + self._offset) & 0xFFFFFFFF

    def monotonic_ms(self) -> float:
        return self._monotonic() * 1000.0


def mm_diff(a: int, b: int) -> int:
    """``a - b`` for u32 media times, as a signed 32-bit value (wraps like the C clients)."""
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d
