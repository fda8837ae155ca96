"""The session's event stream: bounded, never blocking the channel readers.

The readers decode and draw as fast as the server sends, whoever reads the events.
:class:`EventBuffer` (no I/O) holds up to ``limit`` events.  Once it is full, later
events are summarised instead of queued, until the reader has taken every buffered
event; then the summary is queued, in this order:

1. :class:`EventsDropped`, counting the events left out by kind (if any were);
2. one :class:`Damage` per damaged surface and rectangle: every Damage of the
   overflow merged into at most :data:`MAX_DAMAGE_RECTS` rectangles per surface
   (overlapping or touching rectangles join; beyond the limit, one bounding box).
   Together they cover every pixel changed meanwhile.  A surface created meanwhile
   counts as damaged all over; one destroyed (or a RESET channel) loses its damage;
3. the channel ends (:class:`ChannelOpened`, :class:`ChannelEnded`,
   :class:`SessionClosed`), which are never dropped.

Events then queue normally again.  Events keep their arrival order, except that
summarised ones come as that summary.  :class:`EventStream` is the trio face of it.

A reader that redraws once a frame can ask for less: :meth:`EventStream.ignore` leaves whole
event classes out (the session then does not even build them), and
:meth:`EventStream.merge_damage` joins each :class:`Damage` with the Damage queued just
before it when they touch, as the reader would itself.

A stream frame's :class:`Damage` may carry the frame's pixels; the queue keeps at most
:data:`MAX_QUEUED_FRAME_BYTES` of them, and later Damage goes in without (a reader that
stalls behind a 1080p stream would otherwise hold 256 frames).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType

import trio
from spice_proto import DisplaySurfaceCreate, Rect

from ._events import (
    ChannelEnded,
    ChannelOpened,
    Damage,
    DisplayWasReset,
    Event,
    EventsDropped,
    SessionClosed,
    SurfaceCreated,
    SurfaceDestroyed,
    damage,
)

__all__ = ["MAX_DAMAGE_RECTS", "EventBuffer", "EventStream", "merge_rect"]

#: Rectangles kept per surface while damage is merged; more become one bounding box.
MAX_DAMAGE_RECTS = 4
#: :meth:`EventStream.receive` lets other tasks run at least once per this many events
#: (always when it has to wait for one).
_EVENTS_PER_YIELD = 64

_ALWAYS_KEPT = (ChannelOpened, ChannelEnded, SessionClosed)
_new = object.__new__
_set = object.__setattr__


def _union(a: Rect, b: Rect) -> Rect:
    return Rect(min(a.left, b.left), min(a.top, b.top), max(a.right, b.right), max(a.bottom, b.bottom))


def _touch(a: Rect, b: Rect) -> bool:
    """Whether ``a`` and ``b`` overlap or share an edge."""
    return a.left <= b.right and b.left <= a.right and a.top <= b.bottom and b.top <= a.bottom


def _contains(outer: Rect, inner: Rect) -> bool:
    return (
        outer.left <= inner.left
        and outer.top <= inner.top
        and outer.right >= inner.right
        and outer.bottom >= inner.bottom
    )


def merge_rect(rects: list[Rect], rect: Rect, limit: int = MAX_DAMAGE_RECTS) -> list[Rect]:
    """``rects`` plus ``rect``: at most ``limit`` rectangles covering every pixel of both."""
    if rect.width <= 0 or rect.height <= 0 or any(_contains(r, rect) for r in rects):
        return rects
    merged = rect
    rest = list(rects)
    joined = True
    while joined:
        joined = False
        for other in rest:
            if _touch(merged, other):
                merged = _union(merged, other)
                rest.remove(other)
                joined = True
                break
    rest.append(merged)
    if len(rest) > limit:
        box = rest[0]
        for other in rest[1:]:
            box = _union(box, other)
        rest = [box]
    return rest


#: Stream frame pixels (``Damage.pixels``) a buffer holds at most.
MAX_QUEUED_FRAME_BYTES = 64 << 20


class EventBuffer:
    """Bounded event queue that summarises instead of growing (see the module docstring)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the event buffer must hold at least 1 event, not {limit}")
        self.limit = limit
        self._queue: deque[Event] = deque()
        #: Merged damage of the overflow, by (channel id, surface id), in order of first damage.
        self._damage: dict[tuple[int, int], list[Rect]] = {}
        self._dropped: Counter[str] = Counter()
        self._kept: list[Event] = []
        self._overflowing = False
        #: Events left out since the start (counted in :class:`EventsDropped`).
        self.dropped_total = 0
        #: Damage events merged into others since the start.
        self.merged_total = 0
        #: Join a Damage with the queued Damage before it (see :meth:`EventStream.merge_damage`).
        self.merge_damage = False
        #: Bytes of the stream frames queued Damage carries.
        self.frame_bytes = 0

    def __len__(self) -> int:
        """Events waiting, the pending summary not included."""
        return len(self._queue)

    @property
    def overflowing(self) -> bool:
        """Whether events are being summarised (the buffer filled up)."""
        return self._overflowing

    def put(self, event: Event, *, force: bool = False) -> None:
        """Queue ``event``, or add it to the summary when the buffer is full; never blocks.

        ``force`` queues it past the limit (the handshake's events, before any reader runs).
        """
        if not self._overflowing and (force or len(self._queue) < self.limit):
            queue = self._queue
            if type(event) is Damage:
                if self.merge_damage and queue and self._joined(queue[-1], event):
                    return
                pixels = event.pixels
                if pixels is not None:
                    if self.frame_bytes + pixels.nbytes > MAX_QUEUED_FRAME_BYTES:
                        event = Damage(event.surface_id, event.rect, event.channel_id, event.mm_time)
                    else:
                        self.frame_bytes += pixels.nbytes
            queue.append(event)
            return
        self._overflowing = True
        if isinstance(event, _ALWAYS_KEPT):
            self._kept.append(event)
            return
        if isinstance(event, Damage):
            key = (event.channel_id, event.surface_id)
            self._damage[key] = merge_rect(self._damage.get(key, []), event.rect)
            self.merged_total += 1
            return
        if isinstance(event, SurfaceCreated) and isinstance(event.message, DisplaySurfaceCreate):
            created = event.message
            key = (event.channel_id, created.surface_id)
            self._damage.pop(key, None)  # the new surface replaces the old one and all its damage
            self._damage[key] = merge_rect([], Rect(0, 0, created.width, created.height))
        elif isinstance(event, SurfaceDestroyed):
            self._damage.pop((event.channel_id, event.surface_id), None)
        elif isinstance(event, DisplayWasReset):
            for key in [k for k in self._damage if k[0] == event.channel_id]:
                del self._damage[key]
        self._dropped[type(event).__name__] += 1
        self.dropped_total += 1

    def _joined(self, last: Event, event: Damage) -> bool:
        """Whether ``event`` was joined with the queued ``last`` (see ``merge_damage``).

        Per draw while a viewer lags a little: attribute reads, no Rect built through its
        ``__init__``."""
        if type(last) is not Damage or last.mm_time is not None or event.mm_time is not None:
            return False
        if last.surface_id != event.surface_id or last.channel_id != event.channel_id:
            return False
        a, b = last.rect, event.rect
        if not (a.left <= b.right and b.left <= a.right and a.top <= b.bottom and b.top <= a.bottom):
            return False
        self.merged_total += 1
        if a.left <= b.left and a.top <= b.top and a.right >= b.right and a.bottom >= b.bottom:
            return True  # inside the queued one already
        box = _new(Rect)
        _set(
            box,
            "__dict__",
            {
                "left": min(a.left, b.left),
                "top": min(a.top, b.top),
                "right": max(a.right, b.right),
                "bottom": max(a.bottom, b.bottom),
            },
        )
        self._queue[-1] = damage(event.surface_id, box, event.channel_id)
        return True

    def take(self) -> Event | None:
        """The next event, or ``None`` when there is none yet."""
        if not self._queue and self._overflowing:
            self._flush()
        if not self._queue:
            return None
        event = self._queue.popleft()
        if type(event) is Damage and event.pixels is not None:
            self.frame_bytes -= event.pixels.nbytes
        return event

    def clear(self) -> None:
        """Forget everything queued or summarised."""
        self._queue.clear()
        self.frame_bytes = 0
        self._reset_summary()

    def _flush(self) -> None:
        """Queue the summary of the overflow; events then queue normally again."""
        if self._dropped:
            kinds = tuple(sorted(self._dropped.items()))
            self._queue.append(EventsDropped(sum(self._dropped.values()), kinds))
        for (channel_id, surface_id), rects in self._damage.items():
            self._queue.extend(Damage(surface_id, rect, channel_id) for rect in rects)
        self._queue.extend(self._kept)
        self._reset_summary()

    def _reset_summary(self) -> None:
        self._damage = {}
        self._dropped = Counter()
        self._kept = []
        self._overflowing = False


