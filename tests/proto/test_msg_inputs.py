"""Inputs channel bodies and the set-1 scancode helpers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    KEY_NAMES,
    US_KEYMAP,
    ChannelType,
    Direction,
    InputsClientKeyModifiers,
    InputsInit,
    InputsKeyDown,
    InputsKeyModifiers,
    InputsKeyScancode,
    InputsKeyUp,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    InputsMsg,
    InputsMsgc,
    KeyboardModifierFlags,
    Message,
    MouseButton,
    MouseButtonMask,
    ProtocolError,
    decode_message,
    key_code,
    key_press,
    key_release,
    message_class,
    scancode_bytes,
    scancode_down,
    scancode_up,
    type_text,
)

S2C = Direction.SERVER_TO_CLIENT
C2S = Direction.CLIENT_TO_SERVER
K = KeyboardModifierFlags
B = MouseButtonMask

EXAMPLES: list[Message] = [
    InputsInit(K.NUM_LOCK | K.CAPS_LOCK),
    InputsKeyModifiers(K.SCROLL_LOCK),
    InputsMouseMotionAck(),
    InputsKeyDown(0x4DE0),
    InputsKeyUp(0xCDE0),
    InputsClientKeyModifiers(K(0)),
    InputsKeyScancode(b"\x1e\x9e"),
    InputsMouseMotion(-5, 7, B.LEFT),
    InputsMousePosition(1919, 1079, B.RIGHT | B.MIDDLE, 2),
    InputsMousePress(MouseButton.LEFT, B.LEFT),
    InputsMouseRelease(MouseButton.UP, B(0)),
]


def test_every_inputs_message_has_a_class_and_an_example() -> None:
    covered = {(type(m).DIRECTION, int(type(m).TYPE)) for m in EXAMPLES}
    for direction, numbers in ((S2C, InputsMsg), (C2S, InputsMsgc)):
        for number in numbers:
            cls = message_class(ChannelType.INPUTS, direction, number)
            assert cls is not None and cls.__name__.startswith("Inputs"), number
            assert (direction, int(number)) in covered, number


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(msg: Message) -> None:
    body = msg.encode()
    assert decode_message(ChannelType.INPUTS, type(msg).DIRECTION, type(msg).TYPE, body) == msg


@pytest.mark.parametrize(
    "msg", [m for m in EXAMPLES if m.encode() and not hasattr(m, "data")], ids=lambda m: type(m).__name__
)
def test_every_truncation_raises(msg: Message) -> None:
    body = msg.encode()
    assert type(msg).decode(body + b"\0\0") == msg  # trailing bytes tolerated
    for cut in range(len(body)):
        with pytest.raises(ProtocolError) as info:
            type(msg).decode(body[:cut])
        assert info.value.where == type(msg).__name__ and info.value.field


def test_mouse_position_layout_by_hand() -> None:
    msg = InputsMousePosition(x=800, y=600, buttons_state=B.LEFT | B.RIGHT, display_id=1)
    expected = bytes.fromhex("2003000058020000050001")
    assert len(expected) == 11
    assert msg.encode() == expected
    assert InputsMousePosition.decode(expected) == msg


def test_mouse_position_truncated_names_display_id() -> None:
    with pytest.raises(ProtocolError, match=r"InputsMousePosition.*'display_id'.*offset 10"):
        InputsMousePosition.decode(bytes.fromhex("20030000580200000500"))


def test_mouse_motion_press_release_modifiers_by_hand() -> None:
    assert InputsMouseMotion(-1, 2, B.LEFT).encode() == bytes.fromhex("ffffffff020000000100")
    assert InputsMouseMotion.decode(bytes.fromhex("ffffffff020000000100")).dx == -1
    assert InputsMousePress(MouseButton.LEFT, B.LEFT).encode() == bytes.fromhex("010100")
    assert InputsMouseRelease(MouseButton.RIGHT, B(0)).encode() == bytes.fromhex("030000")
    assert InputsClientKeyModifiers(K.NUM_LOCK | K.CAPS_LOCK).encode() == bytes.fromhex("0600")
    assert InputsInit.decode(bytes.fromhex("0200")).keyboard_modifiers == K.NUM_LOCK
    assert InputsMouseMotionAck().encode() == b""


def test_unknown_button_number_is_kept() -> None:
    msg = InputsMousePress.decode(bytes.fromhex("090000"))
    assert msg.button == 9
    assert msg.encode() == bytes.fromhex("090000")


def test_key_down_of_extended_key_by_hand() -> None:
    # Right arrow is E0 4D: the prefix is the FIRST byte on the wire.
    right = key_code("Right")
    assert right == 0xE04D
    assert key_press(right).encode() == bytes.fromhex("e04d0000")
    assert key_release(right).encode() == bytes.fromhex("e0cd0000")
    assert InputsKeyDown.decode(bytes.fromhex("e04d0000")).code == 0x4DE0
    # a plain key: A is 1E, released 9E
    assert key_press(0x1E).encode() == bytes.fromhex("1e000000")
    assert key_release(0x1E).encode() == bytes.fromhex("9e000000")


def test_scancode_functions() -> None:
    assert scancode_down(0x1E) == 0x1E
    assert scancode_up(0x1E) == 0x9E
    assert scancode_down(0xE04D) == 0x4DE0
    assert scancode_up(0xE04D) == 0xCDE0
    # QEMU / spice-gtk's 0x100|code spelling of extended keys gives the same codes
    assert scancode_down(0x14D) == 0x4DE0
    assert scancode_up(0x11D) == 0x9DE0  # right control released
    assert scancode_bytes(0x1C) == b"\x1c"
    assert scancode_bytes(0x1C, release=True) == b"\x9c"
    assert scancode_bytes(0xE01C) == b"\xe0\x1c"
    assert scancode_bytes(0xE01C, release=True) == b"\xe0\x9c"
    for bad in (0, 0x80, 0x9E, 0xE0, 0xE000, 0xE080, 0x100, 0x180, -1):
        with pytest.raises(ValueError, match="set-1"):
            scancode_down(bad)


@given(st.integers(1, 0x7F), st.booleans())
def test_codes_are_the_scancode_bytes_little_endian(code: int, extended: bool) -> None:
    sc = 0xE000 | code if extended else code
    assert scancode_down(sc).to_bytes(4, "little").rstrip(b"\0") == scancode_bytes(sc)
    assert scancode_up(sc).to_bytes(4, "little").rstrip(b"\0") == scancode_bytes(sc, release=True)


def test_us_keymap() -> None:
    assert US_KEYMAP["a"] == (0x1E, False)
    assert US_KEYMAP["A"] == (0x1E, True)
    assert US_KEYMAP["1"] == (0x02, False)
    assert US_KEYMAP["!"] == (0x02, True)
    assert US_KEYMAP["0"] == (0x0B, False)
    assert US_KEYMAP[")"] == (0x0B, True)
    assert US_KEYMAP["~"] == (0x29, True)
    assert US_KEYMAP["|"] == (0x2B, True)
    assert US_KEYMAP["?"] == (0x35, True)
    assert US_KEYMAP[" "] == (0x39, False)
    assert US_KEYMAP["\n"] == (0x1C, False)
    printable = [chr(c) for c in range(0x20, 0x7F)]
    assert all(c in US_KEYMAP for c in printable)


def test_named_keys() -> None:
    assert [key_code(f"F{n}") for n in range(1, 13)] == [*range(0x3B, 0x45), 0x57, 0x58]
    assert key_code("Return") == 0x1C
    assert key_code("BackSpace") == 0x0E
    assert key_code("Tab") == 0x0F
    assert key_code("Escape") == 0x01
    assert key_code("Home") == 0xE047
    assert key_code("End") == 0xE04F
    assert key_code("Page_Up") == key_code("Prior") == 0xE049
    assert key_code("Page_Down") == 0xE051
    assert key_code("Insert") == 0xE052
    assert key_code("Delete") == 0xE053
    assert (key_code("Up"), key_code("Down"), key_code("Left")) == (0xE048, 0xE050, 0xE04B)
    assert (key_code("Control_L"), key_code("Control_R")) == (0x1D, 0xE01D)
    assert (key_code("Alt_L"), key_code("Alt_R")) == (0x38, 0xE038)
    assert (key_code("Shift_L"), key_code("Shift_R")) == (0x2A, 0x36)
    assert (key_code("KP_Enter"), key_code("KP_Divide"), key_code("KP_0")) == (0xE01C, 0xE035, 0x52)
    with pytest.raises(ValueError, match="unknown key name 'Hyper_Z'"):
        key_code("Hyper_Z")


_HEADER = Path("/usr/include/linux/input-event-codes.h")


@pytest.mark.skipif(not _HEADER.exists(), reason="linux input headers not installed")
def test_plain_keys_agree_with_linux_evdev_codes() -> None:
    """For the non-E0 keys up to F12, Linux evdev KEY_* numbers are the set-1 make codes."""
    evdev = {
        m[1]: int(m[2], 0)
        for m in re.finditer(r"#define (KEY_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", _HEADER.read_text())
    }
    ours_to_linux = {
        "Escape": "KEY_ESC", "BackSpace": "KEY_BACKSPACE", "Tab": "KEY_TAB", "Return": "KEY_ENTER",
        "space": "KEY_SPACE", "Control_L": "KEY_LEFTCTRL", "Shift_L": "KEY_LEFTSHIFT",
        "Shift_R": "KEY_RIGHTSHIFT", "Alt_L": "KEY_LEFTALT", "Caps_Lock": "KEY_CAPSLOCK",
        "Num_Lock": "KEY_NUMLOCK", "Scroll_Lock": "KEY_SCROLLLOCK", "KP_Multiply": "KEY_KPASTERISK",
        "KP_Subtract": "KEY_KPMINUS", "KP_Add": "KEY_KPPLUS", "KP_Decimal": "KEY_KPDOT",
        "-": "KEY_MINUS", "=": "KEY_EQUAL", "[": "KEY_LEFTBRACE", "]": "KEY_RIGHTBRACE",
        ";": "KEY_SEMICOLON", "'": "KEY_APOSTROPHE", "`": "KEY_GRAVE", "\\": "KEY_BACKSLASH",
        ",": "KEY_COMMA", ".": "KEY_DOT", "/": "KEY_SLASH",
    }  # fmt: skip
    ours_to_linux |= {f"F{n}": f"KEY_F{n}" for n in range(1, 13)}
    ours_to_linux |= {f"KP_{n}": f"KEY_KP{n}" for n in range(10)}
    ours_to_linux |= {c: f"KEY_{c.upper()}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"}
    for name, linux in ours_to_linux.items():
        assert KEY_NAMES[name] == evdev[linux], name
    assert all(US_KEYMAP[c][0] == KEY_NAMES[c] for c in "abcdefghijklmnopqrstuvwxyz0123456789-=[];'`\\,./")


def test_type_text() -> None:
    events = type_text("Hi!")
    assert events == [
        InputsKeyDown(0x2A),  # shift
        InputsKeyDown(0x23),  # h
        InputsKeyUp(0xA3),
        InputsKeyUp(0xAA),
        InputsKeyDown(0x17),  # i
        InputsKeyUp(0x97),
        InputsKeyDown(0x2A),
        InputsKeyDown(0x02),  # 1 -> !
        InputsKeyUp(0x82),
        InputsKeyUp(0xAA),
    ]
    assert b"".join(e.encode() for e in type_text("\n")) == bytes.fromhex("1c0000009c000000")
    with pytest.raises(ValueError, match=r"'\u00e9' \(index 2 "):
        type_text("ab\u00e9")


@given(
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
    st.integers(0, 255),
)
def test_mouse_round_trips(dx: int, dy: int, buttons: int, x: int, display: int) -> None:
    motion = InputsMouseMotion(dx, dy, B(buttons))
    assert InputsMouseMotion.decode(motion.encode()) == motion
    position = InputsMousePosition(x, x ^ 0xFFFF, B(buttons), display)
    assert len(position.encode()) == 11
    assert InputsMousePosition.decode(position.encode()) == position
