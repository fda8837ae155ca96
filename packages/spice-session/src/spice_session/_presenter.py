"""Picture and sound in step: items held until the server's media clock reaches their time.

Stream frames (DISPLAY_STREAM_DATA's ``multi_media_time``) and audio chunks (DATA's
``time``) are stamped on the same clock; a player that outputs each when
:meth:`MediaPresenter.due` hands it out keeps them together (plus ``delay_ms``, the
latency the server asks for).  Sans-I/O: :meth:`wait_s` says how long to sleep.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["MediaPresenter"]

T = TypeVar("T")


def _mm_diff(a: int, b: int) -> int:
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


class MediaPresenter(Generic[T]):
    """At most ``limit`` items ordered by media time; what is due comes out in time order.

    ``now`` reads the media clock (``session.media_clock.now``).  When full, the item due
    first is handed out early by :meth:`due` rather than held (``early`` counts them);
    items already late when pushed come out at once (``late`` counts them).
    """

    def __init__(self, now: Callable[[], int], delay_ms: int = 0, limit: int = 512) -> None:
        self._now = now
        self.delay_ms = delay_ms
        self.limit = limit
        self._heap: list[tuple[int, int, T]] = []
        self._order = itertools.count()
        self._base: int | None = None
        self.late = 0
        self.early = 0

    def __len__(self) -> int:
        return len(self._heap)

    def _key(self, time: int) -> int:
        """``time`` as a signed offset from the first item's, so wrapping u32 times still sort."""
        if self._base is None:
            self._base = time
        return _mm_diff(time, self._base)

    def push(self, time: int, item: T) -> None:
        if _mm_diff(self._now(), (time + self.delay_ms) & 0xFFFFFFFF) > 0:
            self.late += 1
        heapq.heappush(self._heap, (self._key(time), next(self._order), item))

    def due(self) -> list[tuple[int, T]]:
        """The items whose time (plus the delay) has come, oldest first, as (media time, item)."""
        out: list[tuple[int, T]] = []
        now = self._now()
        while self._heap:
            key, _, item = self._heap[0]
            time = (key + (self._base or 0)) & 0xFFFFFFFF
            if _mm_diff(now, (time + self.delay_ms) & 0xFFFFFFFF) < 0 and len(self._heap) <= self.limit:
                break
            if _mm_diff(now, (time + self.delay_ms) & 0xFFFFFFFF) < 0:
                self.early += 1
            heapq.heappop(self._heap)
            out.append((time, item))
        return out

    def wait_s(self) -> float | None:
        """Seconds until the next item is due (0 if one is), ``None`` when empty."""
        if not self._heap:
            return None
        time = (self._heap[0][0] + (self._base or 0)) & 0xFFFFFFFF
        return max(0.0, _mm_diff((time + self.delay_ms) & 0xFFFFFFFF, self._now()) / 1000.0)
