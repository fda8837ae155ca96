"""The display handler and the session's display API: surfaces, events, caches, errors, screenshot()."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from spice_proto import BitmapImage, FromCacheImage
from test_session_fake_server import Script, fake_server

WHOLE = sp.Rect(0, 0, 16, 8)
PRIMARY = sp.DisplaySurfaceCreate(0, 16, 8, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)


def fill(color: int, box: sp.Rect = WHOLE, surface_id: int = 0) -> sp.DisplayDrawFill:
    return sp.DisplayDrawFill(surface_id, box, sp.Clip(), sp.Brush.solid(color))


def test_surface_api() -> None:
    s = ss.Surface(3, 5, 2, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    assert (s.width, s.height, s.stride, s.bpp, s.primary) == (5, 2, 20, 4, True)
    assert s.pixels.shape == (2, 5, 4) and s.pixels.dtype == np.uint8
    s.buffer[0:4] = bytes([1, 2, 3, 0])  # B G R X
    assert s.to_rgb()[0, 0].tolist() == [3, 2, 1]
    snap = s.copy()
    s.pixels[0, 0] = 0
    assert snap.to_rgb()[0, 0].tolist() == [3, 2, 1] and s.to_rgb()[0, 0].tolist() == [0, 0, 0]
    alpha = ss.Surface(4, 3, 3, sp.SurfaceFmt.FMT_8_A)
    assert alpha.pixels.shape == (3, 3) and alpha.words is None and alpha.to_rgb().shape == (3, 3, 3)
    with pytest.raises(ss.DisplayError, match="size 0x5 out of range"):
        ss.Surface(1, 0, 5, sp.SurfaceFmt.FMT_32_xRGB)
    with pytest.raises(ss.DisplayError, match="unsupported surface format"):
        ss.Surface(1, 2, 2, sp.SurfaceFmt.INVALID)


def test_surfaces_events_and_reset() -> None:
    display = ss.Display(1 << 20, 1 << 20)
    state = display.channel(0)
    assert state.handle(PRIMARY) == []
    assert display.primary is state.surfaces[0] and display.surfaces == {0: state.surfaces[0]}
    assert state.handle(sp.DisplaySurfaceCreate(1, 4, 4, sp.SurfaceFmt.FMT_32_ARGB)) == []
    assert state.handle(fill(0x00FF00, sp.Rect(2, 2, 30, 30))) == [
        ss.events.Damage(0, sp.Rect(2, 2, 16, 8), 0)
    ]
    assert not state.marked and state.drawn
    assert state.handle(sp.DisplayMark()) == [ss.events.DisplayMarked(0)] and state.marked
    heads = (sp.Head(0, 0, 16, 8),)
    assert state.handle(sp.DisplayMonitorsConfig(heads, 1)) == [ss.events.MonitorsConfigChanged(heads, 1, 0)]
    assert display.monitors == heads
    assert state.handle(sp.DisplaySurfaceDestroy(1)) == [ss.events.SurfaceDestroyed(1, 0)]
    assert state.handle(sp.DisplaySurfaceDestroy(1)) == []
    assert state.handle(sp.DisplayReset()) == [ss.events.SurfaceDestroyed(0, 0), ss.events.DisplayWasReset(0)]
    assert display.primary is None and not state.marked


def test_bad_commands_are_skipped_with_a_problem_event() -> None:
    state = ss.Display(1 << 20, 1 << 20).channel(2)
    state.handle(PRIMARY)
    [problem] = state.handle(fill(1, surface_id=7))
    assert isinstance(problem, ss.events.DisplayProblem) and problem.channel_id == 2
    assert "display 2: no surface 7" in str(problem.error)
    copy = sp.DisplayDrawCopy(
        0, sp.Rect(0, 0, 1, 1), sp.Clip(), FromCacheImage(width=1, height=1, id=5), sp.Rect(0, 0, 1, 1)
    )
    [problem] = state.handle(copy)
    assert isinstance(problem, ss.events.DisplayProblem) and "image 0x5 is not in the pixmap cache" in str(
        problem.error
    )
    [problem] = state.handle(sp.DisplaySurfaceCreate(3, 100000, 100000, sp.SurfaceFmt.FMT_32_xRGB))
    assert isinstance(problem, ss.events.DisplayProblem)
    assert state.errors == 3
    # the channel goes on
    assert state.handle(fill(0x123456)) == [ss.events.Damage(0, sp.Rect(0, 0, 16, 8), 2)]


def test_pixmap_cache_is_shared_by_channels_and_invalidated() -> None:
    display = ss.Display(1 << 20, 1 << 20)
    a, b = display.channel(0), display.channel(1)
    for state in (a, b):
        state.handle(PRIMARY)
    cached = BitmapImage(
        width=1,
        height=1,
        id=77,
        flags=sp.ImageFlags.CACHE_ME,
        format=sp.BitmapFmt.FMT_32BIT,
        stride=4,
        data=bytes([9, 8, 7, 0]),
    )
    one = sp.Rect(0, 0, 1, 1)
    a.handle(sp.DisplayDrawCopy(0, one, sp.Clip(), cached, one))
    b.handle(sp.DisplayDrawCopy(0, one, sp.Clip(), FromCacheImage(width=1, height=1, id=77), one))
    assert b.surfaces[0].pixels[0, 0, :3].tolist() == [9, 8, 7]
    b.handle(sp.DisplayInvalList((sp.ResourceId(sp.ResourceType.PIXMAP, 77),)))
    assert 77 not in display.store
    a.handle(sp.DisplayDrawCopy(0, one, sp.Clip(), cached, one))
    a.handle(sp.DisplayInvalAllPixmaps())
    assert len(display.store) == 0 and display.store.cached_pixels == 0


async def test_session_display_state_events_and_screenshot() -> None:
    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(PRIMARY)
        await chan.send(fill(0x0000FF))
        await chan.send(sp.DisplayMark())
        await trio.sleep(0.3)
        await chan.send(fill(0xFF0000, sp.Rect(0, 0, 4, 4)))

    async with fake_server(Script(display=display)) as uri, ss.connect(uri) as session:
        seen: list[ss.events.Event] = []

        async def collect() -> None:
            async for event in session.events():
                seen.append(event)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect)
            with trio.fail_after(10):
                shot = await session.screenshot(settle=0.6)
            nursery.cancel_scope.cancel()
        # settled: the late red square is in the picture
        rgb = shot.to_rgb()
        assert rgb[0, 0].tolist() == [255, 0, 0] and rgb[7, 15].tolist() == [0, 0, 255]
        assert shot is not session.display.primary and shot.primary
        created = [e for e in seen if isinstance(e, ss.events.SurfaceCreated)]
        assert len(created) == 1 and created[0].surface is not None and created[0].surface.width == 16
        assert ss.events.DisplayMarked(0) in seen
        damage = [e for e in seen if isinstance(e, ss.events.Damage)]
        assert damage == [
            ss.events.Damage(0, sp.Rect(0, 0, 16, 8), 0),
            ss.events.Damage(0, sp.Rect(0, 0, 4, 4), 0),
        ]
        assert any(isinstance(e, ss.events.DrawEvent) for e in seen)  # the raw messages still come


async def test_screenshot_times_out_without_a_primary_surface() -> None:
    async with fake_server(Script()) as uri, ss.connect(uri) as session:
        session.events().close()
        with pytest.raises(ss.ScreenshotTimeout, match="no primary surface yet"):
            await session.screenshot(timeout=0.3)


def test_surface_memory_is_bounded_per_channel() -> None:
    state = ss.Display(1 << 20, 1 << 20).channel(0)
    side = 8192  # 2**26 pixels each: the channel budget (2**27) holds two
    for surface_id in (1, 2):
        assert state.handle(sp.DisplaySurfaceCreate(surface_id, side, side, sp.SurfaceFmt.FMT_8_A)) == []
    [problem] = state.handle(sp.DisplaySurfaceCreate(3, side, side, sp.SurfaceFmt.FMT_8_A))
    assert isinstance(problem, ss.events.DisplayProblem) and "past 134217728 pixels" in str(problem.error)
    assert set(state.surfaces) == {1, 2}
    # re-creating an existing id replaces it rather than adding to the total
    assert state.handle(sp.DisplaySurfaceCreate(2, side, side, sp.SurfaceFmt.FMT_8_A)) == [
        ss.events.SurfaceDestroyed(2, 0)
    ]


def test_the_per_draw_damage_is_a_whole_damage_event() -> None:
    from spice_session._events import damage

    rect = sp.Rect(1, 2, 30, 40)
    fast, slow = damage(3, rect, 1), ss.events.Damage(3, rect, 1)
    assert type(fast) is ss.events.Damage and fast == slow and hash(fast) == hash(slow)
    assert repr(fast) == repr(slow) and fast.mm_time is None
    assert list(vars(fast)) == [f.name for f in dataclasses.fields(fast)]
