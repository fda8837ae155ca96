"""One client's video streams (sans-I/O): which damage they take, and their messages.

Areas redrawn at video rate become streams (detection and pacing live in
:mod:`spice_server._video`): STREAM_CREATE, STREAM_ACTIVATE_REPORT, STREAM_DATA (or
STREAM_DATA_SIZED), and STREAM_DESTROY followed by a lossless redraw of the stream's
area (added to the client's dirty region).  Other drawing over part of a stream (damage
overlapping less than half of its box) covers that part for the rest of the stream's life:
STREAM_CLIP gives the client the stream's visible boxes and the covered part is drawn
losslessly (as libspice-server clips a stream to its visible region); a stream more than
half covered ends.  Each stream uses the first codec of the
client's order (its DISPLAY_PREFERRED_VIDEO_CODEC_TYPE, else MJPEG, H.264, VP8, VP9)
that we encode (:mod:`._video_encode`) and that fits the area.  With ``shared`` (the
source's), MJPEG frames are shared between the clients of the source, and so are VP8, VP9
and H.264 encoders while the clients' streams get the same frames (:mod:`._video_share`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from functools import partial
from weakref import WeakKeyDictionary

from spice_proto import (
    INVALID_STREAM_DROPS,
    Clip,
    DisplayStreamActivateReport,
    DisplayStreamClip,
    DisplayStreamCreate,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplayStreamDestroy,
    DisplayStreamReport,
    Message,
    Rect,
    StreamFlags,
    VideoCodecType,
)

from ._compress import is_photo_like
from ._draw import MJPEG_THREAD_MIN_PIXELS, PRIMARY_SURFACE, THREAD_MIN_PIXELS, Job
from ._region import DirtyRegion
from ._shared import SharedEncodes
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
    boxes_minus,
    media_time,
)
from ._video_encode import StreamEncoder, encodable_codecs, fits_codec, make_stream_encoder
from ._video_share import VideoMember, VideoShares, video_shares

__all__ = ["StreamSet"]

#: How soon (s) a stream whose frame another client is still encoding looks again.
WAIT_POLL = 0.002


class StreamSet:
    """The live and ending streams of one client; an ended stream's area goes back to ``region``.

    ``video_codecs`` are the stream codecs the client decodes (empty: no streams);
    ``sized_streams`` and ``stream_reports`` are its SIZED_STREAM and STREAM_REPORT capabilities.
    """

    def __init__(
        self,
        source: FrameSource,
        region: DirtyRegion,
        *,
        streaming: StreamingMode,
        video_codecs: Sequence[VideoCodecType],
        sized_streams: bool,
        stream_reports: bool,
        shared: SharedEncodes | None = None,
    ) -> None:
        self.source = source
        #: Where MJPEG frames are shared with the source's other clients (None: not shared).
        self.shared = shared
        #: Where VP8/VP9/H.264 encoders are shared (None: each stream has its own).
        self.video: VideoShares | None = video_shares(source) if shared is not None else None
        self.region = region
        self.detector = StreamDetector(streaming, history=source.history)
        self.video_codecs = tuple(video_codecs)
        self.sized_streams = sized_streams
        self.stream_reports = stream_reports
        #: Live streams by id.
        self.live: dict[int, VideoStream] = {}
        #: Ended streams whose STREAM_DESTROY has not gone out yet.
        self.dying: list[VideoStream] = []
        #: The streams that ended last (for statistics).
        self.ended: deque[VideoStream] = deque(maxlen=32)
        self.created = 0
        self.destroyed = 0
        self._report_ids = 0
        #: Each live stream's codec and encoder.
        self.codecs: dict[int, VideoCodecType] = {}
        self._encoders: dict[int, StreamEncoder] = {}
        #: Each live VP8/VP9/H.264 stream's place in the shared encoders (with ``video``).
        self._members: dict[int, VideoMember] = {}

    @property
    def video_codec(self) -> VideoCodecType | None:
        """The codec new streams use (if it fits them); ``None``: this client gets no streams."""
        ours = encodable_codecs()
        return next((c for c in self.video_codecs if c in ours), None)

    def _codec_for(self, box: Rect) -> VideoCodecType | None:
        ours = encodable_codecs()
        return next((c for c in self.video_codecs if c in ours and fits_codec(c, box)), None)

    def set_preferred_codecs(self, codecs: Sequence[int]) -> None:
        """DISPLAY_PREFERRED_VIDEO_CODEC_TYPE: order of preference.  Codecs the client can decode but
        did not list stay usable after the listed ones (as libspice-server does)."""
        listed = [VideoCodecType(c) for c in codecs if c in VideoCodecType._value2member_map_]
        rank = {c: i for i, c in enumerate(listed)}
        self.video_codecs = tuple(sorted(self.video_codecs, key=lambda c: rank.get(c, len(rank))))

    def report(self, msg: DisplayStreamReport) -> bool:
        """A client's STREAM_REPORT: steer the stream's quality and rate, or stop streaming.

        True when streams ended (there is work to send).
        """
        stream = self.live.get(msg.stream_id)
        if msg.num_drops == INVALID_STREAM_DROPS and msg.num_frames == 0:
            if stream is None:
                return False
            self.video_codecs = ()  # the client cannot play our streams: no more for it
            for s in list(self.live.values()):
                self.end(s)
            return True
        if stream is not None and msg.unique_id == stream.report_id:  # else: ended or re-activated
            stream.controller.report(msg.num_frames, msg.num_drops, msg.last_frame_delay)
        return False

    # --- damage -----------------------------------------------------------------------------

    def route(self, box: Rect, now: float, may_start: bool) -> list[Rect]:
        """Give damage to the streams; the parts left for lossless drawing.

        ``may_start``: a new stream may begin here (the client has a surface).
        """
        for s in self.live.values():
            if s.box.contains(box):
                lossless = s.covered_parts(box)
                if lossless != [box]:
                    s.frame(now)  # else only a covered part changed
                return lossless
        rest = [box]
        for s in list(self.live.values()):
            if box.intersect(s.area).empty:
                continue
            if box.contains(s.area) and 2 * s.area.area < box.area:
                self.end(s)  # covered by larger damage: the whole box goes lossless
                continue
            if self.sized_streams and _similar(box, s.box) and box.area >= self.detector.min_area:
                s.box = box  # the stream's destination moved or changed size
                s.area = s.area.union(box)
                s.clip_pending = bool(s.covered)  # the clip follows the box
                s.frame(now)
                rest = boxes_minus(rest, [box]) + s.covered_parts(box)
                continue
            if _similar(box, s.box):
                s.frame(now)  # mostly the stream's own picture: a frame, the rest lossless
            elif not s.cover(box.intersect(s.area)):
                self.end(s)  # other drawing covers too much of it: the whole area goes lossless
                continue
            rest = boxes_minus(rest, _opaque(s))
        if rest == [box] and may_start and self._codec_for(box) is not None:

            def photo() -> bool:
                return _photo_like(self.source, box)

            if self.detector.observe(box, now, photo) and len(self.live) + len(self.dying) < MAX_STREAMS:
                self._start(box, now)
                return []
        return rest

    def clip(self, band: Rect) -> list[Rect]:
        """``band`` minus the areas of live streams."""
        parts = [band]
        for s in self.live.values():
            parts = boxes_minus(parts, _opaque(s))
        return parts

    def touches(self, box: Rect) -> bool:
        """Whether a live or ending stream covers part of ``box`` (its pixels on the client are lossy)."""
        return any(not s.area.intersect(box).empty for s in [*self.live.values(), *self.dying])

    # --- lifecycle --------------------------------------------------------------------------

    def _start(self, box: Rect, now: float) -> None:
        used = {*self.live, *(s.id for s in self.dying)}
        stream_id = next(i for i in range(MAX_STREAMS) if i not in used)
        codec = self._codec_for(box)
        assert codec is not None
        self.live[stream_id] = VideoStream(stream_id, box, now, RateController(MAX_FPS))
        self.codecs[stream_id] = codec
        if self.video is not None and codec is not VideoCodecType.MJPEG:
            self._members[stream_id] = self.video.member(MAX_FPS)
        else:
            self._encoders[stream_id] = make_stream_encoder(codec, MAX_FPS, self.shared)
        self.detector.forget(box)
        self.created += 1

    def end(self, stream: VideoStream) -> None:
        """Stop ``stream``: STREAM_DESTROY goes out next, then its area is redrawn losslessly."""
        del self.live[stream.id]
        self.codecs.pop(stream.id, None)
        self._encoders.pop(stream.id, None)
        member = self._members.pop(stream.id, None)
        if member is not None:
            member.leave()
        self.dying.append(stream)
        self.region.add(stream.area)
        self.ended.append(stream)
        self.destroyed += 1

    def expire(self, now: float) -> None:
        """End the streams whose area was not redrawn for too long."""
        for s in [s for s in self.live.values() if now >= s.expires]:
            self.end(s)

    def observe(self, now: float) -> None:
        """Note the shared frames found encoded by now (after each job: see :mod:`._video_share`)."""
        for member in self._members.values():
            member.observe(now)

    def reset(self) -> list[Message]:
        """Forget every stream (the surface goes away); the STREAM_DESTROYs the client needs."""
        out: list[Message] = [
            DisplayStreamDestroy(s.id) for s in [*self.dying, *self.live.values()] if s.created_sent
        ]
        self.ended.extend(self.live.values())
        self.live.clear()
        self.dying.clear()
        self.codecs.clear()
        self._encoders.clear()
        self.close()
        return out

    def close(self) -> None:
        """Leave the shared encoders (the client is gone or its streams are)."""
        for member in self._members.values():
            member.leave()
        self._members.clear()

    # --- scheduling -------------------------------------------------------------------------

    def has_work(self, now: float) -> bool:
        """Whether :meth:`next_items` has something now."""
        return bool(self.dying) or any(
            not s.created_sent or s.clip_pending or now >= s.expires or self._due(s, now)
            for s in self.live.values()
        )

    def next_deadline(self, now: float) -> float | None:
        """When a stream next needs attention (a paced frame, a timeout); ``None``: no stream."""
        times = [s.expires for s in self.live.values()]
        for s in self.live.values():
            if s.pending:
                times.append(s.next_send() if self._ready(s, now) else max(s.next_send(), now + WAIT_POLL))
        return min(times, default=None)

    def _due(self, s: VideoStream, now: float) -> bool:
        return s.pending and now >= s.next_send() and self._ready(s, now)

    def _ready(self, s: VideoStream, now: float) -> bool:
        """Whether the stream's frame can be taken now (not waiting on a shared encoder)."""
        member = self._members.get(s.id)
        return member is None or member.ready(s.box, self.codecs[s.id], s.controller.quality, now)

    def next_items(self, frame: Frame, now: float) -> list[Message | Job] | None:
        """The next step of stream traffic (a destroy, a create, a due frame); ``None``: nothing."""
        if self.dying:
            dead = self.dying.pop(0)
            return [DisplayStreamDestroy(dead.id)] if dead.created_sent else []
        fresh = next((s for s in self.live.values() if not s.created_sent), None)
        if fresh is not None:
            return list(self._create(fresh))
        clipped = next((s for s in self.live.values() if s.clip_pending), None)
        if clipped is not None:
            clipped.clip_pending = False
            return [DisplayStreamClip(clipped.id, _clip_of(clipped))]
        due = next((s for s in self.live.values() if self._due(s, now)), None)
        if due is not None:
            if not fits_codec(self.codecs[due.id], due.box):
                self.end(due)  # resized to an area its codec cannot take: redrawn losslessly
                return []
            return [self._frame(due, frame, now)]
        return None

    def _create(self, s: VideoStream) -> list[Message]:
        codec = self.codecs[s.id]
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
                dest=s.box,
                clip=_clip_of(s),
            )
        ]
        s.created_sent = True
        s.clip_pending = False
        s.origin = s.box
        if self.stream_reports:
            self._report_ids += 1
            s.report_id = self._report_ids
            out.append(DisplayStreamActivateReport(s.id, s.report_id, REPORT_WINDOW, REPORT_TIMEOUT_MS))
        return out

    def _frame(self, s: VideoStream, frame: Frame, now: float) -> Job:
        box, quality, mm_time = s.box, s.controller.quality, media_time()
        sized = box != s.origin
        member = self._members.get(s.id)
        if member is not None:
            took = member.take(frame, box, self.codecs[s.id], quality, now)
            encode, pixels = took.run, box.area if took.encodes else 0
        else:
            encode, pixels = partial(self._encoders[s.id].encode, frame, box, quality), box.area
        s.take(now)
        if member is not None and took.stale:
            s.pending = True  # a frame another client took earlier: the newest picture is still due

        def run() -> list[Message]:
            data = encode()
            if not data:
                return []  # the encoder dropped the frame
            s.bytes_sent += len(data)
            if sized:
                return [DisplayStreamDataSized(s.id, mm_time, box.width, box.height, box, data)]
            return [DisplayStreamData(s.id, mm_time, data)]

        mjpeg = self.codecs[s.id] is VideoCodecType.MJPEG
        return Job(pixels, run, MJPEG_THREAD_MIN_PIXELS if mjpeg else THREAD_MIN_PIXELS)


