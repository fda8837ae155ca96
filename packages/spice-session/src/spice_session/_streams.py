"""Video streams on the client: decoding frames, placing them on surfaces, stream reports.

A server that sees a region redrawn quickly turns it into a video stream: STREAM_CREATE
(codec, size, destination rectangle, clip), then one encoded frame per STREAM_DATA (or
STREAM_DATA_SIZED, which brings its own size and destination), STREAM_CLIP when the
visible part changes, STREAM_DESTROY at the end.  Here each frame is decoded to BGRX,
turned upright unless the stream is TOP_DOWN (frames are bottom-up by default), scaled
into the destination with nearest-neighbour sampling (source pixel
``floor((x + 0.5) * src_w / dest_w)``, as pixman's NEAREST filter does in spice-gtk),
clipped by the stream clip and the surface, and written opaque; a :class:`Damage` event
reports the bounding box of what changed.  Frames are drawn as they arrive: the client
keeps no playback schedule, so the final picture is always the last frame.

MJPEG is decoded with simplejpeg; VP8, VP9, H.264 and H.265 with PyAV, when the optional
``spice-session[video]`` extra is installed.  A stream whose codec is not available gives
a :class:`StreamUnsupported` event, a warning in the log, and an "invalid stream" report
to the server; its frames are ignored.

Stream reports (after STREAM_ACTIVATE_REPORT) follow spice-gtk's accounting: a frame
whose ``multi_media_time`` is already past on the client's media clock counts as a drop;
a report goes out when the window holds ``max_window_size`` frames, when ``timeout_ms``
passed since its first frame, or after 3 drops in a row.  ``last_frame_delay`` is the
last frame's ``mm_time - now`` and ``audio_delay`` is 0xFFFFFFFF (no audio playback).
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import simplejpeg  # type: ignore[import-untyped]
from spice_proto import (
    Clip,
    ClipType,
    DisplayCap,
    DisplayStreamActivateReport,
    DisplayStreamClip,
    DisplayStreamCreate,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplayStreamDestroy,
    DisplayStreamDestroyAll,
    DisplayStreamReport,
    MainInit,
    MainMultiMediaTime,
    Message,
    Payload,
    Rect,
    StreamFlags,
    UnknownMessage,
    VideoCodecType,
)

from ._budget import BudgetExceeded, MemoryBudget
from ._errors import DisplayError
from ._events import Damage, DisplayStateEvent, Event
from ._surface import Surface

__all__ = [
    "DROPS_IN_A_ROW_REPORT",
    "INVALID_STREAM_DROPS",
    "NO_AUDIO_DELAY",
    "MediaClock",
    "StreamCreated",
    "StreamDestroyed",
    "StreamError",
    "StreamManager",
    "StreamUnsupported",
    "available_codecs",
    "place_frame",
    "scale_nearest",
    "stream_display_caps",
]

log = logging.getLogger("spice_session.streams")

#: ``num_drops`` of the report telling the server a stream does not exist (with 0 frames).
INVALID_STREAM_DROPS = 0xFFFFFFFF
#: ``audio_delay`` of a report when no audio is playing.
NO_AUDIO_DELAY = 0xFFFFFFFF
#: This many late frames in a row send a report at once, whatever the window.
DROPS_IN_A_ROW_REPORT = 3
#: Largest decoded frame side accepted (the SPICE server streams at most screen-sized areas).
MAX_FRAME_SIDE = 1 << 14
#: Frames of its size a stream is charged for: the decoder's reference frames and its output.
STREAM_FRAME_BUFFERS = 4

Frame = npt.NDArray[np.uint8]
#: The fourth byte of a B, G, R, X pixel set, as a native uint32 (what makes a pixel opaque).
_OPAQUE = np.frombuffer(b"\x00\x00\x00\xff", np.uint32)[0]
Outcome = Event | Message

_NO_CLIP = Clip()
_Pixels = TypeVar("_Pixels", npt.NDArray[np.uint8], npt.NDArray[np.uint32])

_AV_CODECS: dict[VideoCodecType, tuple[str, DisplayCap]] = {
    VideoCodecType.VP8: ("vp8", DisplayCap.CODEC_VP8),
    VideoCodecType.VP9: ("vp9", DisplayCap.CODEC_VP9),
    VideoCodecType.H264: ("h264", DisplayCap.CODEC_H264),
    VideoCodecType.H265: ("hevc", DisplayCap.CODEC_H265),
}


class StreamError(DisplayError):
    """A stream frame or command that cannot be shown (corrupt frame, unknown surface, bad rectangle)."""


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class StreamCreated(DisplayStateEvent):
    """STREAM_CREATE for a codec we decode: frames of ``width`` x ``height`` go to ``dest``."""

    stream_id: int
    surface_id: int
    codec: VideoCodecType | int
    width: int
    height: int
    dest: Rect
    channel_id: int = 0


@dataclass(frozen=True)
class StreamDestroyed(DisplayStateEvent):
    """A stream ended (STREAM_DESTROY, STREAM_DESTROY_ALL); ``frames`` were drawn from it."""

    stream_id: int
    frames: int
    channel_id: int = 0


@dataclass(frozen=True)
class StreamUnsupported(DisplayStateEvent):
    """STREAM_CREATE with a codec this client cannot decode; its frames are ignored."""

    stream_id: int
    codec: VideoCodecType | int
    reason: str
    channel_id: int = 0


# --------------------------------------------------------------------------- media clock


class MediaClock:
    """The client's copy of the server's multimedia clock (u32 milliseconds).

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


