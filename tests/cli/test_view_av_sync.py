"""spice view shows video stream frames on the media clock, like its sound.

Units: StreamFrames holds a copy of a frame's pixels until its mm_time (bounded), drops
late frames covered by later ones; the viewer (SDL dummy driver, a scripted session) puts
a held frame in the window only when the clock reaches it.  Against our server (SDL dummy
video, disk audio): a flash in an MJPEG stream and a click played at the same instant
come out of the viewer within 50 ms of each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import spice_proto as sp
import spice_server
import spice_session as ss
import trio
import trio.testing
from peers.av_sync import SKEW_S, H, W, flash_and_click, frozen_heap
from peers.xvfb import Xvfb
from spice_cli import _sdl_viewer
from spice_cli._sdl_audio import SdlSpeaker, ViewerAudio, sdl_audio
from spice_cli._sdl_frames import EARLY_MS, LATE_MS, MAX_AHEAD_MS, HeldFrame, StreamFrames
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import poll_events
from spice_net.lowlevel import Alarm


class Clock:
    def __init__(self, now: int = 10_000) -> None:
        self.t = now

    def now(self) -> int:
        return self.t & 0xFFFFFFFF


def surface(bgr: tuple[int, int, int] = (0, 0, 255)) -> ss.Surface:
    s = ss.Surface(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    s.pixels[:, :, :3] = bgr
    return s


def test_a_stream_frame_given_with_its_damage_is_held_without_a_copy() -> None:
    clock, s = Clock(), surface()
    frames = StreamFrames(clock.now)
    decoded = np.full((16, 16, 4), 7, np.uint8)
    decoded.flags.writeable = False
    assert frames.hold(10_100, s, sp.Rect(8, 4, 24, 20), decoded)
    # a frame that does not fit the box (or reaches off the surface) is copied from the surface
    assert frames.hold(10_200, s, sp.Rect(0, 0, 8, 8), decoded)
    assert frames.hold(10_300, s, sp.Rect(56, 40, 72, 56), decoded)
    clock.t = 10_300
    first, second, third = frames.due()
    assert first.pixels is decoded
    assert second.pixels.shape == (8, 8, 4) and (second.pixels[:, :, :3] == (0, 0, 255)).all()
    assert third.rect == sp.Rect(56, 40, 64, 48) and not np.shares_memory(third.pixels, decoded)


def test_frames_are_copies_held_until_their_media_time() -> None:
    clock, s = Clock(), surface()
    frames = StreamFrames(clock.now)
    assert frames.hold(10_100, s, sp.Rect(8, 4, 24, 20))
    s.pixels[:, :, :3] = (255, 0, 0)  # the next frame is drawn on the surface meanwhile
    assert frames.due() == [] and frames.wait_s() == pytest.approx(0.1 + LATE_MS / 1000)
    clock.t = 10_100
    [frame] = frames.due()
    assert (frame.mm_time, frame.rect) == (10_100, sp.Rect(8, 4, 24, 20))
    assert frame.pixels.shape == (16, 16, 4) and (frame.pixels[:, :, :3] == (0, 0, 255)).all()
    assert len(frames) == 0 and frames.held_bytes == 0 and frames.wait_s() is None
    # stamped too far ahead (a clock gone wrong): not held, the caller draws it now
    assert not frames.hold(10_100 + MAX_AHEAD_MS + 1, s, sp.Rect(0, 0, 8, 8))
    # across the u32 wrap
    clock.t = 0xFFFFFFF0
    assert frames.hold(0x10, s, sp.Rect(0, 0, 8, 8)) and frames.due() == []
    clock.t = 0x1_0000_0010
    assert [f.mm_time for f in frames.due()] == [0x10]


def test_late_frames_covered_by_later_ones_are_dropped_and_holding_is_bounded() -> None:
    clock, s = Clock(), surface()
    frames = StreamFrames(clock.now)
    for t in (9_900, 9_940, 9_980):  # all late: the last covers the others
        frames.hold(t, s, sp.Rect(0, 0, 32, 32))
    frames.hold(9_990, s, sp.Rect(40, 0, 48, 8))  # late too, elsewhere: shown
    assert [f.mm_time for f in frames.due()] == [9_980, 9_990] and frames.dropped == 2
    small = StreamFrames(clock.now, max_held_bytes=2 * 16 * 16 * 4)
    for t in (10_200, 10_300, 10_400):
        small.hold(t, s, sp.Rect(0, 0, 16, 16))
    assert [f.mm_time for f in small.due()] == [10_200]  # shown early: three would be too many bytes
    assert small.held_bytes == 2 * 16 * 16 * 4 and len(small) == 2


def test_a_frame_due_soon_comes_out_early_alone_and_one_due_later_is_waited_for_past_its_time() -> None:
    clock, s = Clock(), surface()
    frames = StreamFrames(clock.now)
    box = sp.Rect(0, 0, 16, 16)
    for t in (10_000 + EARLY_MS + 1, 10_000 + EARLY_MS + 20):
        frames.hold(t, s, box)
    assert not frames.showable() and frames.due() == []
    # the viewer wakes for the first frame LATE_MS after its time, not at it
    assert frames.wait_s() == pytest.approx((EARLY_MS + 1 + LATE_MS) / 1000)
    clock.t += 1  # now due within EARLY_MS: handed out on a wake-up made for something else
    assert frames.showable() and frames.wait_s() == pytest.approx((EARLY_MS + LATE_MS) / 1000)
    assert [f.mm_time for f in frames.due()] == [10_000 + EARLY_MS + 1]
    assert frames.dropped == 0 and len(frames) == 1
    # a frame comes due while the next is within EARLY_MS: only the due one comes out (the
    # early one would cover it, and the due one would be dropped unseen)
    clock.t = 10_000 + EARLY_MS + 4
    frames.hold(10_000 + EARLY_MS + 2, s, box)
    assert [f.mm_time for f in frames.due()] == [10_000 + EARLY_MS + 2] and frames.dropped == 0
    assert [f.mm_time for f in frames.due()] == [10_000 + EARLY_MS + 20]  # now early, alone
    assert frames.wait_s() is None and not frames.showable() and frames.held_bytes == 0


async def _viewer_on_clock(**extra: Any) -> tuple[Viewer, Clock, ss.Surface]:
    """A viewer of a scripted session whose media clock is a :class:`Clock`, its window open."""
    clock, primary = Clock(), surface()
    session = SimpleNamespace(
        **extra,
        uri=ss.parse_uri("spice://127.0.0.1:5900"),
        name=None,
        inputs=None,
        mouse_mode=sp.MouseMode.SERVER,
        supported_mouse_modes=sp.MouseMode.SERVER,
        display=SimpleNamespace(primary=primary, channels={}, monitor_layout=lambda: ()),
        cursor=ss.CursorState(),
        media_clock=clock,
    )
    viewer = Viewer(session)  # type: ignore[arg-type]
    message = sp.DisplaySurfaceCreate(0, 64, 48, primary.format, sp.SurfaceFlags.PRIMARY)
    await viewer.on_session_event(ss.events.SurfaceCreated(sp.ChannelType.DISPLAY, 0, message, primary))
    viewer.render()
    return viewer, clock, primary


async def test_head_areas_are_worked_out_again_only_when_the_surface_or_heads_change(sdl: None) -> None:
    viewer, _, primary = await _viewer_on_clock()
    layout: list[ss.Monitor] = []
    asked: list[int] = []

    def monitor_layout() -> tuple[ss.Monitor, ...]:
        asked.append(1)
        return tuple(layout)

    state = SimpleNamespace(primary=primary, monitors=())
    display = SimpleNamespace(primary=primary, channels={0: state}, monitor_layout=monitor_layout)
    viewer.session.display = display  # type: ignore[assignment]
    assert viewer._area(0) == sp.Rect(0, 0, 64, 48) and len(asked) == 1
    assert viewer._area(0) == sp.Rect(0, 0, 64, 48) and len(asked) == 1  # kept: nothing changed
    layout.append(ss.Monitor(0, 0, 0, 0, 32, 48))
    state.monitors = (object(),)  # a MONITORS_CONFIG replaces the heads
    assert viewer._area(0) == sp.Rect(0, 0, 32, 48) and len(asked) == 2
    layout.clear()
    bigger = ss.Surface(0, 80, 60, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    state.primary = display.primary = bigger  # a new primary surface
    assert viewer._area(0) == sp.Rect(0, 0, 80, 60) and len(asked) == 3
    assert viewer.window is not None
    viewer.window.close()


def _shows_the_two_frames_in_turn(viewer: Viewer, clock: Clock) -> None:
    """At 10.2 s the window shows the green frame at (8, 4, 24, 20); at 10.24 s the red one."""
    assert viewer.window is not None
    for t, bgr in ((10_200, (0, 255, 0)), (10_240, (255, 0, 0))):
        clock.t = t
        viewer.render()
        assert (viewer.window.read_pixels()[4:20, 8:24, :3] == bgr).all()


async def test_viewer_puts_a_stream_frame_in_the_window_at_its_time(sdl: None) -> None:
    viewer, clock, primary = await _viewer_on_clock()
    assert viewer.window is not None
    box = sp.Rect(8, 4, 24, 20)
    primary.pixels[4:20, 8:24, :3] = (0, 255, 0)  # a stream frame due in 200 ms
    await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=10_200))
    primary.pixels[4:20, 8:24, :3] = (255, 0, 0)  # and the next one, due later
    await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=10_240))
    viewer.render()
    assert (viewer.window.read_pixels()[4:20, 8:24, :3] == (0, 0, 255)).all()  # not yet
    _shows_the_two_frames_in_turn(viewer, clock)
    await viewer.on_session_event(ss.events.Damage(0, sp.Rect(0, 0, 8, 8)))  # not a stream: at once
    primary.pixels[0:8, 0:8, :3] = (9, 9, 9)
    viewer.render()
    assert (viewer.window.read_pixels()[0:8, 0:8, :3] == (9, 9, 9)).all()
    viewer.window.close()


async def test_frames_the_session_kept_back_are_shown_without_writing_them(sdl: None) -> None:
    """The viewer asks the session to keep frames back from the surface, and shows them from
    their Damage: neither holding nor showing one reads the surface (which would write it)."""
    viewer, clock, primary = await _viewer_on_clock(defer_stream_frames=False)
    assert viewer.session.defer_stream_frames is True
    assert viewer.window is not None
    await viewer.on_session_event(ss.events.Damage(0, sp.Rect(40, 0, 48, 8)))  # a draw: read at once
    viewer.render()
    box = sp.Rect(8, 4, 24, 20)
    for t, bgr in ((10_200, (0, 255, 0)), (10_240, (255, 0, 0))):
        frame = np.zeros((16, 16, 4), np.uint8)
        frame[:, :, :3] = bgr
        frame.flags.writeable = False
        primary.defer_frame(frame.view(np.uint32).reshape(16, 16), box.left, box.top)
        await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=t, pixels=frame))
    _shows_the_two_frames_in_turn(viewer, clock)
    viewer.render()  # nothing damaged: the surface is not read either
    assert primary.deferred  # still kept back: never written, never read
    viewer.window.close()


async def test_damage_is_noted_as_the_session_puts_it(sdl: None) -> None:
    """The viewer takes Damage from the event stream as it is put: no queueing, no scheduler
    round of its event task; other events still go through the queue, in order."""
    stream = ss.events.EventStream(16)
    viewer, _, _ = await _viewer_on_clock(events=lambda: stream)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(viewer._follow_session, nursery.cancel_scope)
        await trio.testing.wait_all_tasks_blocked()
        viewer._dirty.clear()
        stream.put(ss.events.Damage(0, sp.Rect(1, 2, 3, 4)))
        assert viewer._dirty == [sp.Rect(1, 2, 3, 4)] and len(stream.buffer) == 0  # at once
        frame = np.zeros((16, 16, 4), np.uint8)
        stream.put(ss.events.Damage(0, sp.Rect(8, 4, 24, 20), 0, mm_time=10_200, pixels=frame))
        assert viewer.frames is not None and len(viewer.frames) == 1  # held at once
        stream.put(ss.events.DisplayMarked(0))
        stream.put(ss.events.Damage(0, sp.Rect(5, 5, 6, 6)))  # behind a queued event: waits its turn
        assert len(stream.buffer) == 2 and sp.Rect(5, 5, 6, 6) not in viewer._dirty
        await trio.testing.wait_all_tasks_blocked()
        assert len(stream.buffer) == 0 and viewer._dirty[-1] == sp.Rect(5, 5, 6, 6)
        nursery.cancel_scope.cancel()
    assert viewer.window is not None
    viewer.window.close()


async def test_a_held_frame_wakes_the_idle_loop_once_at_its_time(sdl: None) -> None:
    """The SDL loop's idle wait is set to the held frame's time, not rung now to wait again."""
    viewer, _, _ = await _viewer_on_clock()
    rings: list[float] = []

    class Counting(Alarm):
        def ring(self) -> None:
            rings.append(trio.current_time())
            super().ring()

        def ring_at(self, deadline: float, now: float | None = None) -> None:
            if deadline <= trio.current_time():  # a ring now, said as a time
                rings.append(trio.current_time())
            super().ring_at(deadline, now)

    box = sp.Rect(8, 4, 24, 20)
    with Counting() as alarm, trio.fail_after(5):
        viewer._alarm, viewer._waiting = alarm, True  # what the SDL loop's wait sets
        start = trio.current_time()
        await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=10_150))
        await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=10_300))  # later: no change
        await alarm.wait()  # the idle wait: no deadline of its own
        assert 0.14 <= trio.current_time() - start < 1.5 and not rings
        viewer._waiting = True
        await viewer.on_session_event(ss.events.Damage(0, sp.Rect(0, 0, 8, 8)))  # not a stream: now
        assert len(rings) == 1 and not viewer._waiting
    assert viewer.window is not None
    viewer.window.close()


async def test_damage_is_drawn_at_once_while_the_loop_waits_for_a_held_frame(sdl: None) -> None:
    """A typed key's damage while a stream frame is held: the loop's wait for that frame ends
    at the next frame time, not at the held frame's (before: up to a stream frame late;
    bench_latency.py: 47 ms median key to screen against remote-viewer's 8-13)."""
    viewer, _, _ = await _viewer_on_clock()
    box = sp.Rect(8, 4, 24, 20)
    with Alarm() as alarm, trio.fail_after(5):
        viewer._alarm = alarm
        await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=10_400))  # held 0.4 s
        due_in = viewer._frames_due_in()
        assert due_in is not None and due_in > 0.3
        start = trio.current_time()
        viewer._next_frame_at = start + 0.1  # drawn just now: the next frame time is 0.1 s away
        async with trio.open_nursery() as nursery:
            nursery.start_soon(viewer._wait, alarm, start + due_in, start)  # the SDL loop, waiting for it
            await trio.sleep(0.02)
            await viewer.on_session_event(ss.events.Damage(0, sp.Rect(0, 0, 8, 8)))  # not a stream
        assert 0.09 <= trio.current_time() - start < 0.3  # at the next frame time, not the held frame's
    assert viewer.window is not None
    viewer.window.close()


