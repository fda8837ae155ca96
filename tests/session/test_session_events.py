"""The session draws at the server's pace whether or not anyone reads its events."""

from __future__ import annotations

import random

import numpy as np
import numpy.typing as npt
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from test_session_fake_server import Script, fake_server

W, H = 64, 48
PRIMARY = sp.DisplaySurfaceCreate(0, W, H, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)


def fills(count: int, seed: int) -> list[tuple[sp.Rect, int]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        x, y = rng.randrange(W - 3), rng.randrange(H - 3)
        out.append((sp.Rect(x, y, x + rng.randint(1, 3), y + rng.randint(1, 3)), 0x010101 * (i % 250 + 1)))
    return out


def expected(draws: list[tuple[sp.Rect, int]]) -> npt.NDArray[np.uint8]:
    rgb = np.zeros((H, W, 3), np.uint8)
    for r, color in draws:
        rgb[r.top : r.bottom, r.left : r.right] = [(color >> 16) & 255, (color >> 8) & 255, color & 255]
    return rgb


def queued(events: ss.events.EventStream) -> list[ss.events.Event]:
    """The events waiting in ``events`` now."""
    out = []
    while True:
        try:
            out.append(events.receive_nowait())
        except trio.WouldBlock:
            return out


def coverage(damage: list[ss.events.Damage]) -> npt.NDArray[np.bool_]:
    """Which pixels of the surface ``damage`` names."""
    covered = np.zeros((H, W), bool)
    for e in damage:
        covered[e.rect.top : e.rect.bottom, e.rect.left : e.rect.right] = True
    return covered


def drawing(draws: list[tuple[sp.Rect, int]], done: trio.Event) -> Script:
    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(PRIMARY)
        await chan.send(sp.DisplayMark())
        for rect, color in draws:
            await chan.send(sp.DisplayDrawFill(0, rect, sp.Clip(), sp.Brush.solid(color)))
        done.set()

    return Script(display=display)


async def test_a_session_nobody_reads_events_from_still_draws() -> None:
    # 800 draws make 1600 events: far past the buffer, which a blocking design would stall on
    draws = fills(800, seed=1)
    done = trio.Event()
    async with fake_server(drawing(draws, done)) as uri, ss.connect(uri, event_buffer=8) as session:
        with trio.fail_after(20):
            await done.wait()
            shot = await session.screenshot(settle=0.3)
        assert (shot.to_rgb() == expected(draws)).all()
        primary = session.display.primary
        assert primary is not None and (primary.to_rgb() == expected(draws)).all()
        stream = session.events()
        assert len(stream.buffer) == 8 and stream.buffer.overflowing
        assert stream.buffer.dropped_total >= 790  # every DrawEvent past the buffer
        assert stream.buffer.merged_total >= 790  # and the Damage merged


async def test_a_slow_reader_gets_damage_covering_every_change() -> None:
    draws = fills(400, seed=2)
    done = trio.Event()
    async with fake_server(drawing(draws, done)) as uri, ss.connect(uri, event_buffer=16) as session:
        events = session.events()
        seen = [await events.receive()]  # then fall far behind
        with trio.fail_after(20):
            await done.wait()
            shot = await session.screenshot(settle=0.3)
        seen += queued(events)
    assert (shot.to_rgb() == expected(draws)).all()
    damage = [e for e in seen if isinstance(e, ss.events.Damage)]
    dropped = [e for e in seen if isinstance(e, ss.events.EventsDropped)]
    assert len(dropped) == 1 and dict(dropped[0].kinds)["DrawEvent"] >= 380
    assert len(damage) < 40  # merged: far fewer than the 400 draws
    assert all(e.surface_id == 0 and e.channel_id == 0 for e in damage)
    covered = coverage(damage)
    for rect, _ in draws:
        assert covered[rect.top : rect.bottom, rect.left : rect.right].all(), rect


async def test_a_viewer_like_reader_gets_joined_damage_and_no_draw_events() -> None:
    """A reader that ignores the per-message events and merges damage (as ``spice view``
    does) gets no DrawEvent, the session builds none, and its Damage still covers every
    draw in far fewer events."""
    draws = [(sp.Rect(0, row, W, row + 1), 0x010101 * (row + 1)) for row in range(H)]  # touching lines
    done = trio.Event()
    async with fake_server(drawing(draws, done)) as uri, ss.connect(uri) as session:
        events = session.events()
        events.ignore(ss.events.DrawEvent, ss.events.DisplayEvent)
        events.merge_damage()
        seen: list[ss.events.Event] = []
        with trio.fail_after(20):
            await done.wait()
            shot = await session.screenshot(settle=0.3)
        seen += queued(events)
    assert (shot.to_rgb() == expected(draws)).all()
    assert not any(type(e) in (ss.events.DrawEvent, ss.events.DisplayEvent) for e in seen)
    assert any(isinstance(e, ss.events.SurfaceCreated) for e in seen)  # a subclass still comes
    damage = [e for e in seen if isinstance(e, ss.events.Damage)]
    assert 1 <= len(damage) < len(draws) // 4
    covered = coverage(damage)
    assert covered.all()
    assert events.buffer.dropped_total == 0