def _mm_diff(a: int, b: int) -> int:
    """``a - b`` for u32 media times, as a signed 32-bit value (wraps like the C clients)."""
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


# --------------------------------------------------------------------------- decoders


class VideoDecoder(Protocol):
    """Turns the encoded frames of one stream into (height, width, 4) uint8 BGRX arrays."""

    def decode(self, data: Payload) -> list[Frame]: ...

    def close(self) -> None: ...


class MjpegDecoder:
    """MJPEG: every frame is a complete JPEG (libjpeg-turbo through simplejpeg).

    The size a JPEG header claims is checked against ``budget`` before it is decoded.
    """

    def __init__(self, budget: MemoryBudget | None = None) -> None:
        self.budget = budget if budget is not None else MemoryBudget()

    def decode(self, data: Payload) -> list[Frame]:
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
            if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
                raise ValueError(f"its header says {width}x{height}")
            self.budget.check(4 * width * height, f"MJPEG frame of {width}x{height}")
            frame: Frame = simplejpeg.decode_jpeg(data, colorspace="BGRX")
        except ValueError as exc:
            raise StreamError(f"MJPEG frame of {len(data)} bytes does not decode: {exc}") from None
        return [frame]

    def close(self) -> None:
        pass


class AvDecoder:
    """VP8 / VP9 / H.264 / H.265 through PyAV; one packet per STREAM_DATA."""

    def __init__(self, codec_name: str) -> None:
        av = importlib.import_module("av")
        self._av: Any = av
        self.codec_name = codec_name
        self._context: Any = av.CodecContext.create(codec_name, "r")

    def decode(self, data: Payload) -> list[Frame]:
        try:
            frames = self._context.decode(self._av.Packet(data))
            return [np.ascontiguousarray(f.to_ndarray(format="bgra")) for f in frames]
        except self._av.FFmpegError as exc:
            raise StreamError(
                f"{self.codec_name} frame of {len(data)} bytes does not decode: {exc}"
            ) from None

    def close(self) -> None:
        self._context = None


@functools.cache
def _av_codecs() -> dict[VideoCodecType, str]:
    """The PyAV decoders available here (empty without the ``video`` extra)."""
    try:
        av: Any = importlib.import_module("av")
    except ImportError:
        return {}
    found: dict[VideoCodecType, str] = {}
    for codec, (name, _) in _AV_CODECS.items():
        try:
            av.codec.Codec(name, "r")
        except Exception:  # this FFmpeg build lacks the decoder
            continue
        found[codec] = name
    return found


