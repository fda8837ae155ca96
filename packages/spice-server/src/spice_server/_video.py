"""Video streams for one client (sans-I/O): detection, stream state, the report controller.

A region redrawn at video rate with stable geometry becomes an MJPEG stream, the way
libspice-server decides it (its published thresholds, see the constants below):

- a damage box of at least :data:`STREAM_MIN_AREA` pixels that repeats exactly, each
  time within :data:`DETECTION_MAX_DELTA` of the previous one, is a candidate; after
  :data:`FRAMES_START_CONDITION` repetitions it becomes a stream.  In ``filter`` mode
  (the default) at least :data:`GRADUAL_SHARE` of those frames must look photo-like;
  ``all`` streams any such area, ``off`` never streams.  The repetitions before a client
  came count too (libspice-server's trace belongs to the display channel, not to a client):
  each source keeps a :class:`DamageHistory`, and a client's detector starts a box new to it
  from its run there (those frames judged photo-like as the current one is).
- Damage inside a stream's box is a new frame of it.  Frames are never queued: a stream
  only remembers that its box changed and encodes the newest picture when the client
  can take it, so frames that arrive meanwhile are dropped (counted).
- A stream ends after :data:`STREAM_TIMEOUT` without a frame (or sooner, after five
  frame intervals at its measured input rate, so that a still picture is soon sent
  losslessly), or when larger damage covers it.  Its area is then redrawn losslessly.

The :class:`RateController` adapts JPEG quality and the frame-rate cap from the
client's STREAM_REPORTs (see its docstring).  Times are seconds on any monotonic clock.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from spice_proto import Rect

__all__ = [
    "DETECTION_MAX_DELTA",
    "FRAMES_RESET_CONDITION",
    "FRAMES_START_CONDITION",
    "GRADUAL_SHARE",
    "INPUT_FPS_WINDOW",
    "MAX_CLIP_RECTS",
    "MAX_COVERED",
    "MAX_FPS",
    "MAX_STREAMS",
    "MIN_VISIBLE_SHARE",
    "MM_TIME_DELTA",
    "REPORT_TIMEOUT_MS",
    "REPORT_WINDOW",
    "STREAM_MIN_AREA",
    "STREAM_TIMEOUT",
    "DamageHistory",
    "RateController",
    "StreamDetector",
    "StreamingMode",
    "VideoStream",
    "box_subtract",
    "boxes_minus",
    "media_time",
]

#: Smallest area (pixels) streamed.
STREAM_MIN_AREA = 96 * 96
#: Longest gap (s) between two frames of a candidate.
DETECTION_MAX_DELTA = 0.2
#: Frames a candidate needs before it becomes a stream.
FRAMES_START_CONDITION = 20
#: In ``filter`` mode, the share of a candidate's frames that must look photo-like.
GRADUAL_SHARE = 0.2
#: A candidate that did not qualify after this many frames is judged afresh from then on.
FRAMES_RESET_CONDITION = 100
#: Covered parts of a stream kept apart at most (more are merged into their bounding box).
MAX_COVERED = 8
#: A stream whose visible part would be under this share of its box, or in more pieces than
#: :data:`MAX_CLIP_RECTS`, ends instead (its area goes lossless).
MIN_VISIBLE_SHARE = 0.5
MAX_CLIP_RECTS = 32
#: A stream without a new frame for this long (s) ends.
STREAM_TIMEOUT = 1.0
#: ... or after this many of its frame intervals, whichever comes first (but not under MIN_TIMEOUT).
TIMEOUT_INTERVALS = 5
MIN_TIMEOUT = 0.1
#: Window (s) over which the input frame rate is measured.
INPUT_FPS_WINDOW = 5.0
#: Most frames a second sent per stream.
MAX_FPS = 30
#: Streams per client at most.
MAX_STREAMS = 50
#: How many candidate boxes are tracked at once (the oldest is forgotten).
TRACE_SLOTS = 8
#: STREAM_ACTIVATE_REPORT: a report every this many frames, or after this many milliseconds.
REPORT_WINDOW = 5
REPORT_TIMEOUT_MS = 1000
#: The client's media clock runs this many milliseconds behind the server's, so frames stamped
#: with the server's time are played that much later (libspice-server's default latency).
MM_TIME_DELTA = 400


def media_time() -> int:
    """The server's multimedia clock: u32 milliseconds (frame stamps; MAIN_INIT sends it minus the delta)."""
    return int(time.monotonic() * 1000) & 0xFFFFFFFF


