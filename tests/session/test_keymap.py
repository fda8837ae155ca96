"""The HID/SDL scancode -> set-1 table: complete, consistent with Linux and SDL, and encodable."""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from pathlib import Path

import pytest
import spice_proto as sp
from spice_session.lowlevel import HID_KEY_NAMES, HID_TO_SET1, PAUSE, hid_to_set1

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysdl2-dll announces which SDL binary it loads
    import sdl2

LINUX_HEADER = Path("/usr/include/linux/input-event-codes.h")

# SDL scancode name -> Linux KEY_ name, where the two differ (the rest share the name).
_LINUX_NAME = {
    "RETURN": "ENTER",
    "ESCAPE": "ESC",
    "EQUALS": "EQUAL",
    "LEFTBRACKET": "LEFTBRACE",
    "RIGHTBRACKET": "RIGHTBRACE",
    "NONUSHASH": "BACKSLASH",
    "PERIOD": "DOT",
    "PRINTSCREEN": "SYSRQ",
    "NUMLOCKCLEAR": "NUMLOCK",
    "KP_DIVIDE": "KPSLASH",
    "KP_MULTIPLY": "KPASTERISK",
    "KP_PERIOD": "KPDOT",
    "KP_EQUALS": "KPEQUAL",
    "NONUSBACKSLASH": "102ND",
    "APPLICATION": "COMPOSE",
    "SELECT": "FRONT",
    "INTERNATIONAL1": "RO",
    "INTERNATIONAL2": "KATAKANAHIRAGANA",
    "INTERNATIONAL3": "YEN",
    "INTERNATIONAL4": "HENKAN",
    "INTERNATIONAL5": "MUHENKAN",
    "INTERNATIONAL6": "KPJPCOMMA",
    "LANG1": "HANGEUL",
    "LANG2": "HANJA",
    "LANG3": "KATAKANA",
    "LANG4": "HIRAGANA",
    "LANG5": "ZENKAKUHANKAKU",
    "SYSREQ": "SYSRQ",
    "LCTRL": "LEFTCTRL",
    "LSHIFT": "LEFTSHIFT",
    "LALT": "LEFTALT",
    "LGUI": "LEFTMETA",
    "RCTRL": "RIGHTCTRL",
    "RSHIFT": "RIGHTSHIFT",
    "RALT": "RIGHTALT",
    "RGUI": "RIGHTMETA",
    "AUDIONEXT": "NEXTSONG",
    "AUDIOPREV": "PREVIOUSSONG",
    "AUDIOSTOP": "STOPCD",
    "AUDIOPLAY": "PLAYPAUSE",
    "AUDIOMUTE": "MUTE",
    "MEDIASELECT": "MEDIA",
    "CALCULATOR": "CALC",
    "AC_SEARCH": "SEARCH",
    "AC_HOME": "HOMEPAGE",
    "AC_BACK": "BACK",
    "AC_FORWARD": "FORWARD",
    "AC_STOP": "STOP",
    "AC_REFRESH": "REFRESH",
    "AC_BOOKMARKS": "BOOKMARKS",
    "DISPLAYSWITCH": "SWITCHVIDEOMODE",
    "EJECT": "EJECTCD",
    "APP1": "PROG1",
    "APP2": "PROG2",
    "AUDIOREWIND": "REWIND",
    "AUDIOFASTFORWARD": "FASTFORWARD",
}


def _linux_name(sdl_name: str) -> str:
    name = _LINUX_NAME.get(sdl_name, sdl_name)
    if re.fullmatch(r"KP_\d", name) or name in ("KP_MINUS", "KP_PLUS", "KP_ENTER", "KP_COMMA"):
        name = name.replace("_", "")
    if name in ("KP_LEFTPAREN", "KP_RIGHTPAREN"):
        name = name.replace("_", "")
    return "KEY_" + name


def _linux_codes() -> dict[str, int]:
    text = LINUX_HEADER.read_text()
    return {m[1]: int(m[2], 0) for m in re.finditer(r"#define\s+(KEY_\w+)\s+(0x[0-9a-fA-F]+|\d+)\b", text)}


def _sdl(name: str) -> int:
    value = getattr(sdl2, f"SDL_SCANCODE_{name}")
    assert isinstance(value, int)
    return value


def _by_name(name: str) -> int:
    usage = {n: u for u, n in HID_KEY_NAMES.items()}[name]
    return HID_TO_SET1[usage]


def test_every_name_is_the_sdl_scancode_of_that_number() -> None:
    for usage, name in HID_KEY_NAMES.items():
        assert _sdl(name) == usage, name
    assert set(HID_KEY_NAMES) == set(HID_TO_SET1)


