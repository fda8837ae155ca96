"""spice_server video streams without I/O: detection, the report controller, stream state, and the
pipeline's stream messages driven by a fake clock."""

from __future__ import annotations

import numpy as np
import pytest
import simplejpeg
import spice_server as ss
from hypothesis import given
from hypothesis import strategies as st
from peers.viewers import smooth_frame
from spice_proto import (
    Caps,
    ClipType,
    DisplayCap,
    DisplayDrawCopy,
    DisplayMark,
    DisplayStreamActivateReport,
    DisplayStreamClip,
    DisplayStreamCreate,
    DisplayStreamData,
    DisplayStreamDataSized,
    DisplayStreamDestroy,
    DisplayStreamReport,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    Message,
    Rect,
    StreamFlags,
    VideoCodecType,
)
from spice_server._client import client_video_codecs
from spice_server._video import (
    DETECTION_MAX_DELTA,
    FRAMES_RESET_CONDITION,
    FRAMES_START_CONDITION,
    MAX_FPS,
    STREAM_MIN_AREA,
    STREAM_TIMEOUT,
    RateController,
    StreamDetector,
    StreamingMode,
    VideoStream,
    box_subtract,
    media_time,
)
from spice_server.lowlevel import DisplayPipeline, ImageEncoder


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def yes() -> bool:
    return True


def no() -> bool:
    return False


# --- detection ------------------------------------------------------------------------------


def test_a_box_repeated_at_video_rate_becomes_a_stream_on_the_twentieth_frame() -> None:
    det = StreamDetector(StreamingMode.ALL)
    box = Rect(10, 10, 110, 110)
    results = [det.observe(box, 1.0 + 0.04 * i, no) for i in range(FRAMES_START_CONDITION)]
    assert results == [False] * (FRAMES_START_CONDITION - 1) + [True]
    assert box not in det.candidates  # it is a stream now, no longer a candidate


def test_a_pause_longer_than_the_detection_delta_starts_counting_again() -> None:
    det = StreamDetector(StreamingMode.ALL)
    box = Rect(0, 0, 100, 100)
    t = 0.0
    for _ in range(FRAMES_START_CONDITION - 1):
        t += 0.05
        assert not det.observe(box, t, no)
    t += DETECTION_MAX_DELTA + 0.01
    assert not det.observe(box, t, no)
    assert det.candidates[box] == 1


def test_small_boxes_moving_boxes_and_mode_off_never_stream() -> None:
    small = StreamDetector(StreamingMode.ALL)
    side = int(STREAM_MIN_AREA**0.5) - 1
    assert not any(small.observe(Rect(0, 0, side, side), 0.01 * i, yes) for i in range(100))
    moving = StreamDetector(StreamingMode.ALL)
    assert not any(moving.observe(Rect(i, 0, i + 100, 100), 0.01 * i, yes) for i in range(100))
    off = StreamDetector(StreamingMode.OFF)
    assert not any(off.observe(Rect(0, 0, 100, 100), 0.01 * i, yes) for i in range(100))


@pytest.mark.parametrize(("photo_frames", "streams"), [(0, False), (3, False), (4, True), (20, True)])
def test_filter_mode_needs_a_fifth_of_the_frames_photo_like(photo_frames: int, streams: bool) -> None:
    det = StreamDetector(StreamingMode.FILTER)
    box = Rect(0, 0, 100, 100)
    out = [det.observe(box, 0.04 * i, yes if i < photo_frames else no) for i in range(FRAMES_START_CONDITION)]
    assert out[-1] is streams


def test_a_candidate_is_judged_afresh_after_a_hundred_frames() -> None:
    det = StreamDetector(StreamingMode.FILTER)
    box = Rect(0, 0, 100, 100)
    flat = [det.observe(box, 0.04 * i, no) for i in range(FRAMES_RESET_CONDITION)]
    assert not any(flat) and det.candidates[box] == FRAMES_RESET_CONDITION
    t = 0.04 * FRAMES_RESET_CONDITION
    photo = [det.observe(box, t + 0.04 * i, yes) for i in range(FRAMES_START_CONDITION)]
    assert photo == [False] * (FRAMES_START_CONDITION - 1) + [True]


def test_the_trace_forgets_the_oldest_candidate() -> None:
    det = StreamDetector(StreamingMode.ALL, slots=2)
    a, b, c = Rect(0, 0, 100, 100), Rect(200, 0, 300, 100), Rect(400, 0, 500, 100)
    det.observe(a, 0.0, no)
    det.observe(b, 0.01, no)
    det.observe(c, 0.02, no)
    assert set(det.candidates) == {b, c}
    det.forget(Rect(250, 50, 260, 60))
    assert set(det.candidates) == {c}


