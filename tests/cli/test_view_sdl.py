"""The viewer with a real SDL window on SDL's offscreen "dummy" video driver, and a scripted session.

Checks what reaches the texture (only damaged rectangles are uploaded) and
what input turns into on the inputs channel, without an X server.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import (
    ButtonInput,
    FocusChanged,
    KeyInput,
    PointerMoved,
    Quit,
    WheelInput,
)
from spice_net.lowlevel import Alarm


class Recorder:
    def __init__(self) -> None:
        self.sent: list[sp.Message] = []

    async def send(self, message: sp.Message) -> None:
        self.sent.append(message)

    def kinds(self) -> list[str]:
        return [type(m).__name__ for m in self.sent]


def _session(mode: sp.MouseMode = sp.MouseMode.CLIENT) -> tuple[Any, Recorder]:
    rec = Recorder()
    inputs = ss.Inputs(rec)
    primary = ss.Surface(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    session = SimpleNamespace(
        uri=ss.parse_uri("spice://127.0.0.1:5900"),
        name=None,
        inputs=inputs,
        mouse_mode=mode,
        supported_mouse_modes=sp.MouseMode.SERVER | sp.MouseMode.CLIENT,
        display=SimpleNamespace(primary=primary, channels={}, monitor_layout=lambda: ()),
        cursor=ss.CursorState(),
    )
    return session, rec


def _fill(surface: ss.Surface, bgr: tuple[int, int, int]) -> None:
    surface.pixels[:, :, :3] = bgr


def _created(surface: ss.Surface) -> ss.events.SurfaceCreated:
    message = sp.DisplaySurfaceCreate(
        surface.surface_id, surface.width, surface.height, surface.format, sp.SurfaceFlags.PRIMARY
    )
    return ss.events.SurfaceCreated(sp.ChannelType.DISPLAY, 0, message, surface)


async def test_only_damaged_rectangles_reach_the_window(sdl: None) -> None:
    session, _ = _session()
    primary = session.display.primary
    viewer = Viewer(session)
    _fill(primary, (0, 0, 255))  # red
    await viewer.on_session_event(_created(primary))
    assert viewer.window is not None and (viewer.window.width, viewer.window.height) == (64, 48)
    viewer.render()
    frame = viewer.window.read_pixels()
    assert frame.shape == (48, 64, 4)
    assert (frame[:, :, :3] == (0, 0, 255)).all()

    _fill(primary, (255, 0, 0))  # the whole surface turns blue, but only one rectangle is damaged
    await viewer.on_session_event(ss.events.Damage(0, sp.Rect(8, 4, 24, 20)))
    viewer.render()
    frame = viewer.window.read_pixels()[:, :, :3]
    inside = np.zeros((48, 64), bool)
    inside[4:20, 8:24] = True
    assert (frame[inside] == (255, 0, 0)).all()
    assert (frame[~inside] == (0, 0, 255)).all()

    await viewer.on_session_event(ss.events.Damage(7, sp.Rect(0, 0, 64, 48)))  # another surface: ignored
    viewer.render()
    assert (viewer.window.read_pixels()[~inside][:, :3] == (0, 0, 255)).all()
    viewer.window.close()


async def test_a_frames_damage_is_copied_once_per_merged_box(sdl: None) -> None:
    session, _ = _session()
    primary = session.display.primary
    viewer = Viewer(session)
    _fill(primary, (0, 0, 255))
    await viewer.on_session_event(_created(primary))
    assert viewer.window is not None
    viewer.render()
    copied: list[tuple[int, int, int, int]] = []
    update = viewer.window.update

    def record(pixels: Any, stride: int, x: int, y: int, w: int, h: int) -> None:
        copied.append((x, y, w, h))
        update(pixels, stride, x, y, w, h)

    viewer.window.update = record  # type: ignore[method-assign]
    _fill(primary, (255, 0, 0))
    # a scrolling terminal: every line of a block redrawn, each many times, between two frames
    for _ in range(5):
        for top in range(4, 28, 4):
            await viewer.on_session_event(ss.events.Damage(0, sp.Rect(2, top, 30, top + 4)))
    await viewer.on_session_event(ss.events.Damage(0, sp.Rect(50, 40, 60, 46)))  # apart from it
    viewer.render()
    assert sorted(copied) == [(2, 4, 28, 24), (50, 40, 10, 6)]
    frame = viewer.window.read_pixels()[:, :, :3]
    inside = np.zeros((48, 64), bool)
    inside[4:28, 2:30] = True
    inside[40:46, 50:60] = True
    assert (frame[inside] == (255, 0, 0)).all()
    assert (frame[~inside] == (0, 0, 255)).all()

    copied.clear()
    _fill(primary, (0, 255, 0))
    for i in range(20):  # more separate boxes than a frame keeps: bounding boxes
        await viewer.on_session_event(ss.events.Damage(0, sp.Rect(3 * i, i, 3 * i + 1, i + 1)))
    viewer.render()
    assert 1 <= len(copied) <= 16
    frame = viewer.window.read_pixels()[:, :, :3]
    for i in range(20):
        assert (frame[i, 3 * i] == (0, 255, 0)).all()
        assert any(x <= 3 * i < x + w and y <= i < y + h for x, y, w, h in copied)
    viewer.window.close()


class _CountingAlarm(Alarm):
    rings = 0

    def ring(self) -> None:
        self.rings += 1
        super().ring()

    def ring_at(self, deadline: float) -> None:
        if deadline <= trio.current_time():  # a ring now, said as a time
            self.rings += 1
        super().ring_at(deadline)


async def test_damage_wakes_the_idle_loop_once(sdl: None) -> None:
    session, _ = _session()
    primary = session.display.primary
    viewer = Viewer(session)
    await viewer.on_session_event(_created(primary))
    viewer.render()
    with _CountingAlarm() as alarm:
        viewer._alarm, viewer._waiting = alarm, True  # what the SDL loop's wait sets
        await viewer.on_session_event(ss.events.ChannelOpened(sp.ChannelType.CURSOR, 0, sp.Caps(), sp.Caps()))
        with trio.move_on_after(0.05) as still:
            await alarm.wait()
        assert still.cancelled_caught  # nothing to show: not rung, the loop sleeps on
        await viewer.on_session_event(ss.events.Damage(0, sp.Rect(0, 0, 8, 8)))
        assert not viewer._waiting
        await viewer.on_session_event(ss.events.Damage(0, sp.Rect(8, 8, 16, 16)))
        assert alarm.rings == 1  # the second damage found the loop awake: no second ring
        with trio.fail_after(5):
            await alarm.wait()  # the ring ends the wait
    assert viewer._dirty == [sp.Rect(0, 0, 8, 8), sp.Rect(8, 8, 16, 16)]
    assert viewer.window is not None
    viewer.window.close()


async def test_new_primary_size_resizes_the_texture(sdl: None) -> None:
    session, _ = _session()
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    bigger = ss.Surface(0, 80, 60, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    _fill(bigger, (0, 255, 0))
    session.display.primary = bigger
    await viewer.on_session_event(_created(bigger))
    assert viewer.window is not None and (viewer.window.width, viewer.window.height) == (80, 60)
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (0, 255, 0)).all()
    viewer.window.close()


async def test_dropped_events_resync_the_window_from_the_session(sdl: None) -> None:
    # the viewer fell behind: SurfaceCreated was dropped, only the marker and merged damage come
    session, _ = _session()
    viewer = Viewer(session)
    _fill(session.display.primary, (0, 255, 0))
    await viewer.on_session_event(ss.events.EventsDropped(3, (("SurfaceCreated", 1), ("DrawEvent", 2))))
    assert viewer.window is not None and (viewer.window.width, viewer.window.height) == (64, 48)
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (0, 255, 0)).all()
    bigger = ss.Surface(0, 80, 60, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    _fill(bigger, (255, 0, 255))
    session.display.primary = bigger
    await viewer.on_session_event(ss.events.EventsDropped(1, (("SurfaceCreated", 1),)))
    await viewer.on_session_event(ss.events.Damage(0, sp.Rect(0, 0, 80, 60)))
    assert (viewer.window.width, viewer.window.height) == (80, 60)
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (255, 0, 255)).all()
    viewer.window.close()


async def test_client_mode_click_grabs_and_lands_at_the_pixel(sdl: None) -> None:
    session, rec = _session(sp.MouseMode.CLIENT)
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    await viewer.on_input(PointerMoved(10, 20, 10, 20))
    await viewer.on_input(ButtonInput(1, True, 12, 22))
    await viewer.on_input(ButtonInput(1, False, 12, 22))
    await viewer.on_input(WheelInput(-1))
    assert viewer.grabbed
    assert [(type(m).__name__, getattr(m, "x", None), getattr(m, "y", None)) for m in rec.sent[:3]] == [
        ("InputsMousePosition", 10, 20),
        ("InputsMousePosition", 12, 22),
        ("InputsMousePress", None, None),
    ]
    assert rec.kinds()[3:] == [
        "InputsMousePosition",
        "InputsMouseRelease",
        "InputsMousePress",
        "InputsMouseRelease",
    ]
    assert rec.sent[-1].button == sp.MouseButton.DOWN  # type: ignore[attr-defined]
    assert viewer.window is not None
    viewer.window.close()


async def test_server_mode_grabbing_click_is_not_sent_then_motion_is_relative(sdl: None) -> None:
    session, rec = _session(sp.MouseMode.SERVER)
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    await viewer.on_input(PointerMoved(5, 5, 5, 5))  # not grabbed yet: nothing
    await viewer.on_input(ButtonInput(3, True, 5, 5))
    await viewer.on_input(ButtonInput(3, False, 5, 5))
    assert viewer.grabbed and rec.sent == []
    await viewer.on_input(PointerMoved(0, 0, -3, 7))
    await viewer.on_input(ButtonInput(3, True, 0, 0))
    await viewer.on_input(ButtonInput(3, False, 0, 0))
    assert rec.kinds() == ["InputsMouseMotion", "InputsMousePress", "InputsMouseRelease"]
    assert (rec.sent[0].dx, rec.sent[0].dy) == (-3, 7)  # type: ignore[attr-defined]
    assert viewer.window is not None
    viewer.window.close()


async def test_keys_hot_keys_and_focus(sdl: None) -> None:
    session, rec = _session()
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    await viewer.on_input(FocusChanged(True))
    assert rec.kinds() == ["InputsClientKeyModifiers"]
    viewer._set_grab(True)
    for scancode, pressed in [(0xE0, True), (0xE2, True), (0xE2, False), (0xE0, False)]:
        await viewer.on_input(KeyInput(scancode, pressed, False))
    assert not viewer.grabbed  # Ctrl+Alt released the grab
    assert [m.code for m in rec.sent[1:]] == [0x1D, 0x38, 0xB8, 0x9D]  # type: ignore[attr-defined]
    await viewer.on_input(KeyInput(0x04, True, False))  # A held when the focus goes
    await viewer.on_input(FocusChanged(False))
    assert rec.kinds()[-2:] == ["InputsKeyDown", "InputsKeyUp"]
    assert session.inputs.keys_down == set()
    await viewer.on_input(Quit())
    assert viewer.closing()
    assert viewer.window is not None
    viewer.window.close()


async def test_mouse_mode_change_follows_the_server(sdl: None) -> None:
    session, rec = _session(sp.MouseMode.SERVER)
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    session.mouse_mode = sp.MouseMode.CLIENT
    message = sp.MainMouseMode(sp.MouseMode.SERVER | sp.MouseMode.CLIENT, sp.MouseMode.CLIENT)
    await viewer.on_session_event(ss.events.MouseModeChanged(sp.ChannelType.MAIN, 0, message))
    assert session.inputs.mouse_mode == sp.MouseMode.CLIENT
    await viewer.on_input(PointerMoved(30, 40, 1, 1))
    assert rec.kinds() == ["InputsMousePosition"]
    assert viewer.window is not None
    viewer.window.close()


async def test_closed_session_is_reported(sdl: None) -> None:
    session, _ = _session()
    viewer = Viewer(session)
    await viewer.on_session_event(ss.events.SessionClosed("the server closed the main channel"))
    assert viewer._lost == "the server closed the main channel"

    stream = ss.events.EventStream(4)
    stream.add_producers(1)
    stream.put(ss.events.SessionClosed("gone"))
    session.events = lambda: stream
    session.request_mouse_mode = None
    session.mouse_mode = sp.MouseMode.CLIENT
    with pytest.raises(spice_net.ChannelClosed, match=r": gone$") as caught:
        await Viewer(session).run()
    # The CLI's failure table adds the "connection lost" label once; the message must not repeat it.
    assert "connection lost" not in str(caught.value)
    # the viewer draws from Damage: it asked for no per-message display events, and joined damage
    assert not stream.wants(ss.events.DrawEvent) and not stream.wants(ss.events.DisplayEvent)
    assert stream.wants(ss.events.Damage) and stream.buffer.merge_damage


async def _cursor(viewer: Viewer, message: sp.Message) -> None:
    """What the session does with a cursor message: update its state, then emit the derived events."""
    await viewer.on_session_event(ss.events.CursorEvent(sp.ChannelType.CURSOR, 0, message))
    for event in viewer.session.cursor.handle(message):
        await viewer.on_session_event(event)


def _cursor_set(x: int, y: int, hot: tuple[int, int] = (0, 0)) -> sp.CursorSet:
    header = sp.CursorHeader(0x51, sp.CursorType.ALPHA, 4, 4, hot[0], hot[1])
    green = bytes((0, 255, 0, 255)) * 16  # B, G, R, A per pixel
    return sp.CursorSet(x, y, True, sp.Cursor(sp.CursorFlags(0), header, green))


async def test_server_mode_draws_the_server_cursor_on_the_picture(sdl: None) -> None:
    session, _ = _session(sp.MouseMode.SERVER)
    _fill(session.display.primary, (0, 0, 255))
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    await _cursor(viewer, _cursor_set(21, 11, hot=(1, 1)))
    viewer.render()
    assert viewer.window is not None
    frame = viewer.window.read_pixels()[:, :, :3]
    where = np.zeros((48, 64), bool)
    where[10:14, 20:24] = True  # hot spot (1, 1) at (21, 11)
    assert (frame[where] == (0, 255, 0)).all()
    assert (frame[~where] == (0, 0, 255)).all()
    await _cursor(viewer, sp.CursorMove(40, 30))
    viewer.render()
    frame = viewer.window.read_pixels()[:, :, :3]
    assert (frame[29:33, 39:43] == (0, 255, 0)).all() and (frame[10:14, 20:24] == (0, 0, 255)).all()
    await _cursor(viewer, sp.CursorHide())
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (0, 0, 255)).all()
    viewer.window.close()


async def test_client_mode_uses_the_shape_as_the_local_pointer(sdl: None) -> None:
    session, _ = _session(sp.MouseMode.CLIENT)
    _fill(session.display.primary, (0, 0, 255))
    viewer = Viewer(session)
    await viewer.on_session_event(_created(session.display.primary))
    await _cursor(viewer, _cursor_set(21, 11))
    assert viewer.window is not None and viewer.window._sdl_cursor is not None
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (0, 0, 255)).all()  # not painted into the picture
    viewer.window.close()
