"""spice view's statistics overlay (Ctrl+Alt+S) on SDL's dummy driver, with a scripted session."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import spice_proto as sp
import spice_session as ss
from spice_cli._sdl_logic import Command, HotKeys
from spice_cli._sdl_overlay import overlay_lines
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import KeyInput
from spice_session.lowlevel import ChannelStats, SessionStats

W, H = 320, 200
CTRL, ALT, S = 0xE0, 0xE2, 0x16


def _stats(fps: float) -> SessionStats:
    channel = ChannelStats("display:0", 1000, 10, 5, 1, 2048.0, 0.0, 5.0)
    return SessionStats(1.0, 0.25, (channel,), fps, 10, 3.0, 1.5, 1, 20, 24.0, 2, None)


def _session() -> Any:
    primary = ss.Surface(0, W, H, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
    primary.pixels[:, :, :3] = (90, 150, 210)
    return SimpleNamespace(
        uri=ss.parse_uri("spice://127.0.0.1:5900"),
        name=None,
        inputs=None,
        mouse_mode=sp.MouseMode.CLIENT,
        supported_mouse_modes=sp.MouseMode.SERVER | sp.MouseMode.CLIENT,
        display=SimpleNamespace(primary=primary, channels={}, monitor_layout=lambda: ()),
        cursor=ss.CursorState(),
        stats=_stats(12),
    )


def test_ctrl_alt_s_is_the_overlay_hot_key() -> None:
    keys = HotKeys()
    assert keys.key(CTRL, True) == (True, Command.NONE)
    assert keys.key(ALT, True) == (True, Command.NONE)
    assert keys.key(S, True) == (False, Command.TOGGLE_STATS)  # S does not reach the guest
    assert keys.key(S, False) == (False, Command.NONE)


def test_overlay_lines_say_what_the_stats_say() -> None:
    lines = overlay_lines(_stats(12))
    assert lines[0] == "rtt 0.25 ms   12 fps   draw 1.5 ms/s"
    assert lines[1] == "in 2.0 KiB/s   out 0.0 KiB/s"
    assert lines[2] == "streams 1: 24 fps, 2 late"


async def test_overlay_shows_and_goes(sdl: None) -> None:
    session = _session()
    primary = session.display.primary
    viewer = Viewer(session)
    message = sp.DisplaySurfaceCreate(0, W, H, primary.format, sp.SurfaceFlags.PRIMARY)
    await viewer.on_session_event(ss.events.SurfaceCreated(sp.ChannelType.DISPLAY, 0, message, primary))
    viewer.render()
    assert viewer.window is not None
    plain = viewer.window.read_pixels()[:, :, :3].copy()
    assert (plain == (90, 150, 210)).all()

    for scancode, pressed in [(CTRL, True), (ALT, True), (S, True), (S, False), (ALT, False), (CTRL, False)]:
        await viewer.on_input(KeyInput(scancode, pressed, False))
    assert viewer.stats_overlay
    viewer.render()
    shown = viewer.window.read_pixels()[:, :, :3]
    box = viewer._overlay_box
    assert box is not None and box.left > 0 and box.top > 0
    inside = shown[box.top : box.bottom, box.left : box.right]
    assert (inside == (255, 255, 255)).all(axis=2).sum() > 100  # white text
    assert (inside == (30, 50, 70)).all(axis=2).sum() > inside.shape[0] * inside.shape[1] // 3  # darkened
    outside = np.ones((H, W), bool)
    outside[box.top : box.bottom, box.left : box.right] = False
    assert (shown[outside] == (90, 150, 210)).all()  # the rest is the picture

    for scancode, pressed in [(CTRL, True), (ALT, True), (S, True), (S, False), (ALT, False), (CTRL, False)]:
        await viewer.on_input(KeyInput(scancode, pressed, False))
    assert not viewer.stats_overlay
    viewer.render()
    assert (viewer.window.read_pixels()[:, :, :3] == (90, 150, 210)).all()  # the picture is back
    viewer.window.close()