def _count_polls(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """When the SDL loop looks at SDL (the list fills as it runs)."""
    polls: list[float] = []

    def counted_poll_events() -> list[Any]:
        polls.append(trio.current_time())
        return poll_events()

    monkeypatch.setattr(_sdl_viewer, "poll_events", counted_poll_events)
    return polls


async def _follow_trio_clock(clock: Clock, start: float, start_mm: int) -> None:
    """Keep the media clock at ``start_mm`` plus the trio time since ``start`` (ms)."""
    while True:
        clock.t = start_mm + round((trio.current_time() - start) * 1000)
        await trio.sleep(0.0005)


@asynccontextmanager
async def _sdl_loop_running(viewer: Viewer, clock: Clock, start: float, start_mm: int) -> AsyncIterator[None]:
    """The viewer's SDL loop running, the media clock following trio's from (``start``,
    ``start_mm``), the window mapped and its first events read; both stop after the block."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_follow_trio_clock, clock, start, start_mm)
        nursery.start_soon(viewer._sdl_loop)
        await trio.sleep(0.3)
        yield
        nursery.cancel_scope.cancel()


@pytest.mark.interop
async def test_the_x11_loop_wakes_once_a_held_frame(x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream at 25 frames/s, each frame held 60 ms: the SDL loop looks at SDL once a frame (it
    once woke again at once after each frame: its wait used the frame it had just shown)."""
    polls = _count_polls(monkeypatch)
    viewer, clock, primary = await _viewer_on_clock()
    start, start_mm = trio.current_time(), clock.t
    shown: list[HeldFrame] = []
    frames = viewer.frames
    assert frames is not None
    due = frames.due

    def counted_due() -> list[HeldFrame]:
        out = due()
        shown.extend(out)
        return out

    monkeypatch.setattr(frames, "due", counted_due)

    async def stream() -> None:
        for i in range(40):
            clock.t = start_mm + round((trio.current_time() - start) * 1000)
            primary.pixels[4:20, 8:24, :3] = (i * 6, 255 - i * 6, 0)
            await viewer.on_session_event(ss.events.Damage(0, sp.Rect(8, 4, 24, 20), 0, mm_time=clock.t + 60))
            await trio.sleep(0.04)

    with trio.fail_after(20):
        async with _sdl_loop_running(viewer, clock, start, start_mm):
            polls.clear()
            await stream()
    assert len(shown) >= 30
    # the bug woke the loop twice a frame (2x); a loaded machine adds a few polls (57 for 39
    # frames seen once in 36 runs with two busy loops beside it)
    assert len(polls) <= 1.5 * len(shown) + 5, (len(polls), len(shown))
    assert viewer.window is not None
    viewer.window.close()


def _note_shown(frames: StreamFrames, monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, int]]:
    """(trio time, media time) of each held frame as it is shown (the list fills as it runs)."""
    shown: list[tuple[float, int]] = []
    due, arrive = frames.due, frames.arrive

    def noted_due() -> list[HeldFrame]:
        out = due()
        shown.extend((trio.current_time(), f.mm_time) for f in out)
        return out

    def noted_arrive(*args: Any) -> tuple[list[HeldFrame], float | None] | None:
        out = arrive(*args)  # (the viewer's direct way for whole frames)
        shown.extend((trio.current_time(), f.mm_time) for f in (out[0] if out is not None else []))
        return out

    monkeypatch.setattr(frames, "due", noted_due)
    monkeypatch.setattr(frames, "arrive", noted_arrive)
    return shown


