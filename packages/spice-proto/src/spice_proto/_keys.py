"""PC AT set-1 scancodes as the SPICE inputs channel wants them, and a US keyboard table.

A key is named here by its set-1 make code: ``0x1E`` for A, and for the keys
sent with an ``E0`` prefix the two bytes as one number, ``0xE04D`` for the
right arrow.  (``0x100 | code``, the convention of QEMU and spice-gtk's API,
is accepted as well.)

KEY_DOWN / KEY_UP carry a u32 whose little-endian bytes are the scancode
bytes as a keyboard would send them: the prefix first.  So a plain key is
``code`` / ``code | 0x80`` and an extended key ``0xE0 | code << 8`` /
``0xE0 | (code | 0x80) << 8``: right arrow press 0x4DE0, release 0xCDE0.
(spice-gtk builds the same numbers; one public reimplementation swapped the
two bytes, which real servers read as a different key.)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "KEY_NAMES",
    "US_KEYMAP",
    "key_char",
    "key_code",
    "scancode_bytes",
    "scancode_down",
    "scancode_up",
]

_EXTENDED = 0xE000
_RELEASE = 0x80


def _split(sc: int) -> tuple[bool, int]:
    """(extended?, 7-bit make code) of a key number, or ValueError."""
    if 0 < sc < 0x80:
        return False, sc
    if _EXTENDED < sc < _EXTENDED | 0x80:
        return True, sc & 0x7F
    if 0x100 < sc < 0x180:
        return True, sc & 0x7F
    raise ValueError(
        f"not a set-1 make code: {sc:#x} (expected 0x01-0x7f, or 0xe001-0xe07f for E0-prefixed keys)"
    )


def scancode_down(sc: int) -> int:
    """The KEY_DOWN code of key ``sc`` (e.g. ``0x1E`` -> 0x1E, ``0xE04D`` -> 0x4DE0)."""
    extended, code = _split(sc)
    return 0xE0 | code << 8 if extended else code


def scancode_up(sc: int) -> int:
    """The KEY_UP code of key ``sc`` (e.g. ``0x1E`` -> 0x9E, ``0xE04D`` -> 0xCDE0)."""
    extended, code = _split(sc)
    code |= _RELEASE
    return 0xE0 | code << 8 if extended else code


def scancode_bytes(sc: int, *, release: bool = False) -> bytes:
    """The raw bytes of one press or release, as KEY_SCANCODE carries them."""
    extended, code = _split(sc)
    if release:
        code |= _RELEASE
    return bytes((0xE0, code)) if extended else bytes((code,))


# Set-1 make codes of the main block of a US (ANSI) keyboard, unshifted and shifted characters.
_ROWS: tuple[tuple[int, str, str], ...] = (
    (0x02, "1", "!"),
    (0x03, "2", "@"),
    (0x04, "3", "#"),
    (0x05, "4", "$"),
    (0x06, "5", "%"),
    (0x07, "6", "^"),
    (0x08, "7", "&"),
    (0x09, "8", "*"),
    (0x0A, "9", "("),
    (0x0B, "0", ")"),
    (0x0C, "-", "_"),
    (0x0D, "=", "+"),
    (0x10, "q", "Q"),
    (0x11, "w", "W"),
    (0x12, "e", "E"),
    (0x13, "r", "R"),
    (0x14, "t", "T"),
    (0x15, "y", "Y"),
    (0x16, "u", "U"),
    (0x17, "i", "I"),
    (0x18, "o", "O"),
    (0x19, "p", "P"),
    (0x1A, "[", "{"),
    (0x1B, "]", "}"),
    (0x1E, "a", "A"),
    (0x1F, "s", "S"),
    (0x20, "d", "D"),
    (0x21, "f", "F"),
    (0x22, "g", "G"),
    (0x23, "h", "H"),
    (0x24, "j", "J"),
    (0x25, "k", "K"),
    (0x26, "l", "L"),
    (0x27, ";", ":"),
    (0x28, "'", '"'),
    (0x29, "`", "~"),
    (0x2B, "\\", "|"),
    (0x2C, "z", "Z"),
    (0x2D, "x", "X"),
    (0x2E, "c", "C"),
    (0x2F, "v", "V"),
    (0x30, "b", "B"),
    (0x31, "n", "N"),
    (0x32, "m", "M"),
    (0x33, ",", "<"),
    (0x34, ".", ">"),
    (0x35, "/", "?"),
)


def _build_keymap() -> dict[str, tuple[int, bool]]:
    table: dict[str, tuple[int, bool]] = {" ": (0x39, False), "\n": (0x1C, False), "\t": (0x0F, False)}
    for code, plain, shifted in _ROWS:
        table[plain] = (code, False)
        table[shifted] = (code, True)
    return table


#: Character -> (set-1 make code, needs Shift) for typing text on a US layout.
US_KEYMAP: Mapping[str, tuple[int, bool]] = MappingProxyType(_build_keymap())

# The keypad with Num Lock on: one character whatever Shift says.
_KEYPAD = (
    (0x37, "*"),
    (0x47, "7"),
    (0x48, "8"),
    (0x49, "9"),
    (0x4A, "-"),
    (0x4B, "4"),
    (0x4C, "5"),
    (0x4D, "6"),
    (0x4E, "+"),
    (0x4F, "1"),
    (0x50, "2"),
    (0x51, "3"),
    (0x52, "0"),
    (0x53, "."),
    (0xE035, "/"),
)


def _build_chars() -> dict[int, tuple[str, str]]:
    chars = {code: (plain, shifted) for code, plain, shifted in _ROWS}
    chars[0x39] = (" ", " ")
    chars.update((code, (char, char)) for code, char in _KEYPAD)
    return chars


_US_CHARS: Mapping[int, tuple[str, str]] = MappingProxyType(_build_chars())


def key_char(sc: int, *, shift: bool = False, caps_lock: bool = False) -> str | None:
    """The character key ``sc`` types on a US layout (the keypad with Num Lock on), or ``None``
    for a key that types no character (Enter, Tab, modifiers, arrows, an invalid code...).

    Caps Lock acts as Shift on letters only.
    """
    try:
        extended, code = _split(sc)
    except ValueError:
        return None
    pair = _US_CHARS.get(_EXTENDED | code if extended else code)
    if pair is None:
        return None
    plain, shifted = pair
    if caps_lock and plain.isalpha():
        shift = not shift
    return shifted if shift else plain


def _build_names() -> dict[str, int]:
    names: dict[str, int] = {
        "Escape": 0x01,
        "BackSpace": 0x0E,
        "Tab": 0x0F,
        "Return": 0x1C,
        "space": 0x39,
        "Control_L": 0x1D,
        "Shift_L": 0x2A,
        "Shift_R": 0x36,
        "Alt_L": 0x38,
        "Caps_Lock": 0x3A,
        "Num_Lock": 0x45,
        "Scroll_Lock": 0x46,
        "Control_R": 0xE01D,
        "Alt_R": 0xE038,
        "Super_L": 0xE05B,
        "Super_R": 0xE05C,
        "Menu": 0xE05D,
        "Print": 0xE037,
        "Home": 0xE047,
        "Up": 0xE048,
        "Page_Up": 0xE049,
        "Left": 0xE04B,
        "Right": 0xE04D,
        "End": 0xE04F,
        "Down": 0xE050,
        "Page_Down": 0xE051,
        "Insert": 0xE052,
        "Delete": 0xE053,
        # keypad
        "KP_Multiply": 0x37,
        "KP_Subtract": 0x4A,
        "KP_Add": 0x4E,
        "KP_Decimal": 0x53,
        "KP_Enter": 0xE01C,
        "KP_Divide": 0xE035,
        "KP_7": 0x47,
        "KP_8": 0x48,
        "KP_9": 0x49,
        "KP_4": 0x4B,
        "KP_5": 0x4C,
        "KP_6": 0x4D,
        "KP_1": 0x4F,
        "KP_2": 0x50,
        "KP_3": 0x51,
        "KP_0": 0x52,
        "F11": 0x57,
        "F12": 0x58,
    }
    for n in range(1, 11):  # F1..F10 are 0x3B..0x44
        names[f"F{n}"] = 0x3A + n
    for code, plain, _ in _ROWS:
        names[plain] = code
    # Aliases: xdotool/X11 spellings and the obvious ones.
    aliases = {
        "Enter": "Return",
        "Esc": "Escape",
        "Backspace": "BackSpace",
        "Prior": "Page_Up",
        "PageUp": "Page_Up",
        "Next": "Page_Down",
        "PageDown": "Page_Down",
        "Del": "Delete",
        "Ctrl_L": "Control_L",
        "Ctrl_R": "Control_R",
        "Meta_L": "Super_L",
        "Meta_R": "Super_R",
        "ISO_Level3_Shift": "Alt_R",
    }
    for alias, target in aliases.items():
        names[alias] = names[target]
    return names


#: Key name (X11 keysym spelling, plus a few aliases) -> set-1 make code (0xE0xx when extended).
KEY_NAMES: Mapping[str, int] = MappingProxyType(_build_names())


def key_code(name: str) -> int:
    """The set-1 make code of a named key (``"Return"``, ``"Left"``, ``"F5"``, ``"a"``...)."""
    try:
        return KEY_NAMES[name]
    except KeyError:
        raise ValueError(f"unknown key name {name!r}") from None