@given(
    st.tuples(*[st.integers(0, 40)] * 4),
    st.tuples(*[st.integers(0, 40)] * 4),
)
def test_box_subtract_covers_exactly_the_difference(a4: tuple[int, ...], b4: tuple[int, ...]) -> None:
    a = Rect(min(a4[0], a4[2]), min(a4[1], a4[3]), max(a4[0], a4[2]), max(a4[1], a4[3]))
    b = Rect(min(b4[0], b4[2]), min(b4[1], b4[3]), max(b4[0], b4[2]), max(b4[1], b4[3]))
    want = np.zeros((40, 40), bool)
    want[a.top : a.bottom, a.left : a.right] = True
    want[b.top : b.bottom, b.left : b.right] = False
    got = np.zeros((40, 40), np.int32)
    for part in box_subtract(a, b):
        assert not part.empty
        got[part.top : part.bottom, part.left : part.right] += 1
    assert (got == want).all()  # every pixel of a - b once, nothing else


# --- rate control and stream state ----------------------------------------------------------


def test_reports_with_drops_lower_quality_and_rate_within_bounds() -> None:
    rc = RateController()
    q, fps = rc.quality, rc.fps
    rc.report(5, 2, 100)
    assert rc.quality == q - RateController.STEP_DOWN and rc.fps == pytest.approx(fps * 0.75)
    rc.report(5, 0, -30)  # late without counted drops is congestion too
    assert rc.quality == q - 2 * RateController.STEP_DOWN
    for _ in range(30):
        rc.report(5, 5, -100)
    assert rc.quality == RateController.MIN_QUALITY and rc.fps == RateController.MIN_FPS


def test_clean_reports_raise_quality_and_rate_slowly() -> None:
    rc = RateController(quality=50)
    rc.fps = 10.0
    rc.report(5, 0, 300)
    assert (rc.quality, rc.fps) == (50, 10.0)  # one clean window is not enough
    rc.report(5, 0, 300)
    assert (rc.quality, rc.fps) == (50 + RateController.STEP_UP, 12.0)
    rc.report(5, 0, 10)  # on time, but too close to the deadline to ask for more
    rc.report(5, 0, 10)
    assert rc.quality == 50 + RateController.STEP_UP
    for _ in range(100):
        rc.report(5, 0, 300)
    assert rc.quality == RateController.MAX_QUALITY and rc.fps == MAX_FPS


def test_stream_measures_its_input_rate_and_times_out_sooner_when_fast() -> None:
    s = VideoStream(0, Rect(0, 0, 100, 100), created_at=10.0)
    assert s.timeout == STREAM_TIMEOUT  # no rate known yet
    for i in range(1, 26):
        s.frame(10.0 + 0.04 * i)
    assert s.input_fps == pytest.approx(25.0)
    assert s.timeout == pytest.approx(0.2)  # five frame intervals
    assert s.expires == pytest.approx(11.0 + 0.2)
    s.take(11.0)
    assert (s.frames_sent, s.frames_dropped, s.pending) == (1, 25, False)  # 26 frames in, one out


# --- the pipeline's streams -----------------------------------------------------------------

W, H = 320, 240
ANIM = Rect(64, 48, 64 + 160, 48 + 120)


def gradient(variant: int) -> np.ndarray:
    """A photo-like (smooth) BGRX picture of the animated box."""
    return smooth_frame(ANIM.width, ANIM.height, variant)


def pipeline(fb: ss.Framebuffer, clock: Clock, **kwargs: object) -> DisplayPipeline:
    options: dict[str, object] = {"streaming": "filter", "clock": clock, "stream_reports": True}
    options.update(kwargs)
    pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), **options)  # type: ignore[arg-type]
    pipe.attach()
    return pipe


def animate(fb: ss.Framebuffer, clock: Clock, frames: int, start: int = 0, dt: float = 0.04) -> None:
    for i in range(start, start + frames):
        clock.now += dt
        fb.update(gradient(i), ANIM)


def streamed(fb: ss.Framebuffer, clock: Clock, **kwargs: object) -> tuple[DisplayPipeline, list[Message]]:
    """A pipeline whose client saw the first frame, then FRAMES_START_CONDITION animation frames."""
    pipe = pipeline(fb, clock, **kwargs)
    list(pipe.messages())
    animate(fb, clock, FRAMES_START_CONDITION)
    return pipe, list(pipe.messages())