async def _stream_held_100ms(
    viewer: Viewer,
    clock: Clock,
    primary: ss.Surface,
    origin: tuple[float, int],
    stamps: list[int],
    arrivals: list[float],
    whole: bool = False,
) -> None:
    """40 stream frames at 25 frames/s, each stamped 100 ms ahead of the media clock, which
    follows trio's from ``origin`` (trio time, media time); their stamps and arrival times
    are appended to ``stamps`` and ``arrivals``.  ``whole``: as the session hands over whole
    frames (the Damage carries the pixels, taken as the session puts it), else as a draw on
    the surface's pixels."""
    start, start_mm = origin
    box = sp.Rect(8, 4, 24, 20)
    for i in range(40):
        clock.t = start_mm + round((trio.current_time() - start) * 1000)
        primary.pixels[4:20, 8:24, :3] = (i * 6, 255 - i * 6, 0)
        stamps.append(clock.t + 100)
        arrivals.append(trio.current_time())
        if whole:
            pixels = primary.pixels[4:20, 8:24].copy()
            pixels.flags.writeable = False
            assert viewer._damage_at_once(ss.events.Damage(0, box, 0, mm_time=stamps[-1], pixels=pixels))
        else:
            await viewer.on_session_event(ss.events.Damage(0, box, 0, mm_time=stamps[-1]))
        await trio.sleep(0.04)