def available_codecs() -> frozenset[VideoCodecType]:
    """The stream codecs this client decodes: MJPEG always, the others with PyAV installed."""
    return frozenset({VideoCodecType.MJPEG, *_av_codecs()})


def stream_display_caps() -> tuple[DisplayCap, ...]:
    """Display channel capabilities for streams: sized frames, reports, and one per decodable codec."""
    caps = [DisplayCap.SIZED_STREAM, DisplayCap.STREAM_REPORT, DisplayCap.MULTI_CODEC, DisplayCap.CODEC_MJPEG]
    caps += [_AV_CODECS[c][1] for c in sorted(_av_codecs())]
    return tuple(caps)


def _make_decoder(codec: int, budget: MemoryBudget | None = None) -> VideoDecoder:
    """A decoder for ``codec``; :class:`StreamError` when this client has none."""
    if codec == VideoCodecType.MJPEG:
        return MjpegDecoder(budget)
    try:
        known = VideoCodecType(codec)
    except ValueError:
        raise StreamError(f"no decoder for unknown codec {codec}") from None
    name = _av_codecs().get(known)
    if name is None:
        raise StreamError(f"no decoder for {known.name} (install spice-session[video] for PyAV)")
    return AvDecoder(name)


# --------------------------------------------------------------------------- pixels


def scale_nearest(frame: _Pixels, width: int, height: int, rows: slice, cols: slice) -> _Pixels:
    """The part ``rows`` x ``cols`` of ``frame`` scaled to ``width`` x ``height`` (nearest neighbour).

    Destination pixel ``(x, y)`` takes source pixel ``(floor((x + 0.5) * sw / width),
    floor((y + 0.5) * sh / height))``; only the requested part is computed.  An unscaled
    frame is returned as a view.
    """
    sh, sw = frame.shape[:2]
    if sw == width and sh == height:
        return frame[rows, cols]
    ys = np.arange(rows.start, rows.stop, dtype=np.int64)
    xs = np.arange(cols.start, cols.stop, dtype=np.int64)
    src_y = (2 * ys + 1) * sh // (2 * height)
    src_x = (2 * xs + 1) * sw // (2 * width)
    out: _Pixels = frame.take(src_y, axis=0).take(src_x, axis=1)
    return out


def _clip_rects(clip: Clip, dest: Rect, surface: Surface) -> list[tuple[int, int, int, int]]:
    """The parts of ``dest`` to draw, as (left, top, right, bottom) inside the surface."""
    left, top = max(dest.left, 0), max(dest.top, 0)
    right, bottom = min(dest.right, surface.width), min(dest.bottom, surface.height)
    if right <= left or bottom <= top:
        return []
    if clip.type != ClipType.RECTS:
        return [(left, top, right, bottom)]
    out = []
    for r in clip.rects:
        box = (max(r.left, left), max(r.top, top), min(r.right, right), min(r.bottom, bottom))
        if box[2] > box[0] and box[3] > box[1]:
            out.append(box)
    return out


def place_frame(
    surface: Surface, frame: Frame, dest: Rect, clip: Clip = _NO_CLIP, *, top_down: bool = True
) -> Rect | None:
    """Scale a BGRX ``frame`` (height, width, 4) into ``dest`` of ``surface``, inside ``clip``.

    Returns the bounding box of the pixels written, ``None`` when nothing was visible.
    ``top_down=False`` means the frame's first row is the bottom of the picture.  Pixels
    are written opaque (fourth byte 255).  Clip rectangles may overlap.
    """
    if dest.width <= 0 or dest.height <= 0:
        raise StreamError(f"stream destination {dest} is empty")
    if surface.words is None:
        raise StreamError(f"surface {surface.surface_id} ({surface.format.name}) cannot show video")
    boxes = _clip_rects(clip, dest, surface)
    if not boxes:
        return None
    words = np.ascontiguousarray(frame).view(np.uint32).reshape(frame.shape[0], frame.shape[1])
    if not top_down:
        words = words[::-1]
    for left, top, right, bottom in boxes:
        part = scale_nearest(
            words,
            dest.width,
            dest.height,
            slice(top - dest.top, bottom - dest.top),
            slice(left - dest.left, right - dest.left),
        )
        np.bitwise_or(part, _OPAQUE, out=surface.words[top:bottom, left:right])
    return Rect(
        min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
    )


