"""Lock keys toggle the keyboard LEDs our server reports (KEY_MODIFIERS), as QEMU reports its guest's."""

from __future__ import annotations

import spice_proto as sp
import spice_server as srv
import spice_session as ss
import trio
from spice_server._inputs import InputsState


def _state() -> InputsState:
    return InputsState(0, lambda: sp.MouseMode.SERVER, lambda: (100, 100))


def test_lock_presses_toggle_and_report_the_leds() -> None:
    state = _state()
    _, replies = state.handle(sp.InputsKeyDown(0x3A))
    assert replies == [sp.InputsKeyModifiers(sp.KeyboardModifierFlags.CAPS_LOCK)]
    assert state.handle(sp.InputsKeyUp(0xBA))[1] == []  # the release changes nothing
    assert state.handle(sp.InputsKeyDown(0x1E))[1] == []  # nor does another key
    _, replies = state.handle(sp.InputsKeyScancode(bytes([0x45, 0xC5, 0x3A, 0xBA])))
    assert replies == [sp.InputsKeyModifiers(sp.KeyboardModifierFlags.NUM_LOCK)]
    # the client's own KEY_MODIFIERS sets the state without a report
    _, replies = state.handle(sp.InputsClientKeyModifiers(sp.KeyboardModifierFlags.SCROLL_LOCK))
    assert replies == [] and state.leds == sp.KeyboardModifierFlags.SCROLL_LOCK


async def test_typing_into_our_server_is_confirmed_by_the_led_echo(nursery: trio.Nursery) -> None:
    server = srv.Server(srv.Framebuffer(64, 64))
    addr: srv.ServerAddress = await nursery.start(server.serve, "127.0.0.1", 0)
    events = server.input_events(max_buffer=10000)
    text = "Hello, World! " * 20
    async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
        with trio.fail_after(10):
            await session.inputs.type_text(text)
        assert session.inputs.key_pacer.mode.value == "echo"
        assert not session.inputs.modifiers & sp.KeyboardModifierFlags.CAPS_LOCK
    presses = []
    with trio.move_on_after(1):
        async for event in events:
            if isinstance(event, srv.KeyEvent) and event.pressed and event.scancode != 0x3A:
                presses.append(event.scancode)
    assert len(presses) == len(text) + text.count("H") + text.count("W") + text.count("!")
