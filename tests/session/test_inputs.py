"""Inputs: the bytes of key and mouse messages, modifier tracking and motion flow control."""

from __future__ import annotations

import pytest
import spice_proto as sp
import trio
import trio.testing
from spice_proto import INPUT_MOTION_ACK_BUNCH
from spice_session import Inputs
from spice_session.lowlevel import MotionPacer


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


def _motions(rec: Recorder) -> list[tuple[int, int]]:
    return [(m.dx, m.dy) for m in rec.sent if isinstance(m, sp.InputsMouseMotion)]


def test_pacer_allows_two_bunches_then_accumulates() -> None:
    pacer = MotionPacer()
    sent = [pacer.motion(1, 2) for _ in range(2 * INPUT_MOTION_ACK_BUNCH)]
    assert sent == [(1, 2)] * 8 and pacer.unacked == 8
    assert pacer.motion(3, -1) is None
    assert pacer.motion(-5, 4) is None
    assert pacer.pending
    assert pacer.release() == (None, None)  # still no room
    pacer.ack()
    assert pacer.unacked == 4
    assert pacer.release() == ((-2, 3), None)  # the held-back deltas, summed, as one message
    assert pacer.unacked == 5 and not pacer.pending


def test_pacer_keeps_only_the_latest_position() -> None:
    pacer = MotionPacer()
    for i in range(8):
        assert pacer.position(i, i, 0) == (i, i, 0)
    assert pacer.position(100, 200, 1) is None
    assert pacer.position(300, 400, 1) is None
    pacer.ack()
    assert pacer.release() == (None, (300, 400, 1))
    assert pacer.release() == (None, None)


def test_pacer_force_and_discard() -> None:
    pacer = MotionPacer()
    for _ in range(8):
        pacer.motion(1, 0)
    pacer.motion(7, 7)
    assert pacer.release(force=True) == ((7, 7), None)
    assert pacer.unacked == 9
    pacer.motion(1, 1)
    pacer.discard()
    assert not pacer.pending
    for _ in range(5):
        pacer.ack()
    assert pacer.unacked == 0  # never below zero


def test_pacer_ignores_zero_motion() -> None:
    pacer = MotionPacer()
    assert pacer.motion(0, 0) is None
    assert pacer.unacked == 0


async def test_motion_accumulates_while_unacknowledged_and_the_pump_sends_it() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    for _ in range(3 * INPUT_MOTION_ACK_BUNCH):
        await inputs.mouse_motion(1, 0)  # never blocks
    assert _motions(rec) == [(1, 0)] * 8
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inputs.motion_pump)
        await trio.testing.wait_all_tasks_blocked()
        assert len(rec.sent) == 8  # nothing goes out before an ack
        inputs.handle(sp.InputsMouseMotionAck())
        await trio.testing.wait_all_tasks_blocked()
        assert _motions(rec) == [(1, 0)] * 8 + [(4, 0)]
        nursery.cancel_scope.cancel()


async def test_motion_without_pump_goes_with_the_next_call() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    for _ in range(9):
        await inputs.mouse_motion(2, 1)
    inputs.handle(sp.InputsMouseMotionAck())
    await inputs.mouse_motion(1, 1)
    assert _motions(rec) == [(2, 1)] * 8 + [(2, 1), (1, 1)]


async def test_press_flushes_held_back_motion_first() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    for _ in range(8):
        await inputs.mouse_motion(1, 0)
    await inputs.mouse_motion(5, 5)
    await inputs.mouse_press(sp.MouseButton.LEFT)
    assert [type(m).__name__ for m in rec.sent[-2:]] == ["InputsMouseMotion", "InputsMousePress"]
    assert _motions(rec)[-1] == (5, 5)


async def test_mouse_mode_switch_chooses_position_or_motion() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    assert inputs.mouse_mode == sp.MouseMode.SERVER
    await inputs.pointer(10, 20, 3, 4)
    await inputs.pointer(10, 20, 0, 0)  # no delta: nothing to send in server mode
    inputs.set_mouse_mode(sp.MouseMode.CLIENT)
    await inputs.pointer(11, 22, 1, 2, display_id=1)
    inputs.set_mouse_mode(sp.MouseMode.SERVER)
    await inputs.pointer(12, 24, -1, -2)
    assert [(type(m).__name__, m.encode()) for m in rec.sent] == [
        ("InputsMouseMotion", sp.InputsMouseMotion(3, 4).encode()),
        ("InputsMousePosition", sp.InputsMousePosition(11, 22, sp.MouseButtonMask(0), 1).encode()),
        ("InputsMouseMotion", sp.InputsMouseMotion(-1, -2).encode()),
    ]


