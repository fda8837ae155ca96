"""Inputs: the bytes of key and mouse messages, modifier tracking and motion flow control."""

from __future__ import annotations

import pytest
import spice_proto as sp
import trio
import trio.testing
from spice_session import MOTION_ACK_BUNCH, Inputs


class Recorder:
    def __init__(self) -> None:
        self.sent: list[sp.Message] = []

    async def send(self, message: sp.Message) -> None:
        self.sent.append(message)

    def wire(self) -> list[tuple[int, bytes]]:
        """(message type, body bytes) of everything sent."""
        return [(int(m.TYPE), m.encode()) for m in self.sent]


async def test_extended_key_puts_the_e0_prefix_first_on_the_wire() -> None:
    rec = Recorder()
    await Inputs(rec).press_key("Left")
    # KEY_DOWN 101 / KEY_UP 102 carry a u32 (little-endian): bytes E0 4B, then E0 CB
    assert rec.wire() == [(101, bytes([0xE0, 0x4B, 0, 0])), (102, bytes([0xE0, 0xCB, 0, 0]))]


async def test_plain_key_and_release_bit() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    await inputs.key_down(0x1E)
    await inputs.key_up(0x1E)
    assert rec.wire() == [(101, bytes([0x1E, 0, 0, 0])), (102, bytes([0x9E, 0, 0, 0]))]


async def test_type_text_shifts_capitals_and_symbols() -> None:
    rec = Recorder()
    await Inputs(rec).type_text("aB!")
    codes = [
        (int(m.TYPE), int(m.code)) for m in rec.sent if isinstance(m, (sp.InputsKeyDown, sp.InputsKeyUp))
    ]
    assert codes == [
        (101, 0x1E),
        (102, 0x9E),
        (101, 0x2A),  # Shift_L down
        (101, 0x30),
        (102, 0xB0),
        (102, 0xAA),  # Shift_L up
        (101, 0x2A),
        (101, 0x02),  # "1" key gives "!"
        (102, 0x82),
        (102, 0xAA),
    ]


async def test_type_text_rejects_unknown_characters_before_sending() -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match="index 2"):
        await Inputs(rec).type_text("ab\u00e9")
    assert rec.sent == []


async def test_press_key_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown key name 'Hyper'"):
        await Inputs(Recorder()).press_key("Hyper")


async def test_mouse_buttons_state_is_tracked() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    await inputs.mouse_press(sp.MouseButton.LEFT)
    await inputs.mouse_press(sp.MouseButton.RIGHT)
    await inputs.mouse_position(100, 200)
    await inputs.mouse_release(sp.MouseButton.LEFT)
    assert rec.wire() == [
        (113, bytes([1, 1, 0])),
        (113, bytes([3, 5, 0])),
        (112, (100).to_bytes(4, "little") + (200).to_bytes(4, "little") + bytes([5, 0, 0])),
        (114, bytes([1, 4, 0])),
    ]
    assert inputs.buttons == sp.MouseButtonMask.RIGHT


async def test_modifiers_follow_the_server() -> None:
    inputs = Inputs(Recorder())
    inputs.handle(sp.InputsInit(sp.KeyboardModifierFlags.NUM_LOCK))
    assert inputs.modifiers == sp.KeyboardModifierFlags.NUM_LOCK
    inputs.handle(sp.InputsKeyModifiers(sp.KeyboardModifierFlags.CAPS_LOCK))
    assert inputs.modifiers == sp.KeyboardModifierFlags.CAPS_LOCK  # type: ignore[comparison-overlap]


async def test_motion_waits_for_acks_after_two_bunches() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    done = trio.Event()

    async def move() -> None:
        for _ in range(3 * MOTION_ACK_BUNCH):
            await inputs.mouse_motion(1, 0)
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(move)
        await trio.testing.wait_all_tasks_blocked()
        assert len(rec.sent) == 2 * MOTION_ACK_BUNCH and not done.is_set()
        inputs.handle(sp.InputsMouseMotionAck())
        await trio.testing.wait_all_tasks_blocked()
        assert len(rec.sent) == 3 * MOTION_ACK_BUNCH
        assert done.is_set()