@pytest.mark.interop
@pytest.mark.parametrize("whole", [False, True], ids=["drawn", "whole"])
async def test_held_frames_are_shown_on_the_wake_ups_of_later_arrivals(
    x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    """A stream at 25 frames/s, each frame held 100 ms: a frame is shown when a later one
    arrives (20 ms before its time, or 20 ms after), not on a wake-up of its own at its
    time (before: every frame woke the process twice, at its arrival and at its time)."""
    viewer, clock, primary = await _viewer_on_clock()
    start, start_mm = trio.current_time(), clock.t
    frames = viewer.frames
    assert frames is not None
    shown = _note_shown(frames, monkeypatch)
    stamps: list[int] = []
    arrivals: list[float] = []

    async def stream() -> None:
        await _stream_held_100ms(viewer, clock, primary, (start, start_mm), stamps, arrivals, whole)
        await trio.sleep(0.2)  # the last ones come out on their own wake-ups

    with trio.fail_after(20):
        async with _sdl_loop_running(viewer, clock, start, start_mm):
            await stream()
    assert [t for _, t in shown] == stamps and frames.dropped == 0  # all, in order
    # each shown while the arrival that woke the process was handled: at most a few ms
    # after it (the old timer wake-ups came 20 ms after one)
    on_arrival = [at for at, _ in shown[:-3] if any(0 <= at - a <= 0.008 for a in arrivals)]
    assert len(on_arrival) >= 0.8 * len(shown[:-3]), [
        round(1000 * (at - max(a for a in arrivals if a <= at)), 1) for at, _ in shown
    ]
    assert viewer.window is not None
    viewer.window.close()


@pytest.mark.interop
@pytest.mark.parametrize("whole", [False, True], ids=["drawn", "whole"])
async def test_a_frame_shown_on_an_arrival_costs_the_sdl_loop_no_wake_up(
    x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch, whole: bool
) -> None:
    """Frames held 100 ms at 25 frames/s are drawn from the session's task as later frames
    arrive, while the SDL loop sleeps on: it looks at SDL a few times in all, not once a frame
    (before: the arrival rang the loop, one more scheduler round a frame)."""
    polls = _count_polls(monkeypatch)
    viewer, clock, primary = await _viewer_on_clock()
    start, start_mm = trio.current_time(), clock.t
    frames = viewer.frames
    assert frames is not None
    noted = _note_shown(frames, monkeypatch)
    stamps: list[int] = []

    async def stream() -> None:
        await _stream_held_100ms(viewer, clock, primary, (start, start_mm), stamps, [], whole)

    with trio.fail_after(20):
        async with _sdl_loop_running(viewer, clock, start, start_mm):
            polls.clear()
            await stream()
    shown = [t for _, t in noted]
    assert shown == stamps[: len(shown)] and len(shown) >= 35 and frames.dropped == 0
    # the loop still wakes while SDL news settles (_SETTLE) and for what it must do itself
    assert len(polls) <= 0.25 * len(shown) + 8, (len(polls), len(shown))
    assert viewer.window is not None
    viewer.window.close()


async def test_a_draw_from_the_sessions_task_that_fails_is_raised_by_the_sdl_loop(sdl: None) -> None:
    viewer, clock, _ = await _viewer_on_clock()
    window = viewer.window
    assert window is not None

    def broken_put(*args: object) -> None:
        raise RuntimeError("the window went away")

    window.put = broken_put  # type: ignore[method-assign]
    with Alarm() as alarm, trio.fail_after(5):
        viewer._alarm, viewer._waiting = alarm, True  # what the SDL loop's wait sets
        await viewer.on_session_event(ss.events.Damage(0, sp.Rect(8, 4, 24, 20), 0, mm_time=clock.t))
        assert viewer._draw_error is not None
        viewer._alarm, viewer._waiting = None, False
        with pytest.raises(RuntimeError, match="the window went away"):
            await viewer._sdl_steps(alarm)
    window.close()


@pytest.mark.interop
async def test_the_x11_loop_does_not_spin_while_a_due_frame_waits_for_the_frame_rate(
    x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 30 frames/s stream held 10 ms with 60 Hz damage beside it: a frame that comes due less
    than a frame time after the last draw waits for the frame rate, asleep (the loop once turned
    ~10,000 times a second there: its wait ended at the due frame, then the throttle drew nothing)."""
    polls = _count_polls(monkeypatch)
    viewer, clock, primary = await _viewer_on_clock()
    start, start_mm = trio.current_time(), clock.t
    seconds = 1.5

    async def stream() -> None:
        for i in range(round(seconds * 30)):
            primary.pixels[4:20, 8:24, :3] = (i * 5, 255 - i * 5, 0)
            await viewer.on_session_event(ss.events.Damage(0, sp.Rect(8, 4, 24, 20), 0, mm_time=clock.t + 10))
            await trio.sleep(1 / 30)

    async def damage() -> None:
        for i in range(round(seconds * 60)):
            primary.pixels[30:40, 30:40, :3] = (i * 2, i * 2, i * 2)
            await viewer.on_session_event(ss.events.Damage(0, sp.Rect(30, 30, 40, 40)))
            await trio.sleep(1 / 60)

    with trio.fail_after(20):
        async with _sdl_loop_running(viewer, clock, start, start_mm):
            polls.clear()
            async with trio.open_nursery() as sources:
                sources.start_soon(stream)
                sources.start_soon(damage)
            elapsed = trio.current_time() - start - 0.3
    # at most a draw per frame time, plus a wake-up per damage and per stream frame
    assert len(polls) <= (60 + 60 + 30) * elapsed + 10, (len(polls), elapsed)
    assert viewer.window is not None
    viewer.window.close()


class Seen:
    """When the first white stream frame was put in the window and the click reached the speaker."""

    def __init__(self) -> None:
        self.flash: tuple[float, int] | None = None
        self.click: float | None = None


async def test_stream_frame_and_sound_of_the_same_instant_come_out_together(
    sdl: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(tmp_path / "out.raw"))
    seen = Seen()

    class Frames(StreamFrames):
        def due(self) -> list[HeldFrame]:
            out = super().due()
            for frame in out:
                if seen.flash is None and frame.pixels[:, :, :3].mean() > 200:
                    seen.flash = (trio.current_time(), frame.mm_time)
            return out

    class Speaker(SdlSpeaker):
        def play(self, pcm: np.ndarray) -> None:
            loud = np.flatnonzero(np.abs(pcm[:, 0]) > 1000)
            if seen.click is None and len(loud):  # it sounds after what is queued before it
                seen.click = trio.current_time() + (self.queued_ms / 1000) + loud[0] / self.rate
            super().play(pcm)

    fb = spice_server.Framebuffer(W, H)
    source = spice_server.AudioSource()
    server = spice_server.Server(fb, audio=source)
    with frozen_heap(), sdl_audio(), trio.fail_after(40):
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            uri = f"spice://127.0.0.1:{addr.port}"
            async with ss.connect(uri, audio=True, opus=False) as session:
                audio = ViewerAudio(session.media_clock.now, make_speaker=Speaker)
                viewer = Viewer(session, audio=audio)
                viewer.frames = Frames(session.media_clock.now)
                async with trio.open_nursery() as inner:
                    inner.start_soon(viewer.run)
                    # the stream goes on white until both came out
                    await flash_and_click(
                        server, fb, source, white=25, until=lambda: None not in (seen.flash, seen.click)
                    )
                    inner.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
    assert seen.flash is not None and seen.click is not None
    flash_at, flash_mm = seen.flash
    print(
        f"A/V in spice view: flash (mm {flash_mm}) shown {1000 * (flash_at - seen.click):+.1f} ms"
        f" from the click; {viewer.frames.dropped} late frames dropped"
    )
    assert abs(flash_at - seen.click) <= SKEW_S