# --------------------------------------------------------------------------- streams


@dataclass
class _ReportWindow:
    """Accounting for STREAM_REPORT after STREAM_ACTIVATE_REPORT."""

    unique_id: int
    max_window: int
    timeout_ms: int
    started_ms: float = 0.0
    start_mm_time: int = 0
    frames: int = 0
    drops: int = 0
    drops_in_a_row: int = 0


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
    report: _ReportWindow | None = field(default=None, repr=False)
    #: Bytes charged to the memory budget for this stream's decoder and frames.
    cost: int = 0

    @property
    def top_down(self) -> bool:
        return bool(self.flags & StreamFlags.TOP_DOWN)


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

    def handle(self, message: Message | UnknownMessage, surfaces: Mapping[int, Surface]) -> list[Outcome]:
        """Apply one stream message; other messages return ``[]``.

        Raises :class:`StreamError` for a frame that does not decode, a stream on an unknown
        surface, or an id that is already in use.
        """
        if isinstance(message, DisplayStreamCreate):
            return self._create(message, surfaces)
        if isinstance(message, (DisplayStreamData, DisplayStreamDataSized)):
            return self._frame(message, surfaces)
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
            stream.report = _ReportWindow(message.unique_id, message.max_window_size, message.timeout_ms)
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
            decoder = _make_decoder(msg.codec_type, self.budget)
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

    def _frame(
        self, msg: DisplayStreamData | DisplayStreamDataSized, surfaces: Mapping[int, Surface]
    ) -> list[Outcome]:
        stream = self.streams.get(msg.id)
        if stream is None:
            return [] if msg.id in self.unsupported else self._unknown(msg.id)
        out: list[Outcome] = []
        latency = _mm_diff(msg.multi_media_time, self.clock.now())
        if latency < 0:
            stream.late += 1
        report = self._account(stream, msg.multi_media_time, latency)
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
            changed = place_frame(surface, frame, dest, stream.clip, top_down=stream.top_down)
            if changed is not None:
                out.append(Damage(surface.surface_id, changed, self.channel_id))
        if report is not None:
            out.append(report)
        return out

    def _account(self, stream: Stream, mm_time: int, latency: int) -> DisplayStreamReport | None:
        """Count one frame in the report window; the report to send now, if it is due."""
        window = stream.report
        if window is None or not self.reports:
            return None
        now = self.clock.monotonic_ms()
        if window.frames == 0:
            window.started_ms = now
            window.start_mm_time = mm_time
        window.frames += 1
        if latency < 0:
            window.drops += 1
            window.drops_in_a_row += 1
        else:
            window.drops_in_a_row = 0
        if not (
            window.frames >= window.max_window
            or now - window.started_ms >= window.timeout_ms
            or window.drops_in_a_row >= DROPS_IN_A_ROW_REPORT
        ):
            return None
        report = DisplayStreamReport(
            stream_id=stream.id,
            unique_id=window.unique_id,
            start_frame_mm_time=window.start_mm_time,
            end_frame_mm_time=mm_time,
            num_frames=window.frames,
            num_drops=window.drops,
            last_frame_delay=latency,
            audio_delay=NO_AUDIO_DELAY,
        )
        stream.report = _ReportWindow(window.unique_id, window.max_window, window.timeout_ms)
        return report

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
        if not self.reports:
            return []
        return [DisplayStreamReport(stream_id, 0, 0, 0, 0, INVALID_STREAM_DROPS, 0, 0)]
