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


class MediaPresenter(Generic[T]):
    """At most ``limit`` items ordered by media time; what is due comes out in time order.

    ``now`` reads the media clock (``session.media_clock.now``); each method also takes the
    clock's reading from a caller that has one.  When full, the item due first is handed out
    early by :meth:`due` rather than held (``early`` counts them); items already late when
    pushed come out at once (``late`` counts them).
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

    # The u32 media-time differences are worked out in line: these run several times a frame.
    def push(self, time: int, item: T, now: int | None = None) -> None:
        if now is None:
            now = self._now()
        late = (now - time - self.delay_ms) & 0xFFFFFFFF
        if late and not late & 0x80000000:
            self.late += 1
        if self._base is None:
            self._base = time
        key = (time - self._base) & 0xFFFFFFFF
        heapq.heappush(self._heap, (key - ((key & 0x80000000) << 1), next(self._order), item))

    def due(self, now: int | None = None) -> list[tuple[int, T]]:
        """The items whose time (plus the delay) has come, oldest first, as (media time, item)."""
        out: list[tuple[int, T]] = []
        heap = self._heap
        if not heap:
            return out
        if now is None:
            now = self._now()
        base, delay = self._base or 0, self.delay_ms
        while heap:
            key, _, item = heap[0]
            time = (key + base) & 0xFFFFFFFF
            early = (now - time - delay) & 0x80000000  # not due yet
            if early:
                if len(heap) <= self.limit:
                    break
                self.early += 1
            heapq.heappop(heap)
            out.append((time, item))
        return out

    def pop_first(self, now: int | None = None) -> tuple[int, T] | None:
        """The item due first, as (media time, item), taken out whatever its time (counted in
        ``early`` when not due yet); ``None`` when empty."""
        heap = self._heap
        if not heap:
            return None
        key, _, item = heapq.heappop(heap)
        time = (key + (self._base or 0)) & 0xFFFFFFFF
        if ((self._now() if now is None else now) - time - self.delay_ms) & 0x80000000:
            self.early += 1
        return time, item

    def wait_s(self, now: int | None = None) -> float | None:
        """Seconds until the next item is due (0 if one is), ``None`` when empty."""
        if not self._heap:
            return None
        if now is None:
            now = self._now()
        ahead = (self._heap[0][0] + (self._base or 0) + self.delay_ms - now) & 0xFFFFFFFF
        return 0.0 if ahead & 0x80000000 else ahead / 1000.0
