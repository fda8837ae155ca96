"""Video streams of one display channel: their lifecycle, from STREAM_CREATE to STREAM_DESTROY.

A server that sees a region redrawn quickly turns it into a video stream: STREAM_CREATE
(codec, size, destination rectangle, clip), then one encoded frame per STREAM_DATA (or
STREAM_DATA_SIZED, which brings its own size and destination), STREAM_CLIP when the
visible part changes, STREAM_DESTROY at the end.  Each frame is decoded
(:mod:`._video`), turned upright unless the stream is TOP_DOWN (frames are bottom-up by
default), scaled and clipped into place (:mod:`._placement`); a :class:`Damage` event
reports the bounding box of what changed, with the frame's ``mm_time`` (one per clip rectangle
when a STREAM_CLIP left several: the covered parts between them are not the frame's).  Frames are drawn
on the surface as they arrive, so the final picture is always the last frame; a player that
wants them on the media clock (``spice view``) shows each when its ``mm_time`` comes.

A stream whose codec is not available gives a :class:`StreamUnsupported` event, a warning
in the log, and an "invalid stream" report to the server; its frames are ignored.  Stream
reports are counted by :mod:`._reports`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from spice_proto import (
    Clip,
    ClipType,
    DisplayStreamActivateReport,
    DisplayStreamClip,
    DisplayStreamCreate,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplayStreamDestroy,
    DisplayStreamDestroyAll,
    Message,
    Rect,
    StreamFlags,
    UnknownMessage,
    VideoCodecType,
)

from ._budget import BudgetExceeded, MemoryBudget
from ._errors import StreamError
from ._events import Damage, Event, StreamCreated, StreamDestroyed, StreamUnsupported
from ._mediaclock import MediaClock
from ._placement import place_frame
from ._reports import ReportWindow, invalid_stream_report
from ._surface import Surface
from ._video import MAX_FRAME_SIDE, FrameBuffers, MjpegDecoder, VideoDecoder, make_decoder

__all__ = ["STREAM_FRAME_BUFFERS", "Stream", "StreamManager"]

log = logging.getLogger("spice_session.streams")

#: Frames of its size a stream is charged for: the decoder's reference frames and its output.
STREAM_FRAME_BUFFERS = 4

Outcome = Event | Message


@dataclass
class Stream:
    """One live stream: where its frames go and how they are decoded."""

    id: int
    surface_id: int
    codec: VideoCodecType | int
    flags: StreamFlags
    width: int
    height: int
    dest: Rect
    clip: Clip
    decoder: VideoDecoder
    frames: int = 0
    late: int = 0
    report: ReportWindow | None = field(default=None, repr=False)
    #: Bytes charged to the memory budget for this stream's decoder and frames.
    cost: int = 0
    #: Whether the first row of a frame is its top (``flags``; looked up once, not per frame).
    top_down: bool = field(init=False)

    def __post_init__(self) -> None:
        self.top_down = bool(self.flags & StreamFlags.TOP_DOWN)


class StreamManager:
    """The streams of one display channel.

    :meth:`handle` takes each stream message with the channel's surfaces and returns the
    outcome: events to report and messages (stream reports) to send back, in order.
    ``reports`` says whether we advertised ``DisplayCap.STREAM_REPORT``.  Each stream is
    charged to ``budget`` (:data:`STREAM_FRAME_BUFFERS` frames of its size) while it lives;
    a stream that does not fit is refused (:class:`BudgetExceeded`) and its frames ignored.
    """

    def __init__(
        self,
        clock: MediaClock | None = None,
        *,
        channel_id: int = 0,
        reports: bool = True,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.budget = budget if budget is not None else MemoryBudget()
        self.clock = clock if clock is not None else MediaClock()
        self.channel_id = channel_id
        self.reports = reports
        self.streams: dict[int, Stream] = {}
        #: Streams created with a codec we cannot decode: their frames are ignored quietly.
        self.unsupported: set[int] = set()
        #: Keep a frame that covers its whole destination back from the surface until the
        #: surface is read (see :meth:`Surface.defer_frame`): for a viewer that shows frames
        #: from their ``Damage.pixels``, most frames are then never copied into the surface.
        self.defer_frames = False
        #: Where MJPEG frames are decoded into (see :class:`FrameBuffers`; ``None``: their own arrays).
        self._frame_buffers: FrameBuffers | None = None
        #: Surfaces that may hold a frame kept back, by id.
        self._deferring: dict[int, Surface] = {}

    @property
    def frame_buffers(self) -> FrameBuffers | None:
        """Where MJPEG frames are decoded into, for the streams there are and those to come."""
        return self._frame_buffers

    @frame_buffers.setter
    def frame_buffers(self, buffers: FrameBuffers | None) -> None:
        self._frame_buffers = buffers
        for stream in self.streams.values():
            if isinstance(stream.decoder, MjpegDecoder):
                stream.decoder.buffers = buffers

    def settle_frames(self) -> None:
        """Write the frames kept back into their surfaces (before anything else draws)."""
        for surface in self._deferring.values():
            surface.settle()
        self._deferring.clear()

    def handle(self, message: Message | UnknownMessage, surfaces: Mapping[int, Surface]) -> list[Outcome]:
        """Apply one stream message; other messages return ``[]``.

        Raises :class:`StreamError` for a frame that does not decode, a stream on an unknown
        surface, or an id that is already in use.
        """
        if isinstance(message, DisplayStreamCreate):
            return self._create(message, surfaces)
        if isinstance(message, (DisplayStreamData, DisplayStreamDataSized)):
            return self.frame(message, surfaces)
        if isinstance(message, DisplayStreamClip):
            stream = self.streams.get(message.id)
            if stream is None:
                return self._unknown(message.id)
            stream.clip = message.clip
            return []
        if isinstance(message, DisplayStreamDestroy):
            return self._destroy(message.id)
        if isinstance(message, DisplayStreamDestroyAll):
            return self.destroy_all()
        if isinstance(message, DisplayStreamActivateReport):
            stream = self.streams.get(message.stream_id)
            if stream is None:
                return self._unknown(message.stream_id)
            stream.report = ReportWindow(message.unique_id, message.max_window_size, message.timeout_ms)
            return []
        return []

    def destroy_all(self) -> list[Outcome]:
        """Drop every stream (STREAM_DESTROY_ALL, display RESET, channel close)."""
        out: list[Outcome] = []
        for stream_id in list(self.streams):
            out += self._destroy(stream_id)
        self.unsupported.clear()
        return out

    def surface_destroyed(self, surface_id: int) -> list[Outcome]:
        """Drop the streams drawing on a surface that went away."""
        self._deferring.pop(surface_id, None)
        out: list[Outcome] = []
        for stream in [s for s in self.streams.values() if s.surface_id == surface_id]:
            out += self._destroy(stream.id)
        return out

    # ------------------------------------------------------------------ internals
    def _create(self, msg: DisplayStreamCreate, surfaces: Mapping[int, Surface]) -> list[Outcome]:
        if msg.id in self.streams:
            raise StreamError(f"STREAM_CREATE: stream {msg.id} already exists")
        if msg.surface_id not in surfaces:
            raise StreamError(f"STREAM_CREATE: stream {msg.id} on unknown surface {msg.surface_id}")
        self.unsupported.discard(msg.id)
        what = f"STREAM_CREATE: stream {msg.id} of {msg.stream_width}x{msg.stream_height}"
        cost = STREAM_FRAME_BUFFERS * 4 * msg.stream_width * msg.stream_height
        try:
            self.budget.charge(cost, what)
        except BudgetExceeded:
            self.unsupported.add(msg.id)  # its frames are dropped quietly
            raise
        try:
            decoder = make_decoder(
                msg.codec_type, self.budget, self._frame_buffers, (msg.stream_width, msg.stream_height)
            )
        except StreamError as exc:
            self.budget.refund(cost)
            log.warning("stream %d: %s; its frames will not be shown", msg.id, exc)
            self.unsupported.add(msg.id)
            out: list[Outcome] = [StreamUnsupported(msg.id, msg.codec_type, str(exc), self.channel_id)]
            return out + self._invalid_report(msg.id)
        self.streams[msg.id] = Stream(
            msg.id,
            msg.surface_id,
            msg.codec_type,
            msg.flags,
            msg.stream_width,
            msg.stream_height,
            msg.dest,
            msg.clip,
            decoder,
            cost=cost,
        )
        return [
            StreamCreated(
                msg.id,
                msg.surface_id,
                msg.codec_type,
                msg.stream_width,
                msg.stream_height,
                msg.dest,
                self.channel_id,
            )
        ]

    def frame(
        self, msg: DisplayStreamData | DisplayStreamDataSized, surfaces: Mapping[int, Surface]
    ) -> list[Outcome]:
        """Decode and place one STREAM_DATA or STREAM_DATA_SIZED (what :meth:`handle` does with it)."""
        stream = self.streams.get(msg.id)
        if stream is None:
            return [] if msg.id in self.unsupported else self._unknown(msg.id)
        out: list[Outcome] = []
        latency = (msg.multi_media_time - self.clock.now()) & 0xFFFFFFFF  # mm_diff, in line
        if latency & 0x80000000:
            latency -= 1 << 32
            stream.late += 1
        report = None  # (the report window's count, in line: this runs once a frame)
        if stream.report is not None and self.reports:
            report = stream.report.count(stream.id, msg.multi_media_time, latency, self.clock.monotonic_ms())
        dest = msg.dest if isinstance(msg, DisplayStreamDataSized) else stream.dest
        surface = surfaces.get(stream.surface_id)
        if surface is None:
            raise StreamError(f"stream {stream.id}: surface {stream.surface_id} is gone")
        for frame in stream.decoder.decode(msg.data):
            height, width = frame.shape[:2]
            if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
                raise StreamError(f"stream {stream.id}: decoded frame of {width}x{height}")
            expected = (msg.width, msg.height) if isinstance(msg, DisplayStreamDataSized) else None
            if expected is not None and expected != (width, height):
                log.warning(
                    "stream %d: frame says %dx%d, decodes to %dx%d", stream.id, *expected, width, height
                )
            stream.frames += 1
            opaque = stream.decoder.opaque
            # the frame as decoded fills its destination, inside the surface: placing it
            # writes exactly ``dest`` (so it can be kept back, and handed on with its Damage)
            whole = (
                opaque
                and stream.top_down
                and stream.clip.type != ClipType.RECTS
                and width == dest.right - dest.left
                and height == dest.bottom - dest.top
                and dest.left >= 0
                and dest.top >= 0
                and dest.right <= surface.width
                and dest.bottom <= surface.height
                and surface.words is not None
            )
            if whole and self.defer_frames:
                words = np.ascontiguousarray(frame).view(np.uint32).reshape(height, width)
                surface.defer_frame(words, dest.left, dest.top)
                self._deferring[surface.surface_id] = surface
                changed: Rect | None = dest
            else:
                surface.settle()  # a frame kept back is older than this one
                top_down = stream.top_down
                changed = place_frame(surface, frame, dest, stream.clip, top_down=top_down, opaque=opaque)
            if changed is None:
                continue
            if whole:  # the surface holds (or will) the frame as it is: a player may keep this one
                frame.flags.writeable = False
                out.append(Damage(surface.surface_id, changed, self.channel_id, msg.multi_media_time, frame))
            else:
                out += [
                    Damage(surface.surface_id, box, self.channel_id, msg.multi_media_time)
                    for box in _visible(stream.clip, changed)
                ]
        if report is not None:
            out.append(report)
        return out

    def _destroy(self, stream_id: int) -> list[Outcome]:
        self.unsupported.discard(stream_id)
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return []
        stream.decoder.close()
        self.budget.refund(stream.cost)
        return [StreamDestroyed(stream_id, stream.frames, self.channel_id)]

    def _unknown(self, stream_id: int) -> list[Outcome]:
        log.warning("stream %d does not exist; telling the server", stream_id)
        return self._invalid_report(stream_id)

    def _invalid_report(self, stream_id: int) -> list[Outcome]:
        return [invalid_stream_report(stream_id)] if self.reports else []


def _visible(clip: Clip, changed: Rect) -> list[Rect]:
    """The boxes a frame drew inside ``changed``: one per clip rectangle it reached (else all of it)."""
    if clip.type != ClipType.RECTS:
        return [changed]
    parts = [r.intersect(changed) for r in clip.rects]
    return list(dict.fromkeys(p for p in parts if not p.empty))
