"""spice view's direct way for whole stream frames gives what the general way gives.

A whole stream frame of the primary surface (a Damage with ``pixels``) that arrives while
the SDL loop waits with nothing else to draw is held and the frame due shown in one step
(``Viewer._direct_frame``, ``StreamFrames.arrive``).  Units: ``arrive`` hands out the frames
and the wait that ``hold``, ``showable``, ``due`` and ``wait_s`` give, for any arrivals;
the viewer's window, held frames and next wake-up are the same after every arrival with
the direct way on and off (SDL dummy driver); anything else pending sends a frame the
general way.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import spice_proto as sp
import spice_session as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_cli._sdl_frames import EARLY_MS, LATE_MS, MAX_AHEAD_MS, StreamFrames
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import poll_events
from spice_net.lowlevel import Alarm
from test_view_av_sync import Clock, _viewer_on_clock, surface

BOX = sp.Rect(8, 4, 24, 20)


def frame(value: int) -> np.ndarray:
    """A decoded 16x16 frame of one grey, read-only (as a whole frame's Damage carries it)."""
    out = np.full((16, 16, 4), value, np.uint8)
    out.flags.writeable = False
    return out


#: Arrivals: (ms the clock moves first, ms the frame is stamped ahead of it, whether the
#: viewer may draw now).  Stamps reach past MAX_AHEAD_MS and into the past.
ARRIVALS = st.lists(
    st.tuples(st.integers(0, 80), st.integers(-60, MAX_AHEAD_MS + 60), st.booleans()), max_size=40
)


@settings(max_examples=300, deadline=None)
@given(ARRIVALS, st.integers(16 * 16 * 4, 16 * 16 * 4 * 6))
def test_arrive_hands_out_what_hold_and_due_give(arrivals: list[tuple[int, int, bool]], cap: int) -> None:
    clock, s = Clock(), surface()
    general, direct = StreamFrames(clock.now, cap), StreamFrames(clock.now, cap)
    for step, (moved, ahead, may_show) in enumerate(arrivals):
        clock.t += moved
        mm_time, pixels = (clock.t + ahead) & 0xFFFFFFFF, frame(step)
        got = direct.arrive(mm_time, BOX, pixels, may_show)
        if not general.hold(mm_time, s, BOX, pixels):
            assert got is None  # too far ahead: drawn now, not held
            continue
        assert got is not None
        shown = general.due() if may_show and general.showable() else []
        assert [(f.mm_time, f.pixels is p.pixels) for f, p in zip(got[0], shown, strict=True)] == [
            (f.mm_time, True) for f in shown
        ]
        wait = general.wait_s()
        assert got[1] == (None if wait is None else pytest.approx(wait))
        assert (len(direct), direct.held_bytes, direct.dropped) == (
            len(general),
            general.held_bytes,
            general.dropped,
        )


def test_arrive_shows_the_frame_due_within_early_ms_and_says_when_to_wake_for_the_next() -> None:
    clock = Clock()
    frames = StreamFrames(clock.now)
    assert frames.arrive(10_100, BOX, frame(1), True) == ([], pytest.approx((100 + LATE_MS) / 1000))
    clock.t = 10_100 - EARLY_MS  # the first is due within EARLY_MS when the second arrives
    shown, wake_in = frames.arrive(10_140, BOX, frame(2), True) or ([], None)
    assert [f.mm_time for f in shown] == [10_100]
    assert wake_in == pytest.approx((EARLY_MS + 40 + LATE_MS) / 1000)
    clock.t = 10_140  # due, but the viewer may not draw yet: held on
    assert frames.arrive(10_180, BOX, frame(3), False) == ([], 0.0)
    assert len(frames) == 2
    assert frames.arrive(clock.t + MAX_AHEAD_MS + 1, BOX, frame(4), True) is None
    assert len(frames) == 2


class Recording(Alarm):
    """An alarm that notes what it is asked: rings, and deadlines set or moved."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, float]] = []

    def ring(self) -> None:
        self.asked.append(("ring", 0.0))
        super().ring()

    def ring_at(self, deadline: float, now: float | None = None) -> None:
        self.asked.append(("ring_at", deadline))
        super().ring_at(deadline, now)

    def reschedule(self, deadline: float, now: float | None = None) -> None:
        self.asked.append(("reschedule", deadline))
        super().reschedule(deadline, now)


def _waiting(viewer: Viewer, alarm: Alarm, now: list[float]) -> None:
    """The viewer as its SDL loop leaves it while it waits, on a trio clock reading ``now[0]``."""
    viewer._alarm, viewer._waiting, viewer._now = alarm, True, lambda: now[0]
    viewer._news_at = now[0]  # the window had news just now


async def test_the_direct_way_leaves_the_window_as_the_general_way_does(
    sdl: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two viewers take the same 150 whole frames (random stamps, arrival times and clock
    steps); one of them cannot take the direct way.  After every arrival both windows show
    the same pixels, hold the same frames and set their SDL loop's alarm alike."""
    (direct, clock, _), (general, general_clock, _) = await _viewer_on_clock(), await _viewer_on_clock()
    monkeypatch.setattr(general, "_direct_frame", lambda event: False)
    taken: list[bool] = []
    direct_frame = direct._direct_frame

    def noted(event: ss.events.Damage) -> bool:
        taken.append(direct_frame(event))
        return taken[-1]

    monkeypatch.setattr(direct, "_direct_frame", noted)
    rng = random.Random(14)
    # (ms the clocks move, ms the frame is stamped ahead): first two frames held 1 ms apart
    # and a third due with the first (the next wake-up is then the frame rate's, not the
    # held frame's), a fourth due that leaves none held (the loop's idle wait), then random ones
    steps = [(0, 50), (0, 51), (50, 0), (50, 0)] + [
        (rng.choice((0, 1, 5, 20, 40, 40, 40, 60)), rng.choice((-20, 0, 1, 2, 10, 30, 60, 100, 200, 400)))
        for _ in range(146)
    ]
    now = [100.0]
    with Recording() as direct_alarm, Recording() as general_alarm:
        _waiting(direct, direct_alarm, now)
        _waiting(general, general_alarm, now)
        for step, (moved, ahead) in enumerate(steps):
            now[0] += moved / 1000
            clock.t = general_clock.t = clock.t + moved
            mm_time = clock.t + ahead
            pixels = frame(step)
            poll_events()  # what the SDL loop did before it waited
            for viewer in (direct, general):
                assert viewer._damage_at_once(ss.events.Damage(0, BOX, 0, mm_time=mm_time, pixels=pixels))
            assert direct.window is not None and general.window is not None
            assert (direct.window.read_pixels() == general.window.read_pixels()).all(), step
            assert direct.frames is not None and general.frames is not None
            assert len(direct.frames) == len(general.frames), step
            assert direct._next_frame_at == general._next_frame_at, step
            assert direct._wait_until == pytest.approx(general._wait_until), step
            assert [w for w, _ in direct_alarm.asked] == [w for w, _ in general_alarm.asked], step
            assert [t for _, t in direct_alarm.asked] == pytest.approx([t for _, t in general_alarm.asked])
    assert all(taken) and len(taken) == 150
    assert not math.isinf(direct._next_frame_at) and not math.isinf(direct._wait_until)  # drawn, waited
    assert {what for what, _ in direct_alarm.asked} == {"ring_at", "reschedule"}
    for viewer in (direct, general):
        assert viewer.window is not None
        viewer.window.close()


async def test_anything_else_pending_sends_a_whole_frame_the_general_way(sdl: None) -> None:
    viewer, clock, _ = await _viewer_on_clock()
    window = viewer.window
    assert window is not None and viewer.frames is not None
    now = [100.0]
    with Alarm() as alarm:
        _waiting(viewer, alarm, now)
        assert viewer._direct_frame(ss.events.Damage(0, BOX, 0, mm_time=clock.t, pixels=frame(50)))
        assert (window.read_pixels()[4:20, 8:24, :3] == 50).all()  # due: shown at once
        viewer._dirty.append(sp.Rect(0, 0, 8, 8))  # a draw waits for the next frame time
        late = ss.events.Damage(0, BOX, 0, mm_time=clock.t + 1, pixels=frame(60))
        assert not viewer._direct_frame(late) and len(viewer.frames) == 0
        assert viewer._damage_at_once(late)  # held the general way, the loop rung for the draw
        assert len(viewer.frames) == 1 and not viewer._waiting
        viewer._dirty.clear()
        viewer._waiting = True
        for other in (
            ss.events.Damage(0, BOX, 1, mm_time=clock.t, pixels=frame(70)),  # another display
            ss.events.Damage(1, BOX, 0, mm_time=clock.t, pixels=frame(70)),  # not the primary
            ss.events.Damage(0, BOX, 0, pixels=frame(70)),  # no media time
        ):
            assert not viewer._direct_frame(other)
        viewer.stats_overlay = True
        assert not viewer._direct_frame(ss.events.Damage(0, BOX, 0, mm_time=clock.t, pixels=frame(70)))
        viewer.stats_overlay = False
        viewer._waiting = False  # the SDL loop runs: it looks for itself
        assert not viewer._direct_frame(ss.events.Damage(0, BOX, 0, mm_time=clock.t, pixels=frame(70)))
    assert (window.read_pixels()[4:20, 8:24, :3] == 50).all()
    window.close()
