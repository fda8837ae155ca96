"""The display channel handler: messages in, surfaces and display events out (sans-I/O).

:class:`DisplayChannelState` keeps one display channel's surfaces, palette cache and
monitors; :class:`Display` holds every channel's state plus what they share (the pixmap
cache and the GLZ window, see :class:`~spice_session._image_cache.ImageStore`).

Errors: a draw command that cannot be carried out (unknown surface, missing cache entry,
corrupt image...) raises :class:`DisplayError` inside the handler; :meth:`handle` catches
it, logs it, counts it in ``errors`` and returns a :class:`DisplayProblem` event.  The
command is skipped and the channel goes on: one bad image should not end a session, and
the event makes the problem visible.  Stream messages go to an optional ``streams`` hook.

Memory: every surface is charged to the session's :class:`~spice_session.MemoryBudget`
(shared through the :class:`~spice_session._image_cache.ImageStore`) before it is allocated
and refunded when it goes; one that does not fit is a :class:`BudgetExceeded` problem.
Per-channel totals are running sums, so each message costs O(1) whatever the surface count.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from spice_proto import (
    DisplayInvalAllPalettes,
    DisplayInvalAllPixmaps,
    DisplayInvalList,
    DisplayInvalPalette,
    DisplayMark,
    DisplayMonitorsConfig,
    DisplayReset,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    Head,
    Message,
    Rect,
    ResourceType,
    SurfaceFlags,
    UnknownMessage,
)

from ._budget import MemoryBudget
from ._canvas import DRAWERS
from ._errors import DisplayError
from ._events import (
    DisplayMarked,
    DisplayProblem,
    DisplayWasReset,
    Event,
    MonitorsConfigChanged,
    SurfaceDestroyed,
    damage,
)
from ._image_cache import ImageStore, PaletteCache
from ._images import ImageDecoder
from ._surface import Surface, bytes_per_pixel, check_surface_size

__all__ = ["Display", "DisplayChannelState", "Monitor", "StreamHook"]

log = logging.getLogger("spice_session.display")

#: The messages that may keep a frame back (the others write the frames kept back first).
_FRAME_MESSAGES = (DisplayStreamData, DisplayStreamDataSized)
#: All surfaces of one display channel together may hold at most this many pixels.
MAX_CHANNEL_PIXELS = 1 << 27
#: What a surface costs the memory budget beyond its pixels (object, array header, dict slot).
SURFACE_OVERHEAD = 512


def surface_cost(width: int, height: int, fmt: int) -> int:
    """Bytes a ``width`` x ``height`` surface of ``fmt`` is charged to the memory budget."""
    return width * height * bytes_per_pixel(fmt) + SURFACE_OVERHEAD


class StreamHook(Protocol):
    """What the display handler needs from a video stream handler (``_streams.StreamManager``)."""

    def handle(
        self, message: Message | UnknownMessage, surfaces: Mapping[int, Surface]
    ) -> list[Event | Message]:
        """Handle a STREAM_* message: events to emit and messages (reports) to send."""
        ...

    def frame(
        self, message: DisplayStreamData | DisplayStreamDataSized, surfaces: Mapping[int, Surface]
    ) -> list[Event | Message]:
        """Handle a STREAM_DATA or STREAM_DATA_SIZED (what :meth:`handle` does with one)."""
        ...

    def settle_frames(self) -> None:
        """Write the frames kept back into their surfaces."""
        ...

    def destroy_all(self) -> list[Event | Message]:
        """Forget every stream (RESET)."""
        ...

    def surface_destroyed(self, surface_id: int) -> list[Event | Message]:
        """Forget the streams on a surface that went away."""
        ...


class DisplayChannelState:
    """One display channel: its surfaces, palette cache and monitors.

    ``outbox`` collects messages the session must send on the channel (stream reports).
    """

    def __init__(self, channel_id: int, store: ImageStore, streams: StreamHook | None = None) -> None:
        self.channel_id = channel_id
        self.store = store
        self.surfaces: dict[int, Surface] = {}
        self.monitors: tuple[Head, ...] = ()
        self.max_monitors = 0
        self.palettes = PaletteCache()
        self.decoder = ImageDecoder(store, self.palettes, self.surface)
        self.streams = streams
        self.outbox: list[Message] = []
        #: MARK seen: the primary surface holds a complete picture.
        self.marked = False
        #: Something was drawn on the primary surface since it was created.
        self.drawn = False
        #: Draw commands skipped because of a :class:`DisplayError`.
        self.errors = 0
        self._primary_id: int | None = None
        #: Pixels held by all surfaces of this channel (a running total).
        self._pixels = 0

    @property
    def budget(self) -> MemoryBudget:
        """The session's memory budget (the one the image store charges)."""
        return self.store.budget

    @property
    def primary(self) -> Surface | None:
        """The primary surface (the screen), if the server created one."""
        return None if self._primary_id is None else self.surfaces.get(self._primary_id)

    def surface(self, surface_id: int) -> Surface:
        """A surface by id; :class:`DisplayError` if there is none."""
        try:
            return self.surfaces[surface_id]
        except KeyError:
            raise DisplayError(f"display {self.channel_id}: no surface {surface_id}") from None

    # ------------------------------------------------------------------ handler
    def handle(self, message: Message | UnknownMessage) -> list[Event]:
        """Apply one display message; the display events it caused."""
        try:
            streams = self.streams
            if streams is not None and type(message) in _FRAME_MESSAGES:  # the video's per-frame path
                events: list[Event] = []
                for item in streams.frame(message, self.surfaces):  # type: ignore[arg-type]
                    if isinstance(item, Event):  # (_split in line: this runs once a frame)
                        events.append(item)
                    else:
                        self.outbox.append(item)
                return events
            return self._handle(message)
        except DisplayError as exc:
            self.errors += 1
            log.warning("display %d: skipped %s: %s", self.channel_id, type(message).__name__, exc)
            # the event outlives the draw: it keeps no traceback (whose frames hold image
            # views) and no chained error
            exc.__traceback__ = exc.__context__ = exc.__cause__ = None
            return [DisplayProblem(exc, self.channel_id)]

    def _handle(self, message: Message | UnknownMessage) -> list[Event]:
        cid = self.channel_id
        streams = self.streams
        if streams is not None:  # (not a stream frame: handle took those)
            streams.settle_frames()  # what follows may draw over, or read, a frame kept back
        drawer = DRAWERS.get(type(message))
        if drawer is not None:  # the per-draw path: one lookup, one call
            surface_id: int = message.surface_id  # type: ignore[union-attr]
            surface = self.surfaces.get(surface_id) or self.surface(surface_id)
            rect = drawer(surface, message, self.decoder)
            if rect is None:
                return []
            if surface.primary:
                self.drawn = True
            return [damage(surface_id, rect, cid)]
        if isinstance(message, DisplaySurfaceCreate):
            return self._create(message)
        if isinstance(message, DisplaySurfaceDestroy):
            gone = self._drop(message.surface_id)
            if gone is None:
                return []
            events: list[Event] = []
            if self.streams is not None:
                events += self._split(self.streams.surface_destroyed(message.surface_id))
            return [*events, SurfaceDestroyed(message.surface_id, cid)]
        if isinstance(message, DisplayMark):
            self.marked = True
            return [DisplayMarked(cid)]
        if isinstance(message, DisplayReset):
            return self._reset()
        if isinstance(message, DisplayMonitorsConfig):
            self.monitors = message.heads
            self.max_monitors = message.max_allowed
            return [MonitorsConfigChanged(message.heads, message.max_allowed, cid)]
        if isinstance(message, DisplayInvalList):
            for resource in message.resources:
                if resource.type == ResourceType.PIXMAP:
                    self.store.remove(resource.id)
            return []
        if isinstance(message, DisplayInvalAllPixmaps):
            self.store.clear_pixmaps()
            return []
        if isinstance(message, DisplayInvalPalette):
            self.palettes.remove(message.id)
            return []
        if isinstance(message, DisplayInvalAllPalettes):
            self.palettes.clear()
            return []
        if self.streams is not None:
            return self._split(self.streams.handle(message, self.surfaces))
        return []

    def _split(self, outcomes: list[Event | Message]) -> list[Event]:
        """Events are returned, messages to send go to the outbox."""
        events: list[Event] = []
        for item in outcomes:
            if isinstance(item, Event):
                events.append(item)
            else:
                self.outbox.append(item)
        return events

    def _create(self, message: DisplaySurfaceCreate) -> list[Event]:
        sid, width, height = message.surface_id, message.width, message.height
        primary = bool(message.flags & SurfaceFlags.PRIMARY)
        check_surface_size(sid, width, height)
        old = self.surfaces.get(sid)
        old_pixels = 0 if old is None else old.width * old.height
        old_cost = 0 if old is None else surface_cost(old.width, old.height, old.format)
        what = f"display {self.channel_id}: surface {sid} ({width}x{height})"
        if self._pixels - old_pixels + width * height > MAX_CHANNEL_PIXELS:
            raise DisplayError(f"{what} would take the channel's surfaces past {MAX_CHANNEL_PIXELS} pixels")
        cost = surface_cost(width, height, message.format)
        self.budget.check(cost - old_cost, what)
        surface = Surface(sid, width, height, message.format, primary)
        events: list[Event] = []
        if self._drop(sid) is not None:
            events.append(SurfaceDestroyed(sid, self.channel_id))
        self.budget.charge(cost, what)
        self._pixels += width * height
        if primary:
            self.marked = self.drawn = False
            self._primary_id = sid
        self.surfaces[sid] = surface
        # the SurfaceCreated event itself is the message's event, filled in by the session
        return events

    def _drop(self, surface_id: int) -> Surface | None:
        """Forget a surface and refund what it cost; the surface, or ``None`` if there was none."""
        gone = self.surfaces.pop(surface_id, None)
        if gone is not None:
            self.budget.refund(surface_cost(gone.width, gone.height, gone.format))
            self._pixels -= gone.width * gone.height
            if surface_id == self._primary_id:
                self._primary_id = None
        return gone

    def _reset(self) -> list[Event]:
        events: list[Event] = [SurfaceDestroyed(sid, self.channel_id) for sid in self.surfaces]
        for sid in list(self.surfaces):
            self._drop(sid)
        self.palettes.clear()
        self.marked = self.drawn = False
        if self.streams is not None:
            events = self._split(self.streams.destroy_all()) + events
        events.append(DisplayWasReset(self.channel_id))
        return events


