"""The session's event stream: bounded, never blocking the readers, damage merged on overflow."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import spice_proto as sp
import spice_session as ss
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from spice_session._eventstream import EventBuffer, EventStream, merge_rect

D = sp.ChannelType.DISPLAY


def created(surface_id: int, width: int, height: int, channel_id: int = 0) -> ss.events.SurfaceCreated:
    message = sp.DisplaySurfaceCreate(surface_id, width, height, sp.SurfaceFmt.FMT_32_xRGB, 0)
    return ss.events.SurfaceCreated(D, channel_id, message)


def drain(buffer: EventBuffer) -> list[ss.events.Event]:
    out: list[ss.events.Event] = []
    while (event := buffer.take()) is not None:
        out.append(event)
    return out


def test_events_queue_up_to_the_limit_then_are_summarised() -> None:
    buffer = EventBuffer(3)
    first = [ss.events.DisplayMarked(0), ss.events.Damage(0, sp.Rect(0, 0, 2, 2)), ss.events.DisplayMarked(0)]
    for event in first:
        buffer.put(event)
    buffer.put(ss.events.Damage(0, sp.Rect(10, 10, 12, 12)))
    buffer.put(ss.events.Damage(0, sp.Rect(12, 10, 14, 12)))  # touches the previous one: merged
    buffer.put(ss.events.DisplayMarked(0))
    buffer.put(ss.events.Damage(1, sp.Rect(0, 0, 1, 1)))
    buffer.put(ss.events.ChannelEnded(D, 0))
    assert buffer.overflowing and len(buffer) == 3
    assert [buffer.take(), buffer.take()] == first[:2]
    buffer.put(ss.events.DisplayMarked(0))  # room again, but the summary comes first: still summarised
    assert drain(buffer) == [
        first[2],
        ss.events.EventsDropped(2, (("DisplayMarked", 2),)),
        ss.events.Damage(0, sp.Rect(10, 10, 14, 12)),
        ss.events.Damage(1, sp.Rect(0, 0, 1, 1)),
        ss.events.ChannelEnded(D, 0),
    ]
    assert not buffer.overflowing and (buffer.dropped_total, buffer.merged_total) == (2, 3)
    buffer.put(ss.events.DisplayMarked(0))  # and then events queue normally again
    assert drain(buffer) == [ss.events.DisplayMarked(0)]


def test_damage_alone_is_merged_without_a_drop_marker() -> None:
    buffer = EventBuffer(1)
    for x in range(0, 100, 10):
        buffer.put(ss.events.Damage(0, sp.Rect(x, 0, x + 10, 5), 2))
    assert drain(buffer) == [
        ss.events.Damage(0, sp.Rect(0, 0, 10, 5), 2),
        ss.events.Damage(0, sp.Rect(10, 0, 100, 5), 2),
    ]


def test_surface_lifecycle_during_overflow() -> None:
    buffer = EventBuffer(1)
    buffer.put(ss.events.DisplayMarked(0))
    buffer.put(ss.events.Damage(5, sp.Rect(0, 0, 3, 3)))
    buffer.put(ss.events.SurfaceDestroyed(5))  # its damage is moot
    buffer.put(created(6, 40, 30))  # a new surface is damaged all over
    buffer.put(ss.events.Damage(6, sp.Rect(1, 1, 2, 2)))  # inside: nothing to add
    buffer.put(ss.events.Damage(7, sp.Rect(0, 0, 1, 1), channel_id=1))
    buffer.put(ss.events.Damage(8, sp.Rect(0, 0, 1, 1)))
    buffer.put(ss.events.DisplayWasReset(0))  # channel 0 lost every surface; channel 1 did not
    buffer.put(created(9, 8, 8))
    events = drain(buffer)
    assert events[0] == ss.events.DisplayMarked(0)
    assert events[1] == ss.events.EventsDropped(
        4, (("DisplayWasReset", 1), ("SurfaceCreated", 2), ("SurfaceDestroyed", 1))
    )
    assert events[2:] == [
        ss.events.Damage(7, sp.Rect(0, 0, 1, 1), 1),
        ss.events.Damage(9, sp.Rect(0, 0, 8, 8)),
    ]


def test_channel_events_are_never_dropped() -> None:
    buffer = EventBuffer(1)
    buffer.put(ss.events.DisplayMarked(0))
    kept = [
        ss.events.ChannelOpened(D, 1, sp.Caps(), sp.Caps()),
        ss.events.ChannelEnded(D, 1),
        ss.events.SessionClosed("bye"),
    ]
    for event in kept:
        buffer.put(event)
    assert drain(buffer) == [ss.events.DisplayMarked(0), *kept]


def test_forced_events_pass_the_limit() -> None:
    buffer = EventBuffer(1)
    for _ in range(3):
        buffer.put(ss.events.DisplayMarked(0), force=True)
    assert len(buffer) == 3 and not buffer.overflowing


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 event"):
        EventBuffer(0)


rects = st.builds(
    lambda x, y, w, h: sp.Rect(x, y, x + w, y + h),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 12),
    st.integers(0, 12),
)


@given(st.lists(rects, max_size=40), st.integers(1, 6))
def test_merged_rects_cover_every_damaged_pixel(damage: list[sp.Rect], limit: int) -> None:
    merged: list[sp.Rect] = []
    for rect in damage:
        merged = merge_rect(merged, rect, limit)
        assert len(merged) <= limit
    want = np.zeros((80, 80), bool)
    for r in damage:
        want[r.top : r.bottom, r.left : r.right] = True
    got = np.zeros((80, 80), bool)
    for r in merged:
        assert r.width > 0 and r.height > 0
        got[r.top : r.bottom, r.left : r.right] = True
    assert not (want & ~got).any()
    real = [r for r in damage if r.width > 0 and r.height > 0]
    if real:  # and nothing outside the damage's bounding box
        left, top = min(r.left for r in real), min(r.top for r in real)
        right, bottom = max(r.right for r in real), max(r.bottom for r in real)
        for m in merged:
            assert m.left >= left and m.top >= top and m.right <= right and m.bottom <= bottom
    else:
        assert merged == []


async def test_stream_ends_when_every_producer_is_done() -> None:
    stream = ss.events.EventStream(4)
    stream.add_producers(2)
    stream.put(ss.events.DisplayMarked(0))
    assert stream.receive_nowait() == ss.events.DisplayMarked(0)
    with pytest.raises(trio.WouldBlock):
        stream.receive_nowait()
    stream.put(ss.events.DisplayMarked(0))
    got: list[ss.events.Event] = []

    async def read() -> None:
        async for event in stream:
            got.append(event)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        stream.put(ss.events.DisplayWasReset(0))
        stream.producer_done()
        await trio.testing.wait_all_tasks_blocked()
        assert got == [ss.events.DisplayMarked(0), ss.events.DisplayWasReset(0)]
        stream.producer_done()  # the last one: the iteration ends
    assert got == [ss.events.DisplayMarked(0), ss.events.DisplayWasReset(0)]


async def test_closing_the_stream_drops_events_and_wakes_the_reader() -> None:
    stream = ss.events.EventStream(4)
    stream.add_producers(1)
    stream.put(ss.events.DisplayMarked(0))
    with stream:
        pass
    stream.put(ss.events.DisplayMarked(0))
    assert stream.closed and len(stream.buffer) == 0
    with pytest.raises(trio.ClosedResourceError):
        await stream.receive()
    other = ss.events.EventStream(4)
    other.add_producers(1)

    async def close_soon() -> None:
        await trio.testing.wait_all_tasks_blocked()
        await other.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_soon)
        with pytest.raises(trio.ClosedResourceError):
            await other.receive()


async def test_a_reader_keeps_up_with_two_events_per_scheduler_round() -> None:
    """A channel reader puts two events per draw (the message's and its Damage) and lets
    the others run once per draw: the stream's reader takes both in that time, so a small
    buffer never overflows (one event per round filled it under any flood)."""
    stream = EventStream(limit=16)
    stream.add_producers(1)
    rounds = 2000

    async def producer() -> None:
        for i in range(rounds):
            stream.put(ss.events.DisplayMarked(0))
            stream.put(ss.events.Damage(0, sp.Rect(0, i % 64, 8, i % 64 + 1)))
            await trio.lowlevel.checkpoint()
        stream.producer_done()

    got: list[ss.events.Event] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(producer)
        async for event in stream:
            got.append(event)
    assert not [e for e in got if isinstance(e, ss.events.EventsDropped)]
    assert len(got) == 2 * rounds and stream.buffer.dropped_total == 0


async def test_a_reader_of_queued_events_still_lets_other_tasks_run() -> None:
    stream = EventStream(limit=1000)
    for _ in range(500):
        stream.put(ss.events.DisplayMarked(0), force=True)
    taken_when_other_ran: list[int] = []
    taken = 0

    async def other() -> None:
        while True:
            taken_when_other_ran.append(taken)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        await trio.lowlevel.checkpoint()
        for _ in range(500):
            await stream.receive()
            taken += 1
        nursery.cancel_scope.cancel()
    gaps = [b - a for a, b in itertools.pairwise(taken_when_other_ran)]
    # once per 64 events; trio may run the other task first in one round and last in the next
    assert taken_when_other_ran and max(gaps) <= 2 * 64, gaps


def test_ignored_classes_are_left_out_but_not_their_subclasses() -> None:
    stream = EventStream(8)
    assert stream.wants(ss.events.DrawEvent) and stream.wants(ss.events.DisplayEvent)
    stream.ignore(ss.events.DisplayEvent)
    stream.ignore(ss.events.DrawEvent)
    message = sp.DisplayMark()
    stream.put(ss.events.DrawEvent(sp.ChannelType.DISPLAY, 0, message))
    stream.put(ss.events.DisplayEvent(sp.ChannelType.DISPLAY, 0, message))
    created = ss.events.SurfaceCreated(sp.ChannelType.DISPLAY, 0, message)  # a DisplayEvent subclass
    stream.put(created)
    stream.put(ss.events.DisplayMarked(0))
    assert drain(stream.buffer) == [created, ss.events.DisplayMarked(0)]
    assert stream.buffer.dropped_total == 0  # left out, not dropped
    assert not stream.wants(ss.events.DrawEvent) and stream.wants(ss.events.SurfaceCreated)
    stream.close()
    assert not stream.wants(ss.events.SurfaceCreated)  # a closed stream wants nothing


def test_events_handled_at_once_skip_the_queue_but_never_overtake_it() -> None:
    stream = EventStream(2)
    taken: list[ss.events.Event] = []

    def note(event: ss.events.Event) -> bool:
        taken.append(event)
        return isinstance(event, ss.events.Damage) and event.rect.left < 100  # declines the rest

    stream.handle_at_once(ss.events.Damage, note)
    first, declined = ss.events.Damage(0, sp.Rect(0, 0, 2, 2)), ss.events.Damage(0, sp.Rect(100, 0, 102, 2))
    stream.put(first)
    assert taken == [first] and drain(stream.buffer) == []  # taken: never queued
    stream.put(declined)
    assert drain(stream.buffer) == [declined]  # offered, declined: queued
    mark, after = ss.events.DisplayMarked(0), ss.events.Damage(0, sp.Rect(4, 4, 6, 6))
    stream.put(mark)  # not a Damage: queued
    stream.put(after)  # something is queued before it: queued too, in order, not offered
    assert taken == [first, declined]
    assert drain(stream.buffer) == [mark, after]
    for event in (mark, mark, mark):  # past the limit: summarising
        stream.put(event)
    stream.put(after)
    assert taken == [first, declined] and stream.buffer.overflowing
    drain(stream.buffer)
    stream.handle_at_once(ss.events.Damage, None)
    stream.put(first)
    assert taken == [first, declined] and drain(stream.buffer) == [first]


def test_merged_damage_joins_only_touching_damage_queued_last() -> None:
    def dmg(
        left: int, top: int, right: int, bottom: int, surface: int = 0, mm: int | None = None
    ) -> ss.events.Damage:
        return ss.events.Damage(surface, sp.Rect(left, top, right, bottom), 0, mm)

    plain = EventBuffer(16)
    for event in (dmg(0, 0, 10, 2), dmg(0, 2, 6, 4)):
        plain.put(event)
    assert drain(plain) == [dmg(0, 0, 10, 2), dmg(0, 2, 6, 4)]  # off by default

    buffer = EventBuffer(16)
    buffer.merge_damage = True
    for event in (
        dmg(0, 0, 10, 2),
        dmg(0, 2, 6, 4),  # shares an edge: joined
        dmg(3, 1, 12, 3),  # overlaps the joined box: joined
        dmg(50, 50, 60, 60),  # apart: a Damage of its own
        dmg(50, 60, 60, 70, surface=1),  # another surface
        dmg(50, 70, 60, 80, surface=1, mm=5),  # a stream frame's: never joined
        dmg(50, 80, 60, 90, surface=1),  # the queued one before it is the frame's
        ss.events.DisplayMarked(0),
        dmg(50, 90, 60, 99, surface=1),  # another event came between
    ):
        buffer.put(event)
    got = drain(buffer)
    assert got == [
        dmg(0, 0, 12, 4),
        dmg(50, 50, 60, 60),
        dmg(50, 60, 60, 70, surface=1),
        dmg(50, 70, 60, 80, surface=1, mm=5),
        dmg(50, 80, 60, 90, surface=1),
        ss.events.DisplayMarked(0),
        dmg(50, 90, 60, 99, surface=1),
    ]
    assert [e.mm_time for e in got if isinstance(e, ss.events.Damage)] == [None, None, None, 5, None, None]
    assert buffer.merged_total == 2


def test_queued_stream_frames_are_bounded_later_damage_goes_without_pixels() -> None:
    from spice_session._eventstream import MAX_QUEUED_FRAME_BYTES

    frame = np.zeros((1080, 1920, 4), np.uint8)  # 8 MB: a stalled reader of a 1080p stream
    rect = sp.Rect(0, 0, 1920, 1080)
    buffer = EventBuffer(256)
    for i in range(20):
        buffer.put(ss.events.Damage(0, rect, 0, 1000 + 40 * i, frame))
    fits = MAX_QUEUED_FRAME_BYTES // frame.nbytes
    assert buffer.frame_bytes == fits * frame.nbytes <= MAX_QUEUED_FRAME_BYTES
    taken = [buffer.take() for _ in range(20)]
    assert all(isinstance(d, ss.events.Damage) for d in taken)
    assert [d.pixels is not None for d in taken if isinstance(d, ss.events.Damage)] == [True] * fits + [
        False
    ] * (20 - fits)
    assert [d.mm_time for d in taken if isinstance(d, ss.events.Damage)] == [1000 + 40 * i for i in range(20)]
    assert buffer.frame_bytes == 0  # taken frames are no longer counted: they may queue again
    buffer.put(ss.events.Damage(0, rect, 0, 5000, frame))
    assert buffer.frame_bytes == frame.nbytes
    buffer.clear()
    assert buffer.frame_bytes == 0
