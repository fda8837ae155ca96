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

Areas redrawn at video rate become MJPEG streams (see :mod:`spice_server._video`):
STREAM_CREATE, STREAM_ACTIVATE_REPORT, STREAM_DATA (or STREAM_DATA_SIZED), and
STREAM_DESTROY followed by a lossless redraw of the stream's area.  Lossless draws
never touch a live stream's area, so late stream frames a client plays out cannot
paint over newer pixels.

A scroll of the source (:meth:`Framebuffer.scroll`) becomes COPY_BITS when the
client's copy of the source area is known to be right; the dirty region moves
with the pixels.  Otherwise the scrolled area is plain damage.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from weakref import WeakKeyDictionary

from spice_proto import (
    INVALID_STREAM_DROPS,
    Clip,
    DisplayCopyBits,
    DisplayDrawCopy,
    DisplayInvalList,
    DisplayMark,
    DisplayMonitorsConfig,
    DisplayStreamActivateReport,
    DisplayStreamCreate,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplayStreamDestroy,
    DisplayStreamReport,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    FromCacheImage,
    Head,
    Image,
    ImageFlags,
    ImageScaleMode,
    Message,
    Point,
    Rect,
    ResourceId,
    ResourceType,
    Ropd,
    StreamFlags,
    SurfaceFlags,
    SurfaceFmt,
    VideoCodecType,
)

from ._cache import CACHE_MIN_AREA, PixmapCache, content_key
from ._compress import ImageEncoder, encode_mjpeg, is_photo_like
from ._region import Box, DirtyRegion
from ._source import Frame, FrameSource
from ._video import (
    MAX_FPS,
    MAX_STREAMS,
    REPORT_TIMEOUT_MS,
    REPORT_WINDOW,
    RateController,
    StreamDetector,
    StreamingMode,
    VideoStream,
    box_subtract,
    media_time,
)

__all__ = ["PRIMARY_SURFACE", "DisplayPipeline", "Job", "split_box"]

PRIMARY_SURFACE = 0

#: Largest area sent as one DRAW_COPY; bigger boxes go as horizontal bands.
MAX_DRAW_PIXELS = 256 * 1024

#: A scroll falls back to plain damage when more than this share of its source area is dirty.
SCROLL_DIRTY_LIMIT = 0.5


