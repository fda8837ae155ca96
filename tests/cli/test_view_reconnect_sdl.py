"""spice view keeps its window over a reconnect (SDL's dummy driver, our server restarted on the
same port): one window from start to end, a banner while the server is away, the new picture
in it, a key held over the reconnect released once on the new server (not stuck, not released
twice), input after it arriving there, and the lock keys re-sent."""

from __future__ import annotations

import ctypes
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import spice_server as srv
import trio
from peers.ports import free_tcp_port
from peers.server_task import serve_until as _serve_until
from spice_cli import _sdl_viewer
from spice_cli._cli import build_parser
from spice_cli._sdl_window import Window

W, H = 160, 120
SDL_A, SDL_B = 4, 5  # SDL scancodes (USB HID usages) of A and B
A, B = 0x1E, 0x30  # their set-1 make codes


def _push_key(scancode: int, pressed: bool) -> None:
    import sdl2

    event = sdl2.SDL_Event()
    event.type = sdl2.SDL_KEYDOWN if pressed else sdl2.SDL_KEYUP
    event.key.keysym.scancode = scancode
    assert sdl2.SDL_PushEvent(ctypes.byref(event)) == 1


def _push_quit() -> None:
    import sdl2

    event = sdl2.SDL_Event()
    event.type = sdl2.SDL_QUIT
    assert sdl2.SDL_PushEvent(ctypes.byref(event)) == 1


async def _until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    with trio.move_on_after(timeout):
        while not condition():
            await trio.sleep(0.02)
    assert condition(), what


def _server(colour: tuple[int, int, int]) -> srv.Server:
    fb = srv.Framebuffer(W, H)
    fb.fill(colour)
    return srv.Server(fb)


def _shows(window: Window, rgb: tuple[int, int, int]) -> bool:
    pixels = window.read_pixels()
    bottom = pixels[H // 2 :, :, 2::-1].reshape(-1, 3)  # below the banner
    return bool(np.all(bottom == np.array(rgb, np.uint8)))


async def test_the_window_and_input_state_survive_a_reconnect(
    sdl: None,
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows: list[Window] = []
    closed: list[Window] = []
    viewers: list[_sdl_viewer.Viewer] = []

    class Tracked(Window):
        def __init__(self, *a: Any) -> None:
            super().__init__(*a)
            windows.append(self)

        def close(self) -> None:
            closed.append(self)
            super().close()

    class Kept(_sdl_viewer.Viewer):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            viewers.append(self)

    monkeypatch.setattr(_sdl_viewer, "Window", Tracked)
    monkeypatch.setattr(_sdl_viewer, "Viewer", Kept)
    port = free_tcp_port()
    stop = trio.Event()
    first, second = _server((200, 30, 30)), _server((30, 30, 200))
    first_events, second_events = first.input_events(), second.input_events()
    await nursery.start(_serve_until, first, port, stop)
    args = build_parser().parse_args(["view", f"spice://127.0.0.1:{port}", "--no-audio", "--no-clipboard"])
    codes: list[object] = []

    async def view() -> None:
        codes.append(await args.command(args, io.StringIO()))

    with trio.fail_after(90):
        nursery.start_soon(view)
        await _until(lambda: bool(windows) and _shows(windows[0], (200, 30, 30)), "the first picture")
        window = windows[0]
        _push_key(SDL_A, True)  # held over the reconnect
        got = [await first_events.receive()]
        while not any(isinstance(e, srv.KeyEvent) for e in got):
            got.append(await first_events.receive())
        assert [(e.scancode, e.pressed) for e in got if isinstance(e, srv.KeyEvent)] == [(A, True)]

        stop.set()  # the server goes
        viewer = viewers[0]
        await _until(lambda: viewer.banner is not None and "reconnecting" in viewer.banner, "a banner")
        top = window.read_pixels()[2:14, 4:100, 2::-1]
        assert (top == (255, 255, 255)).all(axis=2).any(), "no banner text on the picture"
        await trio.sleep(0.3)
        await nursery.start(_serve_until, second, port, trio.Event())  # back on the same port
        await _until(lambda: viewer.attached and _shows(window, (30, 30, 200)), "the new picture")
        assert windows == [window] and not closed and viewers == [viewer]  # the same window
        assert viewer.banner is None

        _push_key(SDL_A, False)  # let go after the reconnect
        _push_key(SDL_B, True)
        _push_key(SDL_B, False)
        keys: list[tuple[int, bool]] = []
        locks: list[srv.ModifiersEvent] = []
        while len(keys) < 3:
            event = await second_events.receive()
            if isinstance(event, srv.KeyEvent):
                keys.append((event.scancode, event.pressed))
            elif isinstance(event, srv.ModifiersEvent):
                locks.append(event)
        assert keys == [(A, False), (B, True), (B, False)]  # A released once, by the reconnect
        assert locks  # the lock keys set on the new server
        _push_quit()
    with trio.fail_after(30):
        await _until(lambda: bool(codes), "spice view returns")
    assert codes == [0] and closed == [window]


async def test_closing_the_window_while_reconnecting_quits(
    sdl: None,
    nursery: trio.Nursery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    viewers: list[_sdl_viewer.Viewer] = []

    class Kept(_sdl_viewer.Viewer):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            viewers.append(self)

    monkeypatch.setattr(_sdl_viewer, "Viewer", Kept)
    port = free_tcp_port()
    stop = trio.Event()
    await nursery.start(_serve_until, _server((200, 30, 30)), port, stop)
    args = build_parser().parse_args(["view", f"spice://127.0.0.1:{port}", "--no-audio", "--no-clipboard"])
    codes: list[object] = []

    async def view() -> None:
        codes.append(await args.command(args, io.StringIO()))

    with trio.fail_after(60):
        nursery.start_soon(view)
        await _until(lambda: bool(viewers) and viewers[0].attached, "the first session")
        stop.set()  # gone for good: the viewer keeps trying (10 attempts, minutes of backoff)
        await _until(lambda: viewers[0].banner is not None, "the banner")
        _push_quit()  # the user closes the window meanwhile
        await _until(lambda: bool(codes), "spice view returns")
    assert codes == [0] and viewers[0].window is None