async def test_mode_switch_drops_what_was_held_for_the_old_mode() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    for _ in range(9):
        await inputs.mouse_motion(1, 1)
    inputs.set_mouse_mode(sp.MouseMode.CLIENT)
    inputs.handle(sp.InputsMouseMotionAck())
    await inputs.flush_motion()
    assert len(_motions(rec)) == 8  # the ninth delta means nothing in client mode
    await inputs.mouse_position(5, 6)
    assert isinstance(rec.sent[-1], sp.InputsMousePosition)


async def test_wheel_and_side_buttons() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    await inputs.wheel(2)
    await inputs.wheel(-1)
    await inputs.mouse_press(sp.MouseButton.SIDE)
    await inputs.mouse_press(sp.MouseButton.EXTRA)
    await inputs.mouse_release(sp.MouseButton.SIDE)
    assert rec.wire() == [
        (113, bytes([4, 0, 0])),  # UP press, no held buttons
        (114, bytes([4, 0, 0])),
        (113, bytes([4, 0, 0])),
        (114, bytes([4, 0, 0])),
        (113, bytes([5, 0, 0])),  # DOWN
        (114, bytes([5, 0, 0])),
        (113, bytes([6, 0x20, 0])),  # SIDE, mask 0x20
        (113, bytes([7, 0x60, 0])),  # EXTRA, mask 0x40 with SIDE held
        (114, bytes([6, 0x40, 0])),
    ]


async def test_hid_keys_map_to_set1_and_are_tracked() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    assert await inputs.hid_key(0x04, True)  # SDL_SCANCODE_A
    assert await inputs.hid_key(0xE4, True)  # Right Ctrl: E0 1D
    assert inputs.keys_down == {0x1E, 0xE01D}
    assert not await inputs.hid_key(0x74, True)  # Execute: no set-1 code, nothing sent
    await inputs.release_keys()
    assert inputs.keys_down == set()
    assert rec.wire() == [
        (101, bytes([0x1E, 0, 0, 0])),
        (101, bytes([0xE0, 0x1D, 0, 0])),
        (102, bytes([0x9E, 0, 0, 0])),
        (102, bytes([0xE0, 0x9D, 0, 0])),
    ]


async def test_pause_is_one_stroke_with_key_scancode() -> None:
    rec = Recorder()
    inputs = Inputs(rec, key_scancode=True)
    await inputs.hid_key(0x48, True)
    await inputs.hid_key(0x48, False)  # no break code of its own
    assert rec.wire() == [(104, bytes([0xE0, 0x46, 0xE0, 0xC6]))]
    assert inputs.keys_down == set()


async def test_pause_without_key_scancode() -> None:
    rec = Recorder()
    inputs = Inputs(rec, key_scancode=False)
    await inputs.hid_key(0x48, True)
    await inputs.hid_key(0x48, False)
    assert rec.wire() == [(101, bytes([0xE0, 0x46, 0, 0])), (102, bytes([0xE0, 0xC6, 0, 0]))]


async def test_key_scancode_capability_comes_from_the_channel() -> None:
    class Linked(Recorder):
        server_channel_caps = sp.Caps.of(sp.InputsCap.KEY_SCANCODE)

    assert Inputs(Linked()).key_scancode
    assert not Inputs(Recorder()).key_scancode


async def test_set_locks_sends_client_key_modifiers() -> None:
    rec = Recorder()
    inputs = Inputs(rec)
    await inputs.set_locks(sp.KeyboardModifierFlags.NUM_LOCK | sp.KeyboardModifierFlags.CAPS_LOCK)
    assert rec.wire() == [(103, bytes([6, 0]))]


async def test_rebound_inputs_send_through_the_new_channel_only() -> None:
    old, new = Recorder(), Recorder()
    inputs = Inputs(old)
    await inputs.key_down(0x1E)
    inputs.rebind(new)
    await inputs.key_up(0x1E)
    assert old.wire() == [(101, bytes([0x1E, 0, 0, 0]))]
    assert new.wire() == [(102, bytes([0x9E, 0, 0, 0]))]
