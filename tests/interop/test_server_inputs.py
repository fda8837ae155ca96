"""Keys and clicks made with xdotool in spicy / remote-viewer reach the application as events."""

from __future__ import annotations

import pytest
import spice_server as ss
import trio
from peers.viewers import ViewerOptions, pattern_frame, start_viewer
from peers.xvfb import Xvfb
from spice_proto import MouseButton, MouseButtonMask
from test_server_viewers import TIMEOUT, H, W, running, shown_at

pytestmark = pytest.mark.interop


async def xdotool(xvfb: Xvfb, *args: str) -> None:
    await trio.to_thread.run_sync(xvfb.display.run, ["xdotool", *args])


async def collect(
    events: trio.MemoryReceiveChannel[ss.InputEvent], kind: type, count: int, timeout: float = TIMEOUT
) -> list[ss.InputEvent]:
    """The next ``count`` events of type ``kind`` (others are skipped)."""
    out: list[ss.InputEvent] = []
    with trio.fail_after(timeout):
        async for event in events:
            if isinstance(event, kind):
                out.append(event)
                if len(out) == count:
                    return out
    raise AssertionError("event stream ended")


@pytest.mark.parametrize("viewer", ["spicy", "remote-viewer"])
async def test_typed_keys_arrive_as_scancodes(viewer: str, xvfb: Xvfb) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    with server.input_events() as events:
        async with running(server) as addr:
            start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            # No window manager: the keyboard goes to the window under the pointer.
            await xdotool(xvfb, "mousemove", str(x + 100), str(y + 100))
            await collect(events, ss.PointerEvent, 1)
            # No autorepeat: held for 0.4 s plus an xdotool start (seconds on a loaded machine),
            # Right would pass the X server's 660 ms repeat delay and press again.
            await trio.to_thread.run_sync(xvfb.display.run, ["xset", "r", "off"])
            # quick presses (spice-gtk sends KEY_SCANCODE with press and release together) ...
            await xdotool(xvfb, "type", "--delay", "150", "ab1")
            # ... an extended key held down (separate KEY_DOWN and KEY_UP) ...
            await xdotool(xvfb, "keydown", "Right")
            await trio.sleep(0.4)
            await xdotool(xvfb, "keyup", "Right")
            # ... and a shifted one
            await xdotool(xvfb, "key", "shift+z")
            keys = await collect(events, ss.KeyEvent, 12)
    got = [(e.scancode, e.pressed) for e in keys if isinstance(e, ss.KeyEvent)]
    expected = [
        (0x1E, True), (0x1E, False),  # a
        (0x30, True), (0x30, False),  # b
        (0x02, True), (0x02, False),  # 1
        (0xE04D, True), (0xE04D, False),  # Right: E0 4D
        (0x2A, True), (0x2C, True),  # Shift_L + z (xdotool releases them in either order)
    ]  # fmt: skip
    assert got[:10] == expected
    assert set(got[10:]) == {(0x2C, False), (0x2A, False)}
    assert all(e.client == keys[0].client != 0 for e in keys)


@pytest.mark.parametrize("viewer", ["spicy", "remote-viewer"])
async def test_clicks_arrive_at_the_right_positions(viewer: str, xvfb: Xvfb) -> None:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb)
    with server.input_events() as events:
        async with running(server) as addr:
            start_viewer(xvfb.display, viewer, ViewerOptions(port=addr.port))
            x, y = await shown_at(xvfb, fb.frame)
            await xdotool(xvfb, "mousemove", str(x + 50), str(y + 70))
            await xdotool(xvfb, "click", "1")
            await xdotool(xvfb, "mousemove", str(x + 333), str(y + 222))
            await xdotool(xvfb, "click", "3")
            await xdotool(xvfb, "mousemove", str(x + W - 1), str(y + H - 1))
            await xdotool(xvfb, "click", "2")
            clicks = await collect(events, ss.ButtonEvent, 6)
    got = [(e.button, e.pressed, e.x, e.y) for e in clicks if isinstance(e, ss.ButtonEvent)]
    assert got == [
        (MouseButton.LEFT, True, 50, 70),
        (MouseButton.LEFT, False, 50, 70),
        (MouseButton.RIGHT, True, 333, 222),
        (MouseButton.RIGHT, False, 333, 222),
        (MouseButton.MIDDLE, True, W - 1, H - 1),
        (MouseButton.MIDDLE, False, W - 1, H - 1),
    ]
    first = clicks[0]
    assert isinstance(first, ss.ButtonEvent) and first.buttons == MouseButtonMask.LEFT