def split_box(box: Box, max_pixels: int = MAX_DRAW_PIXELS) -> list[Box]:
    """``box`` cut into full-width horizontal bands of at most ``max_pixels`` pixels."""
    rows = max(1, max_pixels // max(1, box.width))
    return [
        Box(box.left, top, box.right, min(box.bottom, top + rows)) for top in range(box.top, box.bottom, rows)
    ]


def _rect(box: Box) -> Rect:
    return Rect(box.left, box.top, box.right, box.bottom)


@dataclass(frozen=True)
class Job:
    """An encode of ``pixels`` pixels; :attr:`run` returns the messages to send, in order.

    Jobs of one pipeline must run one at a time, in the order given (GLZ and the image
    cache depend on it); any thread may run them.
    """

    pixels: int
    run: Callable[[], list[Message]]


class DisplayPipeline:
    """Damage of one source, turned into messages for one client.

    ``clock`` gives seconds (stream detection, frame pacing, timeouts); the I/O side
    passes ``trio.current_time``.  ``video_codecs`` are the stream codecs the client
    decodes (empty: no streams); ``sized_streams`` and ``stream_reports`` are its
    SIZED_STREAM and STREAM_REPORT capabilities.
    """

    def __init__(
        self,
        source: FrameSource,
        encoder: ImageEncoder | None = None,
        *,
        monitors_config: bool = False,
        max_boxes: int = 16,
        max_draw_pixels: int = MAX_DRAW_PIXELS,
        streaming: StreamingMode | str = StreamingMode.OFF,
        video_codecs: Sequence[VideoCodecType] = (VideoCodecType.MJPEG,),
        sized_streams: bool = False,
        stream_reports: bool = False,
        copy_bits: bool = True,
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
        #: Called (without arguments) whenever there is new work; the I/O side sets it.
        self.wake: Callable[[], None] | None = None
        self.clock = clock
        self.copy_bits = copy_bits
        self.detector = StreamDetector(StreamingMode.parse(streaming))
        self.video_codecs = tuple(video_codecs)
        self.sized_streams = sized_streams
        self.stream_reports = stream_reports
        #: Live streams by id.
        self.streams: dict[int, VideoStream] = {}
        #: Statistics: COPY_BITS sent, scrolls that fell back to damage, streams created and ended.
        self.stats: dict[str, int] = dict.fromkeys(
            ("copy_bits", "scroll_fallbacks", "streams_created", "streams_destroyed"), 0
        )
        #: The streams that ended last (for statistics).
        self.ended: deque[VideoStream] = deque(maxlen=32)
        self._dying: list[VideoStream] = []
        self._ops: deque[Message] = deque()
        self._inflight: list[Box] = []
        self._job_band: Box | None = None
        self._report_ids = 0
        self._attached = False

    # --- DamageListener ---------------------------------------------------------------------

    def damaged(self, box: Box) -> None:
        for part in self._video_damage(box, self.clock()):
            self.region.add(part)
        self._wake()

    def resized(self, width: int, height: int) -> None:
        self.region.resize(width, height)
        self._wake()

    def scrolled(self, box: Box, dx: int, dy: int) -> None:
        """The pixels of ``box`` moved by ``dx, dy`` (within ``box``; the rest of it is unchanged)."""
        dest = box.intersect(box.shifted(dx, dy))
        if dest.empty:
            return  # nothing moved
        src = dest.shifted(-dx, -dy)
        if not self._can_copy(box, src):
            self.stats["scroll_fallbacks"] += 1
            self.damaged(dest)
            return
        # What the client may have wrong once everything queued so far is applied: the dirty
        # region, the bands taken but not drawn yet, and the band being encoded right now.
        unknown = [*self.region.boxes, *self._inflight]
        if self._job_band is not None:
            unknown.append(self._job_band)
        moved = []
        kept = []
        for b in unknown:
            part = b.intersect(src)
            if not part.empty:
                moved.append(part.shifted(dx, dy))
            if not dest.contains(b):
                kept.append(b)
        self.region.clear()
        self._inflight = []
        for b in kept + moved:
            self.region.add(b)
        self._ops.append(DisplayCopyBits(PRIMARY_SURFACE, _rect(dest), Clip(), Point(src.left, src.top)))
        self.stats["copy_bits"] += 1
        self._wake()

    def _can_copy(self, box: Box, src: Box) -> bool:
        if not self.copy_bits or self.surface != (self.source.width, self.source.height):
            return False
        if any(not s.area.intersect(box).empty for s in [*self.streams.values(), *self._dying]):
            return False  # a stream's pixels on the client are lossy and late frames may still land
        unknown = [*self.region.boxes, *self._inflight]
        dirty = sum(b.intersect(src).area for b in unknown)
        return dirty <= SCROLL_DIRTY_LIMIT * src.area

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake()

    # --- lifecycle --------------------------------------------------------------------------

    def attach(self) -> None:
        """Start listening to the source (everything is dirty at first)."""
        if not self._attached:
            self.source.subscribe(self)
            self._attached = True
        self.region.resize(self.source.width, self.source.height)

    def detach(self) -> None:
        if self._attached:
            self.source.unsubscribe(self)
            self._attached = False

    def set_cache_size(self, pixels: int) -> None:
        """The client's pixmap cache holds ``pixels`` pixels (DISPLAY_INIT); 0 disables caching."""
        self.cache = PixmapCache(pixels) if pixels > 0 else None

    @property
    def has_work(self) -> bool:
        """Whether :meth:`items` has something to send now."""
        if self.region or self._inflight or self._ops or self._dying:
            return True
        if self.surface != (self.source.width, self.source.height):
            return True
        now = self.clock()
        return any(
            not s.created_sent or now >= s.expires or (s.pending and now >= s.next_send())
            for s in self.streams.values()
        )

    def next_deadline(self) -> float | None:
        """When a stream next needs attention (a paced frame, a timeout); ``None``: no stream."""
        times = [s.expires for s in self.streams.values()]
        times += [s.next_send() for s in self.streams.values() if s.pending]
        return min(times, default=None)

    # --- streams ----------------------------------------------------------------------------

    @property
    def streaming(self) -> StreamingMode:
        return self.detector.mode

    @property
    def video_codec(self) -> VideoCodecType | None:
        """The codec new streams use (MJPEG is the one encoder); ``None``: this client gets no streams."""
        return VideoCodecType.MJPEG if VideoCodecType.MJPEG in self.video_codecs else None

    def set_preferred_codecs(self, codecs: Sequence[int]) -> None:
        """DISPLAY_PREFERRED_VIDEO_CODEC_TYPE: order of preference.  Codecs the client can decode but
        did not list stay usable after the listed ones (as libspice-server does)."""
        listed = [VideoCodecType(c) for c in codecs if c in VideoCodecType._value2member_map_]
        rank = {c: i for i, c in enumerate(listed)}
        self.video_codecs = tuple(sorted(self.video_codecs, key=lambda c: rank.get(c, len(rank))))

    def stream_report(self, msg: DisplayStreamReport) -> None:
        """A client's STREAM_REPORT: steer the stream's quality and rate, or stop streaming."""
        stream = self.streams.get(msg.stream_id)
        if msg.num_drops == INVALID_STREAM_DROPS and msg.num_frames == 0:
            if stream is not None:  # the client cannot play our streams: no more for it
                self.video_codecs = ()
                for s in list(self.streams.values()):
                    self._end_stream(s)
                self._wake()
            return
        if stream is None or msg.unique_id != stream.report_id:
            return  # a report on a stream that ended, or on an earlier activation
        stream.controller.report(msg.num_frames, msg.num_drops, msg.last_frame_delay)

    def _video_damage(self, box: Box, now: float) -> list[Box]:
        """Route damage to the streams; the parts left for lossless drawing."""
        for s in self.streams.values():
            if s.box.contains(box):
                s.frame(now)
                return []
        rest = [box]
        for s in list(self.streams.values()):
            if box.intersect(s.area).empty:
                continue
            if box.contains(s.area) and 2 * s.area.area < box.area:
                self._end_stream(s)  # covered by larger damage: the whole box goes lossless
                continue
            if self.sized_streams and _similar(box, s.box) and box.area >= self.detector.min_area:
                s.box = box  # the stream's destination moved or changed size
                s.area = s.area.union(box)
                s.frame(now)
                rest = [p for r in rest for p in box_subtract(r, box)]
                continue
            if not box.intersect(s.box).empty:
                s.frame(now)
            rest = [p for r in rest for p in box_subtract(r, s.area)]
        if rest == [box] and self.video_codec is not None and self.surface is not None:

            def photo() -> bool:
                return _photo_like(self.source, box)

            if self.detector.observe(box, now, photo) and len(self.streams) + len(self._dying) < MAX_STREAMS:
                self._start_stream(box, now)
                return []
        return rest

    def _start_stream(self, box: Box, now: float) -> None:
        used = {*self.streams, *(s.id for s in self._dying)}
        stream_id = next(i for i in range(MAX_STREAMS) if i not in used)
        self.streams[stream_id] = VideoStream(stream_id, box, now, RateController(MAX_FPS))
        self.detector.forget(box)
        self.stats["streams_created"] += 1

    def _end_stream(self, stream: VideoStream) -> None:
        """Stop ``stream``: STREAM_DESTROY goes out next, then its area is redrawn losslessly."""
        del self.streams[stream.id]
        self._dying.append(stream)
        self.region.add(stream.area)
        self.ended.append(stream)
        self.stats["streams_destroyed"] += 1

    def _clip(self, band: Box) -> list[Box]:
        """``band`` minus the areas of live streams."""
        parts = [band]
        for s in self.streams.values():
            parts = [p for part in parts for p in box_subtract(part, s.area)]
        return parts

    def _stream_create(self, s: VideoStream) -> list[Message]:
        codec = self.video_codec
        assert codec is not None
        out: list[Message] = [
            DisplayStreamCreate(
                surface_id=PRIMARY_SURFACE,
                id=s.id,
                flags=StreamFlags.TOP_DOWN,
                codec_type=codec,
                stamp=0,
                stream_width=s.box.width,
                stream_height=s.box.height,
                src_width=s.box.width,
                src_height=s.box.height,
                dest=_rect(s.box),
                clip=Clip(),
            )
        ]
        s.created_sent = True
        s.origin = s.box
        if self.stream_reports:
            self._report_ids += 1
            s.report_id = self._report_ids
            out.append(DisplayStreamActivateReport(s.id, s.report_id, REPORT_WINDOW, REPORT_TIMEOUT_MS))
        return out

    def _stream_frame(self, s: VideoStream, frame: Frame, now: float) -> Job:
        box, quality, mm_time = s.box, s.controller.quality, media_time()
        sized = box != s.origin
        s.take(now)

        def run() -> list[Message]:
            data = encode_mjpeg(frame, box, quality)
            s.bytes_sent += len(data)
            if sized:
                return [DisplayStreamDataSized(s.id, mm_time, box.width, box.height, _rect(box), data)]
            return [DisplayStreamData(s.id, mm_time, data)]

        return Job(box.area, run)

    # --- message generation -----------------------------------------------------------------

    def _surface_messages(self) -> list[Message]:
        width, height = self.source.width, self.source.height
        out: list[Message] = []
        for s in [*self._dying, *self.streams.values()]:
            if s.created_sent:
                out.append(DisplayStreamDestroy(s.id))
        self.ended.extend(self.streams.values())
        self.streams.clear()
        self._dying.clear()
        self._ops.clear()
        self._inflight = []
        if self.surface is not None:
            out.append(DisplaySurfaceDestroy(PRIMARY_SURFACE))
        out.append(
            DisplaySurfaceCreate(PRIMARY_SURFACE, width, height, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY)
        )
        if self.monitors_config:
            out.append(DisplayMonitorsConfig((Head(0, PRIMARY_SURFACE, width, height, 0, 0, 0),), 1))
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
            for s in [s for s in self.streams.values() if now >= s.expires]:
                self._end_stream(s)
            if self._ops:
                yield self._ops.popleft()
                continue
            if self._dying:
                dead = self._dying.pop(0)
                if dead.created_sent:
                    yield DisplayStreamDestroy(dead.id)
                continue
            fresh = next((s for s in self.streams.values() if not s.created_sent), None)
            if fresh is not None:
                yield from self._stream_create(fresh)
                continue
            due = next((s for s in self.streams.values() if s.pending and now >= s.next_send()), None)
            if due is not None:
                yield self._stream_frame(due, frame, now)
                continue
            if self._inflight:
                band = self._inflight.pop(0)
                parts = self._clip(band)
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
                    for part in self._clip(box)
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

    def draw(self, frame: Frame, band: Box) -> list[Message]:
        """DRAW_COPY of ``band`` (FROM_CACHE when the client has that content), preceded by
        INVAL_LIST when caching it pushes older entries out of the client's cache."""
        cache = self.cache
        if cache is None or band.area < CACHE_MIN_AREA or not cache.fits(band.area):
            return [self.draw_copy(frame, self.encoder.encode(frame, band), band)]
        # One snapshot for the key and the image: the frame may change while this runs.
        pixels = frame[band.top : band.bottom, band.left : band.right].copy()
        key = content_key(pixels.data, band.width, band.height)
        cached = cache.lookup(key)
        if cached is not None:
            image: Image = FromCacheImage(width=band.width, height=band.height, id=cached)
            return [self.draw_copy(frame, image, band)]
        whole = Box(0, 0, band.width, band.height)
        image = self.encoder.encode(pixels, whole, flags=ImageFlags.CACHE_ME)
        evicted = cache.add(key, image.id, band.area)
        out: list[Message] = []
        if evicted:
            out.append(DisplayInvalList(tuple(ResourceId(ResourceType.PIXMAP, i) for i in evicted)))
        out.append(self.draw_copy(frame, image, band))
        return out

    def draw_copy(self, frame: Frame, image: Image, band: Box) -> DisplayDrawCopy:
        """DRAW_COPY of ``image`` (the content of ``band``) onto the primary surface."""
        return DisplayDrawCopy(
            surface_id=PRIMARY_SURFACE,
            box=_rect(band),
            clip=Clip(),
            src_bitmap=image,
            src_area=Rect(0, 0, band.width, band.height),
            rop_descriptor=Ropd.OP_PUT,
            scale_mode=ImageScaleMode.NEAREST,
        )


#: The last answer of :func:`_photo_like` per source: every client's pipeline asks about the same damage.
_PHOTO_MEMO: WeakKeyDictionary[FrameSource, tuple[int, Box, bool]] = WeakKeyDictionary()


def _photo_like(source: FrameSource, box: Box) -> bool:
    """Whether ``box`` of the source's frame looks photo-like, computed once per change."""
    memo = _PHOTO_MEMO.get(source)
    if memo is not None and memo[0] == source.serial and memo[1] == box:
        return memo[2]
    answer = is_photo_like(source.frame[box.top : box.bottom, box.left : box.right])
    _PHOTO_MEMO[source] = (source.serial, box, answer)
    return answer


def _similar(a: Box, b: Box) -> bool:
    """Whether two boxes overlap by at least half of the larger one (the same area, moved or resized)."""
    return 2 * a.intersect(b).area >= max(a.area, b.area)