def test_an_animated_area_becomes_an_mjpeg_stream() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, msgs = streamed(fb, clock)
    kinds = [type(m) for m in msgs]
    # the 19 frames before the stream were damage; the stream now covers it (no lossless draw)
    assert kinds == [DisplayStreamCreate, DisplayStreamActivateReport, DisplayStreamData]
    create = msgs[0]
    assert isinstance(create, DisplayStreamCreate)
    assert create.codec_type == VideoCodecType.MJPEG and create.flags == StreamFlags.TOP_DOWN
    assert (create.stream_width, create.stream_height) == (ANIM.width, ANIM.height)
    assert (create.dest.left, create.dest.top, create.dest.right, create.dest.bottom) == (64, 48, 224, 168)
    report = msgs[1]
    assert isinstance(report, DisplayStreamActivateReport) and report.stream_id == create.id
    assert (report.max_window_size, report.timeout_ms) == (5, 1000)
    data = msgs[2]
    assert isinstance(data, DisplayStreamData) and data.id == create.id
    assert abs(((data.multi_media_time - media_time() + 2**31) % 2**32) - 2**31) < 1000
    picture = simplejpeg.decode_jpeg(data.data, colorspace="BGRX")
    assert picture.shape == (ANIM.height, ANIM.width, 4)
    diff = np.abs(picture[:, :, :3].astype(int) - gradient(FRAMES_START_CONDITION - 1)[:, :, :3])
    assert diff.mean() < 3  # JPEG at the starting quality
    assert pipe.stats["streams_created"] == 1


def test_no_stream_for_clients_without_mjpeg_or_with_streaming_off() -> None:
    for kwargs in ({"video_codecs": ()}, {"streaming": "off"}):
        fb, clock = ss.Framebuffer(W, H), Clock()
        pipe, msgs = streamed(fb, clock, **kwargs)
        assert {type(m) for m in msgs} == {DisplayDrawCopy} and not pipe.streams
        animate(fb, clock, 30, start=FRAMES_START_CONDITION)
        assert all(isinstance(m, DisplayDrawCopy) for m in pipe.messages())


def test_flat_content_does_not_stream_in_filter_mode_but_does_in_all() -> None:
    for mode, want in (("filter", False), ("all", True)):
        fb, clock = ss.Framebuffer(W, H), Clock()
        pipe = pipeline(fb, clock, streaming=mode)
        list(pipe.messages())
        for i in range(30):
            clock.now += 0.04
            fb.fill((i * 8, 0, 0) if i % 2 else (0, 0, 200), ANIM)
        list(pipe.messages())
        assert bool(pipe.streams) is want


def test_frames_are_paced_and_never_queued() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    (stream,) = pipe.streams.values()
    # a client that does not take anything while 50 frames arrive still has one pending frame
    animate(fb, clock, 50, start=100, dt=0.01)
    assert not pipe.region  # stream frames never reach the dirty region
    msgs = list(pipe.messages())
    assert [type(m) for m in msgs] == [DisplayStreamData]
    assert stream.frames_dropped == 49
    # right after a frame, the next one waits for the rate cap
    animate(fb, clock, 1, start=200, dt=0.001)
    assert not pipe.has_work and list(pipe.messages()) == []
    deadline = pipe.next_deadline()
    assert deadline == pytest.approx(stream.last_sent + 1 / MAX_FPS)  # type: ignore[operator]
    clock.now = deadline  # type: ignore[assignment]
    assert pipe.has_work and [type(m) for m in pipe.messages()] == [DisplayStreamData]


def test_a_stream_that_stops_ends_and_its_area_goes_lossless() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    (stream,) = pipe.streams.values()
    clock.now += 0.1
    assert not pipe.has_work
    clock.now = stream.expires
    assert pipe.has_work
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplayStreamDestroy) and msgs[0].id == stream.id
    draws = [m for m in msgs[1:] if isinstance(m, DisplayDrawCopy)]
    assert len(draws) == len(msgs) - 1
    covered = np.zeros((H, W), bool)
    for d in draws:
        covered[d.box.top : d.box.bottom, d.box.left : d.box.right] = True
    assert covered[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right].all()
    assert not pipe.streams and pipe.stats["streams_destroyed"] == 1