class EventStream(trio.abc.ReceiveChannel[Event]):
    """What :meth:`Session.events` returns: ``async for event in session.events()``.

    The channel readers :meth:`put` events without waiting.  The stream ends when every
    reader has finished; :meth:`close` (or ``with`` / :meth:`aclose`) stops listening and
    drops whatever is queued, without affecting the session.
    """

    def __init__(self, limit: int = 256) -> None:
        self.buffer = EventBuffer(limit)
        self._lot = trio.lowlevel.ParkingLot()
        self._producers = 0
        self._started = False
        self._closed = False
        self._since_yield = 0
        self._ignored: frozenset[type[Event]] = frozenset()
        self._at_once: dict[type[Event], Callable[[Event], bool]] = {}

    # ------------------------------------------------------------- what to keep
    def ignore(self, *kinds: type[Event]) -> None:
        """Leave out events of exactly these classes from now on (subclasses still come):
        they are neither queued nor counted as dropped, and the session does not build them.

        For a reader that needs none of them, such as a viewer, which draws from ``Damage``
        and needs no per-message ``DrawEvent``.
        """
        self._ignored = self._ignored | frozenset(kinds)

    def handle_at_once(self, kind: type[Event], handler: Callable[[Event], bool] | None) -> None:
        """Offer each event of exactly class ``kind`` to ``handler`` as it is put, in the task
        that puts it, when nothing is queued before it (events keep their order); ``handler``
        returns whether it took the event, else the event is queued as usual.  ``None`` stops.

        For a reader that only needs to note an event (a viewer noting a Damage rectangle for
        its next frame): the event costs no queueing and no scheduler round to reach it.
        ``handler`` runs inside the session's channel reader: it must not block, and what it
        raises ends that reader.
        """
        if handler is None:
            self._at_once.pop(kind, None)
        else:
            self._at_once[kind] = handler

    def wants(self, kind: type[Event]) -> bool:
        """Whether an event of exactly class ``kind`` would be queued (not closed, not ignored)."""
        return not self._closed and kind not in self._ignored

    def merge_damage(self, merge: bool = True) -> None:
        """Join each ``Damage`` with the ``Damage`` queued just before it, of the same surface,
        when their rectangles overlap or share an edge: one Damage of their bounding box.

        It may then name pixels that did not change (the box of two touching lines of
        different lengths), which a viewer redrawing once a frame does not mind; a reader
        that needs each draw's exact rectangle leaves it off (the default).  A stream
        frame's Damage (with ``mm_time``) is never merged.
        """
        self.buffer.merge_damage = merge

    # ------------------------------------------------------------- producers
    def put(self, event: Event, *, force: bool = False) -> None:
        """Queue an event (dropped silently once the stream is closed)."""
        if self._closed or type(event) in self._ignored:
            return
        if self._at_once:
            handler = self._at_once.get(type(event))
            buffer = self.buffer
            # (the buffer's state read in line: this runs once a message)
            if handler is not None and not buffer._queue and not buffer._overflowing and handler(event):
                return
        self.buffer.put(event, force=force)
        if self._lot:  # a reader waits (most puts find none: it is busy with earlier events)
            self._lot.unpark_all()

    def add_producers(self, count: int) -> None:
        """``count`` readers will put events; the stream ends when all called :meth:`producer_done`."""
        self._started = True
        self._producers += count

    def producer_done(self) -> None:
        self._producers -= 1
        if self._producers <= 0:
            self._lot.unpark_all()

    # ------------------------------------------------------------- consumer
    @property
    def closed(self) -> bool:
        return self._closed

    def receive_nowait(self) -> Event:
        """Next event; :class:`trio.WouldBlock` if none is ready, :class:`trio.EndOfChannel` at the end."""
        if self._closed:
            raise trio.ClosedResourceError("the session's event stream was closed")
        event = self.buffer.take()
        if event is not None:
            return event
        if self._started and self._producers <= 0:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> Event:
        """The next event.  Always a cancel point; it lets other tasks run when it waits, and
        at least once per ``_EVENTS_PER_YIELD`` events taken without waiting.  (A yield per
        event let the reader take one event per scheduler round while a channel reader put
        two per draw: the buffer filled under any flood.)"""
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                event = self.receive_nowait()
            except trio.WouldBlock:
                await self._lot.park()
                self._since_yield = 0
                continue
            self._since_yield += 1
            if self._since_yield >= _EVENTS_PER_YIELD:
                self._since_yield = 0
                await trio.lowlevel.cancel_shielded_checkpoint()
            return event

    def close(self) -> None:
        """Stop listening: queued events are dropped, later ones not kept."""
        self._closed = True
        self.buffer.clear()
        self._lot.unpark_all()

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