#: The last answer of :func:`_photo_like` per source: every client's pipeline asks about the same damage.
_PHOTO_MEMO: WeakKeyDictionary[FrameSource, tuple[int, Rect, bool]] = WeakKeyDictionary()


def _photo_like(source: FrameSource, box: Rect) -> bool:
    """Whether ``box`` of the source's frame looks photo-like, computed once per change."""
    memo = _PHOTO_MEMO.get(source)
    if memo is not None and memo[0] == source.serial and memo[1] == box:
        return memo[2]
    answer = is_photo_like(source.frame[box.top : box.bottom, box.left : box.right])
    _PHOTO_MEMO[source] = (source.serial, box, answer)
    return answer


def _similar(a: Rect, b: Rect) -> bool:
    """Whether two boxes overlap by at least half of the larger one (the same area, moved or resized)."""
    return 2 * a.intersect(b).area >= max(a.area, b.area)


def _opaque(s: VideoStream) -> list[Rect]:
    """Where lossless drawing must not go: the stream's area minus its covered parts."""
    return boxes_minus([s.area], s.covered)


def _clip_of(s: VideoStream) -> Clip:
    """The stream's clip: none until something covered part of it, then its visible boxes."""
    return Clip.of_rects(*s.visible()) if s.covered else Clip()
