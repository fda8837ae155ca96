"""The per-client display pipeline (sans-I/O): damage in, display messages out.

One :class:`DisplayPipeline` per connected display channel.  It listens to the
frame source and records damage in a bounded :class:`DirtyRegion`; the sender
asks :meth:`DisplayPipeline.items` for what to send next, one item at a time, so
each image is encoded from the newest frame just before it can go out.  An item
is a ready :class:`~spice_proto.Message` or a :class:`Job` (an encode whose
messages follow; the sender may run it in a worker thread).  A client that does
not read simply accumulates a dirty region.

Message order: SURFACE_CREATE (primary), MONITORS_CONFIG (if the client has the
capability), the DRAW_COPYs of the first full frame, MARK; then DRAW_COPYs of
the damage.  A resize sends SURFACE_DESTROY and starts over.

Its parts: the dirty region (:mod:`._region`), video streams (:mod:`._streams`),
scrolls as COPY_BITS (:mod:`._scroll`) and DRAW_COPY through the pixmap cache
(:mod:`._draw`).  Lossless draws never touch a live stream's area, so late stream
frames a client plays out cannot paint over newer pixels.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from spice_proto import (
    DisplayInit,
    DisplayMark,
    DisplayMonitorsConfig,
    DisplayStreamReport,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    Message,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
    VideoCodecType,
)

from ._cache import PixmapCache
from ._compress import Compression, ImageEncoder
from ._draw import PRIMARY_SURFACE, Job, draw_band
from ._heads import heads_of
from ._region import MAX_DRAW_PIXELS, DirtyRegion, split_box
from ._scroll import Scroll
from ._shared import SharedEncodes, shared_encodes
from ._source import Frame, FrameSource
from ._streams import StreamSet
from ._video import StreamingMode, VideoStream

__all__ = ["DisplayPipeline"]


class DisplayPipeline:
    """Damage of one source, turned into messages for one client.

    ``wake()`` is called whenever there is new work (the I/O side's sender waits for it).
    ``clock`` gives seconds (stream detection, frame pacing, timeouts); the I/O side
    passes ``trio.current_time``.  ``video_codecs`` are the stream codecs the client
    decodes (empty: no streams); ``sized_streams`` and ``stream_reports`` are its
    SIZED_STREAM and STREAM_REPORT capabilities.  ``share_encodes``: reuse what other
    clients of the same source encoded for the same pixels (:mod:`._shared`).
    """

    def __init__(
        self,
        source: FrameSource,
        encoder: ImageEncoder | None = None,
        *,
        wake: Callable[[], None] | None = None,
        monitors_config: bool = False,
        max_boxes: int = 16,
        max_draw_pixels: int = MAX_DRAW_PIXELS,
        streaming: StreamingMode | str = StreamingMode.OFF,
        video_codecs: Sequence[VideoCodecType] = (VideoCodecType.MJPEG,),
        sized_streams: bool = False,
        stream_reports: bool = False,
        copy_bits: bool = True,
        share_encodes: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.encoder = encoder or ImageEncoder()
        self.monitors_config = monitors_config
        self.max_draw_pixels = max_draw_pixels
        self.region = DirtyRegion(source.width, source.height, max_boxes)
        #: Size of the surface the client has, ``None`` before SURFACE_CREATE.
        self.surface: tuple[int, int] | None = None
        self.marked = False
        #: Mirror of the client's pixmap cache (``None`` until the client announces one).
        self.cache: PixmapCache | None = None
        self.clock = clock
        self.copy_bits = copy_bits
        #: What the clients of this source share (None: this client encodes everything itself).
        self.shared: SharedEncodes | None = shared_encodes(source) if share_encodes else None
        self._streams = StreamSet(
            source,
            self.region,
            streaming=StreamingMode.parse(streaming),
            video_codecs=video_codecs,
            sized_streams=sized_streams,
            stream_reports=stream_reports,
            shared=self.shared,
        )
        self._wake = wake or _nothing
        self._copies = 0
        self._scroll_fallbacks = 0
        self._ops: deque[Message] = deque()
        self._inflight: list[Rect] = []
        self._job_band: Rect | None = None
        self._attached = False

    # --- DamageListener ---------------------------------------------------------------------

    def damaged(self, box: Rect) -> None:
        for part in self._streams.route(box, self.clock(), self.surface is not None):
            self.region.add(part)
        self._wake()

    def resized(self, width: int, height: int) -> None:
        self.region.resize(width, height)
        self._wake()

    def scrolled(self, box: Rect, dx: int, dy: int) -> None:
        """The pixels of ``box`` moved by ``dx, dy`` (within ``box``; the rest of it is unchanged)."""
        scroll = Scroll(box, dx, dy)
        if not scroll.moved:
            return
        if not self._can_copy(scroll):
            self._scroll_fallbacks += 1
            self.damaged(scroll.dest)
            return
        # What the client may have wrong once everything queued so far is applied: the dirty
        # region, the bands taken but not drawn yet, and the band being encoded right now.
        unknown = [*self.region.boxes, *self._inflight]
        if self._job_band is not None:
            unknown.append(self._job_band)
        self.region.clear()
        self._inflight = []
        for b in scroll.carry(unknown):
            self.region.add(b)
        self._ops.append(scroll.message())
        self._copies += 1
        self._wake()

    def _can_copy(self, scroll: Scroll) -> bool:
        if not self.copy_bits or self.surface != (self.source.width, self.source.height):
            return False
        if self._streams.touches(scroll.box):
            return False  # a stream's pixels on the client are lossy and late frames may still land
        return scroll.mostly_known([*self.region.boxes, *self._inflight])

    # --- lifecycle and client settings ------------------------------------------------------

    def attach(self) -> None:
        """Start listening to the source (everything is dirty at first)."""
        if not self._attached:
            self.source.subscribe(self)
            self._attached = True
            if self.shared is not None:
                self.shared.join()
        self.region.resize(self.source.width, self.source.height)

    def detach(self) -> None:
        if self._attached:
            self.source.unsubscribe(self)
            self._attached = False
            self._streams.close()
            if self.shared is not None:
                self.shared.leave()

    def client_init(self, msg: DisplayInit) -> None:
        """The client's DISPLAY_INIT: its pixmap cache and GLZ dictionary."""
        self.encoder.set_glz_dictionary(msg.glz_dictionary_id, msg.glz_dictionary_window_size)
        self.set_cache_size(msg.pixmap_cache_size)

    def set_cache_size(self, pixels: int) -> None:
        """The client's pixmap cache holds ``pixels`` pixels (DISPLAY_INIT); 0 disables caching."""
        self.cache = PixmapCache(pixels) if pixels > 0 else None

    def set_compression(self, compression: Compression) -> None:
        """Encode images from now on as ``compression`` (the client's preference)."""
        self.encoder.compression = compression

    @property
    def stats(self) -> dict[str, int]:
        """COPY_BITS sent, scrolls that fell back to damage, streams created and ended."""
        return {
            "copy_bits": self._copies,
            "scroll_fallbacks": self._scroll_fallbacks,
            "streams_created": self._streams.created,
            "streams_destroyed": self._streams.destroyed,
        }

    @property
    def has_work(self) -> bool:
        """Whether :meth:`items` has something to send now."""
        if self.region or self._inflight or self._ops:
            return True
        if self.surface != (self.source.width, self.source.height):
            return True
        return self._streams.has_work(self.clock())

    def next_deadline(self) -> float | None:
        """When a stream next needs attention (a paced frame, a timeout); ``None``: no stream."""
        return self._streams.next_deadline(self.clock())

    # --- streams ----------------------------------------------------------------------------

    @property
    def streams(self) -> dict[int, VideoStream]:
        """Live streams by id."""
        return self._streams.live

    @property
    def ended(self) -> deque[VideoStream]:
        """The streams that ended last (for statistics)."""
        return self._streams.ended

    @property
    def streaming(self) -> StreamingMode:
        return self._streams.detector.mode

    @property
    def video_codec(self) -> VideoCodecType | None:
        """The codec new streams use; ``None``: this client gets no streams."""
        return self._streams.video_codec

    def set_preferred_codecs(self, codecs: Sequence[int]) -> None:
        """DISPLAY_PREFERRED_VIDEO_CODEC_TYPE (see :meth:`StreamSet.set_preferred_codecs`)."""
        self._streams.set_preferred_codecs(codecs)

    def stream_report(self, msg: DisplayStreamReport) -> None:
        """A client's STREAM_REPORT: steer the stream's quality and rate, or stop streaming."""
        if self._streams.report(msg):
            self._wake()

    # --- message generation -----------------------------------------------------------------

    def _surface_messages(self) -> list[Message]:
        width, height = self.source.width, self.source.height
        out = self._streams.reset()
        self._ops.clear()
        self._inflight = []
        if self.surface is not None:
            out.append(DisplaySurfaceDestroy(PRIMARY_SURFACE))
        out.append(
            DisplaySurfaceCreate(PRIMARY_SURFACE, width, height, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY)
        )
        if self.monitors_config:
            heads = heads_of(self.source)
            out.append(DisplayMonitorsConfig(heads, max(len(heads), 1)))
        self.surface = (width, height)
        self.marked = False
        self.region.resize(width, height)
        return out

    def items(self) -> Iterator[Message | Job]:
        """What to send now, item by item: messages, and jobs whose messages follow them.

        Take items one by one and run each job before taking the next (damage not yet
        taken stays in the region); stop when the client is gone.
        """
        if self.surface != (self.source.width, self.source.height):
            yield from self._surface_messages()
        while True:
            self._job_band = None  # the previous job's messages went out
            frame = self.source.frame
            if self.surface != (frame.shape[1], frame.shape[0]):
                return  # resized meanwhile: the next round starts with a new surface
            now = self.clock()
            self._streams.expire(now)
            self._streams.observe(now)
            if self._ops:
                yield self._ops.popleft()
                continue
            step = self._streams.next_items(frame, now)
            if step is not None:
                yield from step
                continue
            if self._inflight:
                band = self._inflight.pop(0)
                parts = self._streams.clip(band)
                if parts != [band]:
                    self._inflight[:0] = parts  # a stream started over it meanwhile
                    continue
                self._job_band = band
                yield Job(band.area, partial(self.draw, frame, band))
                continue
            if self.region:
                self._inflight = [
                    band
                    for box in self.region.take()
                    for part in self._streams.clip(box)
                    for band in split_box(part, self.max_draw_pixels)
                ]
                continue
            break
        if not self.marked:
            self.marked = True
            yield DisplayMark()

    def messages(self) -> Iterator[Message]:
        """The messages for the current damage, encoding inline (see :meth:`items`)."""
        for item in self.items():
            if isinstance(item, Job):
                yield from item.run()
            else:
                yield item

    def draw(self, frame: Frame, band: Rect) -> list[Message]:
        """DRAW_COPY of ``band`` (see :func:`~._draw.draw_band`)."""
        return draw_band(frame, band, self.encoder, self.cache, self.shared)


def _nothing() -> None:
    pass