@dataclass(frozen=True)
class Monitor:
    """One guest monitor: its display channel, its id there, and the area of that channel's
    primary surface it shows."""

    channel_id: int
    monitor_id: int
    x: int
    y: int
    width: int
    height: int


class Display:
    """Every display channel of a session; ``surfaces``/``primary``/``monitors`` are channel 0's
    (the first display channel) for the common single-channel case."""

    def __init__(
        self, pixmap_cache_pixels: int, glz_window_pixels: int, budget: MemoryBudget | None = None
    ) -> None:
        self.store = ImageStore(pixmap_cache_pixels, glz_window_pixels, budget)
        self.channels: dict[int, DisplayChannelState] = {}

    def channel(self, channel_id: int, streams: StreamHook | None = None) -> DisplayChannelState:
        """The state of display channel ``channel_id`` (created on first use)."""
        state = self.channels.get(channel_id)
        if state is None:
            state = self.channels[channel_id] = DisplayChannelState(channel_id, self.store, streams)
        return state

    @property
    def _first(self) -> DisplayChannelState | None:
        channels = self.channels
        first = channels.get(0)  # the first display channel nearly always (ids start at 0)
        if first is None and channels:
            first = channels[min(channels)]
        return first

    @property
    def surfaces(self) -> dict[int, Surface]:
        first = self._first
        return first.surfaces if first is not None else {}

    @property
    def primary(self) -> Surface | None:
        # read several times a stream frame: the first channel's primary, in one call
        first = self.channels.get(0) or self._first
        if first is None or first._primary_id is None:
            return None
        return first.surfaces.get(first._primary_id)

    @property
    def monitors(self) -> tuple[Head, ...]:
        first = self._first
        return first.monitors if first is not None else ()

    def monitor_layout(self) -> tuple[Monitor, ...]:
        """Every monitor with a picture, by channel then monitor id: the heads of each channel's
        MONITORS_CONFIG (clipped to its primary surface), or the whole primary surface of a
        channel that sent none."""
        out: list[Monitor] = []
        for channel_id in sorted(self.channels):
            state = self.channels[channel_id]
            primary = state.primary
            if primary is None:
                continue
            heads = sorted(state.monitors, key=lambda h: h.monitor_id)
            found = False
            for head in heads:
                left, top = max(0, head.x), max(0, head.y)
                right = min(primary.width, head.x + head.width)
                bottom = min(primary.height, head.y + head.height)
                if right > left and bottom > top:
                    out.append(Monitor(channel_id, head.monitor_id, left, top, right - left, bottom - top))
                    found = True
            if not found:
                out.append(Monitor(channel_id, 0, 0, 0, primary.width, primary.height))
        return tuple(out)

    def monitor_rgb(self, monitor: Monitor) -> npt.NDArray[np.uint8]:
        """A ``(height, width, 3)`` RGB copy of what ``monitor`` shows now."""
        state = self.channels.get(monitor.channel_id)
        primary = state.primary if state is not None else None
        if primary is None:
            raise DisplayError(f"display channel {monitor.channel_id} has no primary surface")
        rgb = primary.to_rgb()
        return np.ascontiguousarray(
            rgb[monitor.y : monitor.y + monitor.height, monitor.x : monitor.x + monitor.width]
        )

    @property
    def budget(self) -> MemoryBudget:
        """The memory budget every display channel, cache and stream of the session charges."""
        return self.store.budget

    @property
    def errors(self) -> int:
        """Draw commands skipped on any channel (see :class:`DisplayProblem`)."""
        return sum(state.errors for state in self.channels.values())


def damage_union(rects: list[Rect]) -> Rect | None:
    """The bounding rectangle of ``rects`` (``None`` for none)."""
    if not rects:
        return None
    return Rect(
        min(r.left for r in rects),
        min(r.top for r in rects),
        max(r.right for r in rects),
        max(r.bottom for r in rects),
    )