def test_the_whole_keyboard_is_mapped() -> None:
    required = {
        *range(sdl2.SDL_SCANCODE_A, sdl2.SDL_SCANCODE_KP_EQUALS + 1),  # main block to keypad =, incl. Menu
        *range(sdl2.SDL_SCANCODE_F13, sdl2.SDL_SCANCODE_F24 + 1),
        *range(sdl2.SDL_SCANCODE_LCTRL, sdl2.SDL_SCANCODE_RGUI + 1),
        *range(sdl2.SDL_SCANCODE_INTERNATIONAL1, sdl2.SDL_SCANCODE_INTERNATIONAL6 + 1),
        *range(sdl2.SDL_SCANCODE_LANG1, sdl2.SDL_SCANCODE_LANG5 + 1),
        sdl2.SDL_SCANCODE_KP_COMMA,
        sdl2.SDL_SCANCODE_SYSREQ,
        sdl2.SDL_SCANCODE_MUTE,
        sdl2.SDL_SCANCODE_VOLUMEUP,
        sdl2.SDL_SCANCODE_VOLUMEDOWN,
        sdl2.SDL_SCANCODE_AUDIOPLAY,
        sdl2.SDL_SCANCODE_AUDIONEXT,
        sdl2.SDL_SCANCODE_AUDIOPREV,
    }
    missing = sorted(required - set(HID_TO_SET1))
    assert missing == [], [HID_KEY_NAMES.get(u, u) for u in missing]
    assert len(HID_TO_SET1) == 177


def test_every_mapped_key_is_a_linux_key() -> None:
    linux = _linux_codes()
    for name in HID_KEY_NAMES.values():
        assert _linux_name(name) in linux, (name, _linux_name(name))


def test_classic_keys_equal_their_linux_keycode() -> None:
    # Linux numbers the original XT/AT keys (1..83) and 102nd, F11, F12 (86..88) by their set-1 make code.
    linux = _linux_codes()
    checked = 0
    for usage, name in HID_KEY_NAMES.items():
        number = linux[_linux_name(name)]
        if 1 <= number <= 83 or number in (86, 87, 88):
            assert HID_TO_SET1[usage] == number, name
            checked += 1
    assert checked == 83 + 3 + 1  # every one of them, plus NONUSHASH sharing backslash's code


@pytest.mark.parametrize(
    ("extended", "twin"),
    [
        ("RCTRL", "LCTRL"),
        ("RALT", "LALT"),
        ("KP_ENTER", "RETURN"),
        ("KP_DIVIDE", "SLASH"),
        ("HOME", "KP_7"),
        ("UP", "KP_8"),
        ("PAGEUP", "KP_9"),
        ("LEFT", "KP_4"),
        ("RIGHT", "KP_6"),
        ("END", "KP_1"),
        ("DOWN", "KP_2"),
        ("PAGEDOWN", "KP_3"),
        ("INSERT", "KP_0"),
        ("DELETE", "KP_PERIOD"),
        ("PRINTSCREEN", "KP_MULTIPLY"),
        ("PAUSE", "SCROLLLOCK"),
    ],
)
def test_grey_keys_are_their_twin_with_an_e0_prefix(extended: str, twin: str) -> None:
    # The E0 prefix was introduced to tell the added grey keys from the keys they duplicate.
    assert _by_name(extended) == 0xE000 | _by_name(twin)


def test_gui_and_menu_keys() -> None:
    assert (_by_name("LGUI"), _by_name("RGUI"), _by_name("APPLICATION")) == (0xE05B, 0xE05C, 0xE05D)
    assert PAUSE == _by_name("PAUSE") == 0xE046


def test_codes_are_unique_but_for_true_aliases() -> None:
    users: dict[int, set[str]] = defaultdict(set)
    for usage, code in HID_TO_SET1.items():
        users[code].add(HID_KEY_NAMES[usage])
    shared = sorted(sorted(names) for names in users.values() if len(names) > 1)
    assert shared == [["AC_STOP", "STOP"], ["AUDIOMUTE", "MUTE"], ["BACKSLASH", "NONUSHASH"]]


def test_every_code_encodes_on_the_wire() -> None:
    for usage, code in HID_TO_SET1.items():
        down, up = sp.scancode_down(code), sp.scancode_up(code)
        if code > 0xFF:
            assert down == 0xE0 | (code & 0x7F) << 8, HID_KEY_NAMES[usage]
            assert up == down | 0x8000
        else:
            assert (down, up) == (code, code | 0x80)


def test_unmapped_scancodes() -> None:
    assert hid_to_set1(sdl2.SDL_SCANCODE_UNKNOWN) is None
    assert hid_to_set1(sdl2.SDL_SCANCODE_EXECUTE) is None
    assert hid_to_set1(sdl2.SDL_SCANCODE_KP_HEXADECIMAL) is None
    assert hid_to_set1(sdl2.SDL_SCANCODE_A) == 0x1E
