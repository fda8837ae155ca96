"""The client's copy of the server's multimedia clock, which stream frames are timed against.

MAIN_INIT and MAIN_MULTI_MEDIA_TIME set it.  While sound plays the server sends no media
time: its PLAYBACK_START/DATA stamps carry the server's clock instead, and a PLAYBACK_LATENCY
asks the client to run that far behind them (as spice-gtk's clock follows the last sound
stamp less its audio delay, at least the latency asked).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from spice_proto import (
    MainInit,
    MainMultiMediaTime,
    Message,
    PlaybackData,
    PlaybackLatency,
    PlaybackStart,
    PlaybackStop,
    UnknownMessage,
)

__all__ = ["MediaClock", "mm_diff"]


class MediaClock:
    """The server's multimedia clock (u32 milliseconds), as the client last heard it.

    :meth:`sync` sets it from MAIN_INIT / MAIN_MULTI_MEDIA_TIME; between syncs it runs on
    ``monotonic`` (seconds).  Until the first sync it reads 0.  While sound plays, a
    PLAYBACK_LATENCY (and a START after one) sets it ``latency_ms`` behind the last sound
    stamp (plus the time since it arrived).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._offset: float | None = None
        #: The latency (ms) the server last asked for on the playback channel (0: none).
        self.latency_ms = 0
        #: The last sound stamp and when it arrived (monotonic ms) while sound plays.
        self._sound: tuple[int, float] | None = None

    @property
    def synced(self) -> bool:
        return self._offset is not None

    def sync(self, mm_time: int) -> None:
        self._offset = mm_time - self._monotonic() * 1000.0

    def observe(self, message: Message | UnknownMessage) -> None:
        """Sync from a main or playback channel message when it carries the server's media time."""
        if isinstance(message, MainInit):
            self.sync(message.multi_media_time)
        elif isinstance(message, MainMultiMediaTime):
            self.sync(message.time)
        elif isinstance(message, PlaybackStart | PlaybackData):
            self._sound = (message.time, self.monotonic_ms())
            if isinstance(message, PlaybackStart) and self.latency_ms:
                self._follow_sound()
        elif isinstance(message, PlaybackLatency):
            self.latency_ms = message.latency_ms
            self._follow_sound()
        elif isinstance(message, PlaybackStop):
            self._sound = None

    def _follow_sound(self) -> None:
        if self._sound is not None:
            stamp, arrived = self._sound
            self.sync((stamp + round(self.monotonic_ms() - arrived) - self.latency_ms) & 0xFFFFFFFF)

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
