"""Stream detection counts the frames before a client came: a source's DamageHistory keeps runs
of repeated damage, and a new client's detector starts a box from its run there (as
libspice-server detects on the display's drawing, whoever watches)."""

from __future__ import annotations

import spice_server as ss
from spice_proto import DisplayDrawCopy, DisplayStreamCreate, Rect
from spice_server._video import (
    DETECTION_MAX_DELTA,
    FRAMES_START_CONDITION,
    STREAM_MIN_AREA,
    DamageHistory,
    StreamDetector,
    StreamingMode,
)
from spice_server.lowlevel import DisplayPipeline, ImageEncoder
from test_server_streams_session import smooth

BOX = Rect(0, 0, 100, 100)


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def run_of(frames: int, clock: Clock, history: DamageHistory, box: Rect = BOX) -> None:
    for _ in range(frames):
        clock.now += 0.04
        history.record(box)


def test_history_counts_runs_at_video_rate_and_forgets_pauses() -> None:
    clock = Clock()
    history = DamageHistory(clock=clock)
    run_of(7, clock, history)
    assert history.repeats(BOX) == 7
    assert history.repeats(Rect(0, 0, 100, 101)) == 0  # only the same box
    clock.now += DETECTION_MAX_DELTA + 0.01
    assert history.repeats(BOX) == 0  # the run is over
    run_of(2, clock, history)
    assert history.repeats(BOX) == 2  # a new run
    side = int(STREAM_MIN_AREA**0.5) - 1
    run_of(30, clock, history, Rect(0, 0, side, side))
    assert history.repeats(Rect(0, 0, side, side)) == 0  # too small to ever stream
    history.clear()
    assert history.repeats(BOX) == 0


def test_a_new_client_starts_from_the_sources_run() -> None:
    clock = Clock()
    history = DamageHistory(clock=clock)
    run_of(40, clock, history)  # long before this client: a stream at once
    assert StreamDetector(StreamingMode.ALL, history=history).observe(BOX, 0.0, lambda: False)
    photo = StreamDetector(StreamingMode.FILTER, history=history)
    assert photo.observe(BOX, 0.0, lambda: True)
    flat = StreamDetector(StreamingMode.FILTER, history=history)
    assert not flat.observe(BOX, 0.0, lambda: False)  # the run is judged as this frame is

    short = DamageHistory(clock=clock)
    run_of(6, clock, short)  # 5 frames before this one
    det = StreamDetector(StreamingMode.ALL, history=short)
    out = [det.observe(BOX, 0.04 * i, lambda: False) for i in range(FRAMES_START_CONDITION - 5)]
    assert out == [False] * (FRAMES_START_CONDITION - 6) + [True]


def test_a_pause_the_client_saw_is_not_bridged_by_the_history() -> None:
    clock = Clock()
    history = DamageHistory(clock=clock)
    run_of(3, clock, history)
    det = StreamDetector(StreamingMode.ALL, history=history)
    det.observe(BOX, 0.0, lambda: False)
    run_of(40, clock, history)
    # the client's own clock saw a gap: it counts afresh from this frame, whatever the source says
    assert not det.observe(BOX, 1.0, lambda: False)
    assert det.candidates[BOX] == 1


def test_a_client_joining_an_animation_gets_a_stream_with_its_next_frame() -> None:
    fb = ss.Framebuffer(320, 240)
    box = Rect(16, 16, 16 + 192, 16 + 144)
    clock = Clock()
    fb.history.clock = clock  # the source's own time: 25 frames a second
    for i in range(FRAMES_START_CONDITION + 5):  # nobody watching yet
        clock.now += 0.04
        fb.update(smooth(i, box), box)
    pipe = DisplayPipeline(fb, ImageEncoder(ss.Compression.OFF), streaming="filter")
    pipe.attach()
    first = list(pipe.messages())
    assert any(isinstance(m, DisplayDrawCopy) for m in first)  # the whole picture, losslessly
    clock.now += 0.04
    fb.update(smooth(99, box), box)
    after = list(pipe.messages())
    assert any(isinstance(m, DisplayStreamCreate) and m.dest == box for m in after)
    assert not any(isinstance(m, DisplayDrawCopy) for m in after)  # no lossless frames first