def test_larger_damage_covering_a_stream_ends_it() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    fb.fill((1, 2, 3))
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplayStreamDestroy)
    assert all(isinstance(m, DisplayDrawCopy) for m in msgs[1:]) and not pipe.streams


def painted(draws: list[DisplayDrawCopy]) -> np.ndarray:
    """How many times each pixel was drawn losslessly."""
    out = np.zeros((H, W), int)
    for d in draws:
        out[d.box.top : d.box.bottom, d.box.left : d.box.right] += 1
    return out


def test_drawing_over_part_of_a_stream_clips_it_and_goes_lossless() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    (stream,) = pipe.streams.values()
    clock.now += 0.04
    fb.fill((9, 9, 9), Rect(0, 0, 100, 100))  # covers the stream's top-left corner
    msgs = list(pipe.messages())
    # STREAM_CLIP (the stream's box minus the corner) first, then the whole fill losslessly
    clip = msgs[0]
    assert isinstance(clip, DisplayStreamClip) and clip.id == stream.id
    assert clip.clip.type == ClipType.RECTS
    corner = Rect(0, 0, 100, 100).intersect(ANIM)
    shown = np.zeros((H, W), int)
    for r in clip.clip.rects:
        shown[r.top : r.bottom, r.left : r.right] += 1
    want = np.zeros((H, W), int)
    want[ANIM.top : ANIM.bottom, ANIM.left : ANIM.right] = 1
    want[corner.top : corner.bottom, corner.left : corner.right] = 0
    assert (shown == want).all()
    draws = [m for m in msgs[1:] if isinstance(m, DisplayDrawCopy)]
    assert len(draws) == len(msgs) - 1  # no stream frame: the stream's own pixels did not change
    want = np.zeros((H, W), int)
    want[:100, :100] = 1
    assert (painted(draws) == want).all()
    assert pipe.streams == {stream.id: stream} and not pipe.stats["streams_destroyed"]
    # the stream's next frames: its picture goes out clipped, the covered corner losslessly again
    animate(fb, clock, 1, start=300)
    msgs = list(pipe.messages())
    assert {type(m) for m in msgs} == {DisplayStreamData, DisplayDrawCopy}
    want = np.zeros((H, W), int)
    want[corner.top : corner.bottom, corner.left : corner.right] = 1
    assert (painted([m for m in msgs if isinstance(m, DisplayDrawCopy)]) == want).all()
    # the same corner again: no new clip
    clock.now += 0.04
    fb.fill((1, 1, 1), corner)
    assert [type(m) for m in pipe.messages()] == [DisplayDrawCopy]


def test_a_stream_covered_mostly_ends_and_a_new_stream_starts_with_its_clip() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    (stream,) = pipe.streams.values()
    clock.now += 0.04
    fb.fill((9, 9, 9), Rect(0, 0, W, ANIM.top + ANIM.height * 2 // 3))  # 2/3 of it covered
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplayStreamDestroy) and msgs[0].id == stream.id
    assert not any(isinstance(m, DisplayStreamClip) for m in msgs) and not pipe.streams
    assert painted([m for m in msgs if isinstance(m, DisplayDrawCopy)])[
        ANIM.top : ANIM.bottom, ANIM.left : ANIM.right
    ].all()


def test_a_clip_created_before_its_stream_goes_out_in_stream_create() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe = pipeline(fb, clock)
    list(pipe.messages())
    animate(fb, clock, FRAMES_START_CONDITION)  # the stream starts: not announced yet
    assert len(pipe.streams) == 1
    fb.fill((9, 9, 9), Rect(0, 0, 100, 100))
    msgs = list(pipe.messages())
    create = msgs[0]
    assert isinstance(create, DisplayStreamCreate) and create.clip.type == ClipType.RECTS
    assert sum(r.area for r in create.clip.rects) == ANIM.area - Rect(0, 0, 100, 100).intersect(ANIM).area
    assert not any(isinstance(m, DisplayStreamClip) for m in msgs)


def test_a_moved_stream_keeps_its_covered_part_clipped() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock, sized_streams=True)
    corner = Rect(ANIM.left, ANIM.top, ANIM.left + 20, ANIM.top + 20)
    fb.fill((9, 9, 9), Rect(0, 0, corner.right, corner.bottom))
    list(pipe.messages())
    moved = ANIM.shifted(8, 4)
    clock.now += 0.04
    fb.update(gradient(500), moved)
    msgs = list(pipe.messages())
    clip = next(m for m in msgs if isinstance(m, DisplayStreamClip))
    assert sum(r.area for r in clip.clip.rects) == moved.area - corner.intersect(moved).area
    assert all(moved.contains(r) for r in clip.clip.rects)
    assert any(isinstance(m, DisplayStreamDataSized) for m in msgs)