class StreamingMode(str, enum.Enum):
    """The server's ``streaming_video`` setting (libspice-server's names)."""

    FILTER = "filter"
    ALL = "all"
    OFF = "off"

    @classmethod
    def parse(cls, value: str | StreamingMode) -> StreamingMode:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown streaming_video mode {value!r}; use one of {names}") from None


def box_subtract(a: Rect, b: Rect) -> list[Rect]:
    """``a`` minus ``b`` as at most four disjoint boxes (top and bottom bands, then the sides)."""
    cut = a.intersect(b)
    if cut.empty:
        return [] if a.empty else [a]
    out = [
        Rect(a.left, a.top, a.right, cut.top),
        Rect(a.left, cut.bottom, a.right, a.bottom),
        Rect(a.left, cut.top, cut.left, cut.bottom),
        Rect(cut.right, cut.top, a.right, cut.bottom),
    ]
    return [p for p in out if not p.empty]


def boxes_minus(boxes: list[Rect], cuts: list[Rect]) -> list[Rect]:
    """Disjoint ``boxes`` minus every box of ``cuts`` (still disjoint)."""
    for cut in cuts:
        boxes = [p for b in boxes for p in box_subtract(b, cut)]
    return boxes


# --------------------------------------------------------------------------- detection


@dataclass
class _Candidate:
    box: Rect
    frames: int
    gradual: int
    last: float


