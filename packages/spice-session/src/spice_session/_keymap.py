"""USB HID keyboard usages (= SDL scancodes) to the PC AT set-1 codes the inputs channel carries.

SDL's scancodes are the USB HID keyboard-page usages (plus a few SDL-only media
keys above 256), so one table serves SDL, USB and anything else that speaks
HID usages.  Values are set-1 make codes as :mod:`spice_proto` names keys:
``0x1E`` for A, ``0xE0xx`` for keys sent with the ``E0`` prefix.

The numbers follow the set-1 column that QEMU and spice-gtk share (QEMU
decodes what the inputs channel delivers with it), with two choices made here:

* Print Screen is ``E0 37``: QEMU accepts it (as it accepts ``0x54``), and
  Xspice only understands ``E0 37`` (``0x54`` is a different key there).
* Pause is ``E0 46``, the single code both QEMU and Xspice decode as Pause.
  A real keyboard's ``E1 1D 45 E1 9D C5`` (:data:`PAUSE_E1_SEQUENCE`) is
  understood by recent QEMU only; Xspice reads it as Ctrl and Num Lock
  strokes.  Pause has no break code on real hardware, so
  :class:`~spice_session.Inputs` sends its make and break together.

LANG1/LANG2 (Hangul, Hanja) have no break code on real keyboards either
(``F2``/``F1``); they are sent as ``0x72``/``0x71`` with ordinary break codes,
QEMU's numbering for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "HID_KEY_NAMES",
    "HID_TO_SET1",
    "PAUSE",
    "PAUSE_E1_SEQUENCE",
    "hid_to_set1",
]

#: The set-1 code sent for Pause/Break (``E0 46``, see the module docs).
PAUSE = 0xE046
#: What a real set-1 keyboard sends for Pause (make and "break" at once); not used by default.
PAUSE_E1_SEQUENCE = bytes((0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5))

# (HID usage / SDL scancode, SDL's name for it, set-1 code)
_TABLE: tuple[tuple[int, str, int], ...] = (
    # letters
    (0x04, "A", 0x1E),
    (0x05, "B", 0x30),
    (0x06, "C", 0x2E),
    (0x07, "D", 0x20),
    (0x08, "E", 0x12),
    (0x09, "F", 0x21),
    (0x0A, "G", 0x22),
    (0x0B, "H", 0x23),
    (0x0C, "I", 0x17),
    (0x0D, "J", 0x24),
    (0x0E, "K", 0x25),
    (0x0F, "L", 0x26),
    (0x10, "M", 0x32),
    (0x11, "N", 0x31),
    (0x12, "O", 0x18),
    (0x13, "P", 0x19),
    (0x14, "Q", 0x10),
    (0x15, "R", 0x13),
    (0x16, "S", 0x1F),
    (0x17, "T", 0x14),
    (0x18, "U", 0x16),
    (0x19, "V", 0x2F),
    (0x1A, "W", 0x11),
    (0x1B, "X", 0x2D),
    (0x1C, "Y", 0x15),
    (0x1D, "Z", 0x2C),
    # digit row
    (0x1E, "1", 0x02),
    (0x1F, "2", 0x03),
    (0x20, "3", 0x04),
    (0x21, "4", 0x05),
    (0x22, "5", 0x06),
    (0x23, "6", 0x07),
    (0x24, "7", 0x08),
    (0x25, "8", 0x09),
    (0x26, "9", 0x0A),
    (0x27, "0", 0x0B),
    # main block
    (0x28, "RETURN", 0x1C),
    (0x29, "ESCAPE", 0x01),
    (0x2A, "BACKSPACE", 0x0E),
    (0x2B, "TAB", 0x0F),
    (0x2C, "SPACE", 0x39),
    (0x2D, "MINUS", 0x0C),
    (0x2E, "EQUALS", 0x0D),
    (0x2F, "LEFTBRACKET", 0x1A),
    (0x30, "RIGHTBRACKET", 0x1B),
    (0x31, "BACKSLASH", 0x2B),
    (0x32, "NONUSHASH", 0x2B),  # the ISO key left of Return sits where ANSI has backslash
    (0x33, "SEMICOLON", 0x27),
    (0x34, "APOSTROPHE", 0x28),
    (0x35, "GRAVE", 0x29),
    (0x36, "COMMA", 0x33),
    (0x37, "PERIOD", 0x34),
    (0x38, "SLASH", 0x35),
    (0x39, "CAPSLOCK", 0x3A),
    # function keys
    (0x3A, "F1", 0x3B),
    (0x3B, "F2", 0x3C),
    (0x3C, "F3", 0x3D),
    (0x3D, "F4", 0x3E),
    (0x3E, "F5", 0x3F),
    (0x3F, "F6", 0x40),
    (0x40, "F7", 0x41),
    (0x41, "F8", 0x42),
    (0x42, "F9", 0x43),
    (0x43, "F10", 0x44),
    (0x44, "F11", 0x57),
    (0x45, "F12", 0x58),
    # navigation cluster
    (0x46, "PRINTSCREEN", 0xE037),
    (0x47, "SCROLLLOCK", 0x46),
    (0x48, "PAUSE", PAUSE),
    (0x49, "INSERT", 0xE052),
    (0x4A, "HOME", 0xE047),
    (0x4B, "PAGEUP", 0xE049),
    (0x4C, "DELETE", 0xE053),
    (0x4D, "END", 0xE04F),
    (0x4E, "PAGEDOWN", 0xE051),
    (0x4F, "RIGHT", 0xE04D),
    (0x50, "LEFT", 0xE04B),
    (0x51, "DOWN", 0xE050),
    (0x52, "UP", 0xE048),
    # keypad
    (0x53, "NUMLOCKCLEAR", 0x45),
    (0x54, "KP_DIVIDE", 0xE035),
    (0x55, "KP_MULTIPLY", 0x37),
    (0x56, "KP_MINUS", 0x4A),
    (0x57, "KP_PLUS", 0x4E),
    (0x58, "KP_ENTER", 0xE01C),
    (0x59, "KP_1", 0x4F),
    (0x5A, "KP_2", 0x50),
    (0x5B, "KP_3", 0x51),
    (0x5C, "KP_4", 0x4B),
    (0x5D, "KP_5", 0x4C),
    (0x5E, "KP_6", 0x4D),
    (0x5F, "KP_7", 0x47),
    (0x60, "KP_8", 0x48),
    (0x61, "KP_9", 0x49),
    (0x62, "KP_0", 0x52),
    (0x63, "KP_PERIOD", 0x53),
    (0x64, "NONUSBACKSLASH", 0x56),  # the ISO key between Left Shift and Z
    (0x65, "APPLICATION", 0xE05D),  # the Menu key
    (0x66, "POWER", 0xE05E),
    (0x67, "KP_EQUALS", 0x59),
    # F13..F24
    (0x68, "F13", 0x5D),
    (0x69, "F14", 0x5E),
    (0x6A, "F15", 0x5F),
    (0x6B, "F16", 0x55),
    (0x6C, "F17", 0xE003),
    (0x6D, "F18", 0xE077),
    (0x6E, "F19", 0xE004),
    (0x6F, "F20", 0x5A),
    (0x70, "F21", 0x74),
    (0x71, "F22", 0xE079),
    (0x72, "F23", 0x6D),
    (0x73, "F24", 0x6F),
    # editing and volume keys of the HID page
    (0x75, "HELP", 0xE075),
    (0x76, "MENU", 0xE01E),
    (0x77, "SELECT", 0xE00C),
    (0x78, "STOP", 0xE068),
    (0x79, "AGAIN", 0xE005),
    (0x7A, "UNDO", 0xE007),
    (0x7B, "CUT", 0xE03C),
    (0x7C, "COPY", 0xE078),
    (0x7D, "PASTE", 0x65),
    (0x7E, "FIND", 0xE041),
    (0x7F, "MUTE", 0xE020),
    (0x80, "VOLUMEUP", 0xE030),
    (0x81, "VOLUMEDOWN", 0xE02E),
    # international keys
    (0x85, "KP_COMMA", 0x7E),
    (0x87, "INTERNATIONAL1", 0x73),  # Ro (JIS backslash/underscore)
    (0x88, "INTERNATIONAL2", 0x70),  # Katakana/Hiragana
    (0x89, "INTERNATIONAL3", 0x7D),  # Yen
    (0x8A, "INTERNATIONAL4", 0x79),  # Henkan
    (0x8B, "INTERNATIONAL5", 0x7B),  # Muhenkan
    (0x8C, "INTERNATIONAL6", 0x5C),  # keypad JP comma
    (0x90, "LANG1", 0x72),  # Hangul/English
    (0x91, "LANG2", 0x71),  # Hanja
    (0x92, "LANG3", 0x78),  # Katakana
    (0x93, "LANG4", 0x77),  # Hiragana
    (0x94, "LANG5", 0x76),  # Zenkaku/Hankaku
    (0x9A, "SYSREQ", 0x54),
    (0xB6, "KP_LEFTPAREN", 0xE076),
    (0xB7, "KP_RIGHTPAREN", 0xE07B),
    # modifiers
    (0xE0, "LCTRL", 0x1D),
    (0xE1, "LSHIFT", 0x2A),
    (0xE2, "LALT", 0x38),
    (0xE3, "LGUI", 0xE05B),
    (0xE4, "RCTRL", 0xE01D),
    (0xE5, "RSHIFT", 0x36),
    (0xE6, "RALT", 0xE038),
    (0xE7, "RGUI", 0xE05C),
    # SDL's own numbers for consumer-page keys
    (258, "AUDIONEXT", 0xE019),
    (259, "AUDIOPREV", 0xE010),
    (260, "AUDIOSTOP", 0xE024),
    (261, "AUDIOPLAY", 0xE022),
    (262, "AUDIOMUTE", 0xE020),
    (263, "MEDIASELECT", 0xE06D),
    (264, "WWW", 0xE002),
    (265, "MAIL", 0xE06C),
    (266, "CALCULATOR", 0xE021),
    (267, "COMPUTER", 0xE06B),
    (268, "AC_SEARCH", 0xE065),
    (269, "AC_HOME", 0xE032),
    (270, "AC_BACK", 0xE06A),
    (271, "AC_FORWARD", 0xE069),
    (272, "AC_STOP", 0xE068),
    (273, "AC_REFRESH", 0xE067),
    (274, "AC_BOOKMARKS", 0xE066),
    (275, "BRIGHTNESSDOWN", 0xE04C),
    (276, "BRIGHTNESSUP", 0xE054),
    (277, "DISPLAYSWITCH", 0xE056),
    (278, "KBDILLUMTOGGLE", 0xE057),
    (279, "KBDILLUMDOWN", 0xE058),
    (280, "KBDILLUMUP", 0xE059),
    (281, "EJECT", 0x6C),
    (282, "SLEEP", 0xE05F),
    (283, "APP1", 0xE01F),
    (284, "APP2", 0xE017),
    (285, "AUDIOREWIND", 0xE018),
    (286, "AUDIOFASTFORWARD", 0xE034),
)

#: HID usage (= SDL scancode) -> set-1 make code (``0xE0xx`` for E0-prefixed keys).
HID_TO_SET1: Mapping[int, int] = MappingProxyType({usage: code for usage, _, code in _TABLE})
#: HID usage -> SDL's scancode name without the ``SDL_SCANCODE_`` prefix (``"KP_ENTER"``).
HID_KEY_NAMES: Mapping[int, str] = MappingProxyType({usage: name for usage, name, _ in _TABLE})


def hid_to_set1(usage: int) -> int | None:
    """The set-1 code of HID usage / SDL scancode ``usage``, or ``None`` for a key without one."""
    return HID_TO_SET1.get(usage)