def test_a_moved_stream_sends_sized_frames_to_clients_that_can_take_them() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock, sized_streams=True)
    moved = ANIM.shifted(8, 4)
    clock.now += 0.04
    fb.update(np.zeros((moved.height, moved.width, 4), np.uint8), moved)
    msgs = list(pipe.messages())
    sized = [m for m in msgs if isinstance(m, DisplayStreamDataSized)]
    assert len(sized) == 1 and (sized[0].width, sized[0].height) == (moved.width, moved.height)
    assert (sized[0].dest.left, sized[0].dest.top) == (moved.left, moved.top)
    (stream,) = pipe.streams.values()
    assert stream.area == ANIM.union(moved)
    # without the capability the same damage is a frame plus lossless edges
    fb2, clock2 = ss.Framebuffer(W, H), Clock()
    pipe2, _ = streamed(fb2, clock2)
    clock2.now += 0.04
    fb2.update(np.zeros((moved.height, moved.width, 4), np.uint8), moved)
    kinds = {type(m) for m in pipe2.messages()}
    assert kinds == {DisplayStreamData, DisplayDrawCopy}


def test_reports_steer_quality_and_an_invalid_report_stops_streaming() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, msgs = streamed(fb, clock)
    (stream,) = pipe.streams.values()
    big = len(next(m for m in msgs if isinstance(m, DisplayStreamData)).data)
    for _ in range(4):
        pipe.stream_report(DisplayStreamReport(stream.id, stream.report_id, 0, 0, 5, 3, -50, 0xFFFFFFFF))
    pipe.stream_report(DisplayStreamReport(stream.id, stream.report_id + 7, 0, 0, 5, 0, 900, 0))  # stale
    assert stream.controller.quality == RateController.START_QUALITY - 4 * RateController.STEP_DOWN
    clock.now += 1.0 / stream.controller.fps
    fb.update(gradient(FRAMES_START_CONDITION - 1), ANIM)
    small = len(next(m for m in pipe.messages() if isinstance(m, DisplayStreamData)).data)
    assert small < big * 0.8
    pipe.stream_report(DisplayStreamReport(stream.id, 0, 0, 0, 0, 0xFFFFFFFF, 0, 0))
    msgs = list(pipe.messages())
    assert isinstance(msgs[0], DisplayStreamDestroy) and pipe.video_codec is None
    animate(fb, clock, 40, start=300)
    assert not pipe.streams


def test_resize_destroys_streams_before_the_surface() -> None:
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipe, _ = streamed(fb, clock)
    fb.resize(200, 100)
    kinds = [type(m) for m in pipe.messages()]
    assert kinds[:3] == [DisplayStreamDestroy, DisplaySurfaceDestroy, DisplaySurfaceCreate]
    assert kinds[-1] is DisplayMark and not pipe.streams


def test_preferred_codecs_reorder_but_never_drop_a_usable_codec() -> None:
    pipe = DisplayPipeline(ss.Framebuffer(8, 8), video_codecs=(VideoCodecType.MJPEG,))
    pipe.set_preferred_codecs([VideoCodecType.VP8, 99])
    assert pipe.video_codec is VideoCodecType.MJPEG


def test_which_clients_get_mjpeg() -> None:
    assert client_video_codecs(Caps()) == (VideoCodecType.MJPEG,)  # from before MULTI_CODEC
    assert client_video_codecs(Caps.of(DisplayCap.MULTI_CODEC)) == ()
    both = Caps.of(DisplayCap.MULTI_CODEC, DisplayCap.CODEC_MJPEG)
    assert client_video_codecs(both) == (VideoCodecType.MJPEG,)


def test_clients_share_the_photo_check_of_each_damage(monkeypatch: pytest.MonkeyPatch) -> None:
    from spice_server import _streams

    calls: list[int] = []
    real = _streams.is_photo_like
    monkeypatch.setattr(_streams, "is_photo_like", lambda pixels: calls.append(1) or real(pixels))
    fb, clock = ss.Framebuffer(W, H), Clock()
    pipes = [pipeline(fb, clock) for _ in range(3)]
    for pipe in pipes:
        list(pipe.messages())
    animate(fb, clock, 10)
    assert len(calls) == 10  # once per damage, not once per client