class DamageHistory:
    """A source's recent damage boxes of stream size and how many times in a row each came,
    each within :data:`DETECTION_MAX_DELTA` of the one before (a few Python steps per damage)."""

    def __init__(
        self,
        *,
        min_area: int = STREAM_MIN_AREA,
        max_delta: float = DETECTION_MAX_DELTA,
        slots: int = TRACE_SLOTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_area = min_area
        self.max_delta = max_delta
        self.clock = clock
        self._runs: deque[_Candidate] = deque(maxlen=slots)

    def record(self, box: Rect) -> None:
        """``box`` was damaged now."""
        if box.area < self.min_area:
            return
        now = self.clock()
        run = next((r for r in self._runs if r.box == box), None)
        if run is None or now - run.last > self.max_delta:
            if run is not None:
                self._runs.remove(run)
            run = _Candidate(box, 0, 0, now)
            self._runs.append(run)
        run.frames += 1
        run.last = now

    def repeats(self, box: Rect) -> int:
        """How many times in a row ``box`` was damaged, the last time just now (else 0)."""
        run = next((r for r in self._runs if r.box == box), None)
        if run is None or self.clock() - run.last > self.max_delta:
            return 0
        return run.frames

    def clear(self) -> None:
        """Forget every run (the frame was resized)."""
        self._runs.clear()


class StreamDetector:
    """Finds boxes damaged again and again at video rate.

    :meth:`observe` takes each damage box with the time it happened and a callable
    telling whether the area looks photo-like (asked only when it matters); it returns
    ``True`` when the box should become a stream now.
    """

    def __init__(
        self,
        mode: StreamingMode = StreamingMode.FILTER,
        *,
        min_area: int = STREAM_MIN_AREA,
        frames: int = FRAMES_START_CONDITION,
        max_delta: float = DETECTION_MAX_DELTA,
        slots: int = TRACE_SLOTS,
        history: DamageHistory | None = None,
    ) -> None:
        self.mode = mode
        self.min_area = min_area
        self.frames = frames
        self.max_delta = max_delta
        #: The source's damage runs (a new candidate starts from its run there).
        self.history = history
        self._trace: deque[_Candidate] = deque(maxlen=slots)

    @property
    def candidates(self) -> dict[Rect, int]:
        """Tracked boxes and how many frames each has had so far."""
        return {c.box: c.frames for c in self._trace}

    def observe(self, box: Rect, now: float, photo_like: Callable[[], bool]) -> bool:
        if self.mode is StreamingMode.OFF or box.area < self.min_area:
            return False
        found = next((c for c in self._trace if c.box == box), None)
        new = found is None
        if found is None or now - found.last > self.max_delta:
            if found is not None:
                self._trace.remove(found)
            found = _Candidate(box, 0, 0, now)
            self._trace.append(found)
            # a box new to this client: the source's run of it so far counts (the source
            # recorded this damage before telling us, hence the - 1)
            earlier = self.history.repeats(box) - 1 if new and self.history is not None else 0
            if earlier > 0:
                found.frames = min(earlier, self.frames - 1)
                photo = self.mode is not StreamingMode.FILTER or photo_like()
                found.gradual = found.frames if photo else 0
        if found.frames >= FRAMES_RESET_CONDITION:
            found.frames = found.gradual = 0
        found.frames += 1
        found.last = now
        if self.mode is StreamingMode.FILTER and photo_like():
            found.gradual += 1
        if found.frames < self.frames:
            return False
        if self.mode is StreamingMode.FILTER and found.gradual < GRADUAL_SHARE * found.frames:
            return False
        self._trace.remove(found)
        return True

    def forget(self, box: Rect) -> None:
        """Drop candidates overlapping ``box`` (their history no longer means anything)."""
        for c in [c for c in self._trace if not c.box.intersect(box).empty]:
            self._trace.remove(c)


# --------------------------------------------------------------------------- rate control


class RateController:
    """JPEG quality and frame-rate cap of one stream, steered by STREAM_REPORTs.

    Each report covers a window of frames.  A window with drops (frames the client got
    after their play time) or a negative ``last_frame_delay`` means the client or the
    link cannot keep up: quality goes down by :attr:`STEP_DOWN` and the rate cap is cut
    to three quarters.  :attr:`GOOD_REPORTS` clean windows in a row with at least
    :attr:`MARGIN_MS` of delay to spare raise quality by :attr:`STEP_UP` and the cap by
    two frames a second.  Quality stays within :attr:`MIN_QUALITY`..:attr:`MAX_QUALITY`,
    the cap within :attr:`MIN_FPS`..``max_fps``.
    """

    MIN_QUALITY = 20
    MAX_QUALITY = 85
    START_QUALITY = 70
    STEP_DOWN = 10
    STEP_UP = 5
    MIN_FPS = 1.0
    GOOD_REPORTS = 2
    MARGIN_MS = 50

    def __init__(self, max_fps: float = MAX_FPS, quality: int = START_QUALITY) -> None:
        self.max_fps = max_fps
        self.fps = max_fps
        self.quality = quality
        self.reports = 0
        self._good = 0

    @property
    def min_interval(self) -> float:
        """Shortest time (s) between two frames sent."""
        return 1.0 / self.fps

    def report(self, num_frames: int, num_drops: int, last_frame_delay: int) -> None:
        """Take one report's figures (``last_frame_delay`` in ms, negative when late)."""
        self.reports += 1
        if num_drops > 0 or last_frame_delay < 0:
            self._good = 0
            self.quality = max(self.MIN_QUALITY, self.quality - self.STEP_DOWN)
            self.fps = max(self.MIN_FPS, self.fps * 0.75)
            return
        if num_frames == 0 or last_frame_delay < self.MARGIN_MS:
            return
        self._good += 1
        if self._good >= self.GOOD_REPORTS:
            self._good = 0
            self.quality = min(self.MAX_QUALITY, self.quality + self.STEP_UP)
            self.fps = min(self.max_fps, self.fps + 2.0)


# --------------------------------------------------------------------------- one stream


@dataclass
class VideoStream:
    """One client's stream: where it draws and what it has sent."""

    id: int
    box: Rect
    created_at: float
    controller: RateController = field(default_factory=RateController)
    #: Everything the stream has drawn on (it grows when the destination changes).
    area: Rect = field(init=False)
    #: The destination STREAM_CREATE announced; frames for another box go as STREAM_DATA_SIZED.
    origin: Rect = field(init=False)
    report_id: int = 0
    created_sent: bool = False
    #: The box changed since the last frame sent.
    pending: bool = True
    last_input: float = 0.0
    last_sent: float | None = None
    frames_in: int = 1
    frames_sent: int = 0
    frames_dropped: int = 0
    bytes_sent: int = 0
    #: Input frames since the last frame sent (beyond one, they were dropped).
    coalesced: int = 1
    #: Parts of ``area`` other drawing covered: sent losslessly, outside the stream's clip.
    covered: list[Rect] = field(default_factory=list)
    #: The clip changed since the client last heard it (STREAM_CLIP due).
    clip_pending: bool = False
    _inputs: deque[float] = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        self.area = self.box
        self.origin = self.box
        self.last_input = self.created_at
        self._inputs.append(self.created_at)

    def visible(self) -> list[Rect]:
        """The stream's box minus its covered parts, as disjoint boxes (its clip)."""
        return boxes_minus([self.box], self.covered)

    def cover(self, cut: Rect) -> bool:
        """Other drawing covered ``cut`` (inside ``area``); False: too little would stay visible."""
        if any(c.contains(cut) for c in self.covered):
            return True
        self.covered = [c for c in self.covered if not cut.contains(c)] + [cut]
        if len(self.covered) > MAX_COVERED:
            merged = self.covered[0]
            for c in self.covered[1:]:
                merged = merged.union(c)
            self.covered = [merged]
        self.clip_pending = True
        visible = self.visible()
        shown = sum(v.area for v in visible)
        return shown >= MIN_VISIBLE_SHARE * self.box.area and len(visible) <= MAX_CLIP_RECTS

    def covered_parts(self, box: Rect) -> list[Rect]:
        """The parts of ``box`` that are covered (drawn losslessly, not by the stream)."""
        return _disjoint([box.intersect(c) for c in self.covered])

    def frame(self, now: float) -> None:
        """The stream's box changed (a new input frame)."""
        self.frames_in += 1
        self.pending = True
        self.coalesced += 1
        self.last_input = now
        self._inputs.append(now)
        while self._inputs and now - self._inputs[0] > INPUT_FPS_WINDOW:
            self._inputs.popleft()

    @property
    def input_fps(self) -> float:
        """Input frames a second over the last :data:`INPUT_FPS_WINDOW` seconds."""
        if len(self._inputs) < 2:
            return 0.0
        span = self._inputs[-1] - self._inputs[0]
        return (len(self._inputs) - 1) / span if span > 0 else 0.0

    @property
    def timeout(self) -> float:
        """How long without a frame ends this stream."""
        fps = self.input_fps
        if fps <= 0:
            return STREAM_TIMEOUT
        return max(MIN_TIMEOUT, min(STREAM_TIMEOUT, TIMEOUT_INTERVALS / fps))

    @property
    def expires(self) -> float:
        return self.last_input + self.timeout

    def next_send(self) -> float:
        """Earliest time the next frame may go out (the controller's rate cap)."""
        if self.last_sent is None:
            return self.created_at
        return self.last_sent + self.controller.min_interval

    def take(self, now: float) -> None:
        """The newest picture is being encoded for sending (frames coalesced into it count as dropped)."""
        self.pending = False
        self.last_sent = now
        self.frames_sent += 1
        self.frames_dropped += max(0, self.coalesced - 1)
        self.coalesced = 0


def _disjoint(boxes: list[Rect]) -> list[Rect]:
    """The union of ``boxes`` as disjoint boxes."""
    out: list[Rect] = []
    for b in boxes:
        if not b.empty:
            out += boxes_minus([b], out)
    return out
