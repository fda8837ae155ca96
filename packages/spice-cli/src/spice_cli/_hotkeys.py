"""Hot-key combinations in remote-viewer's notation (``shift+f11``, ``ctrl+alt+end``).

A .vv file names them one key each (``toggle-fullscreen=shift+f11``) and remote-viewer's
``--hotkeys`` as one list (``toggle-fullscreen=shift+f11,release-cursor=shift+f12``).
:func:`parse_combo` turns one into a :class:`Combo` of modifier classes and an SDL
scancode (USB HID usage); :func:`parse_hotkeys` reads the list form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ACTIONS",
    "MODIFIERS",
    "Combo",
    "InvalidHotkey",
    "bindings",
    "check_action",
    "combo_name",
    "parse_combo",
    "parse_hotkeys",
]

#: Modifier classes by SDL scancode (left and right count alike).
MODIFIERS = {
    0xE0: "ctrl",
    0xE4: "ctrl",
    0xE1: "shift",
    0xE5: "shift",
    0xE2: "alt",
    0xE6: "alt",
    0xE3: "super",
    0xE7: "super",
}
_MOD_NAMES = {
    "ctrl": "ctrl",
    "control": "ctrl",
    "alt": "alt",
    "shift": "shift",
    "super": "super",
    "win": "super",
    "meta": "super",
}
_KEYS: dict[str, int] = {chr(ord("a") + i): 4 + i for i in range(26)}
_KEYS.update({str(d): 30 + (d - 1) % 10 for d in range(10)})
_KEYS.update({f"f{n}": 57 + n for n in range(1, 13)})
_KEYS.update({f"f{n}": 104 + n - 13 for n in range(13, 25)})
_KEYS.update(
    {
        "return": 40, "enter": 40, "esc": 41, "escape": 41, "backspace": 42, "tab": 43, "space": 44,
        "minus": 45, "equal": 46, "plus": 46, "print": 70, "sysrq": 70, "scroll_lock": 71, "pause": 72,
        "break": 72, "ins": 73, "insert": 73, "home": 74, "pgup": 75, "page_up": 75, "prior": 75,
        "del": 76, "delete": 76, "end": 77, "pgdn": 78, "page_down": 78, "next": 78, "right": 79,
        "left": 80, "down": 81, "up": 82, "kp_subtract": 86, "kp_minus": 86, "kp_add": 87, "kp_plus": 87,
    }
)  # fmt: skip
_NAMES = {code: name for name, code in reversed(list(_KEYS.items()))}
#: What a hot key can do: remote-viewer's actions, then spice view's own.
ACTIONS = (
    "toggle-fullscreen",
    "release-cursor",
    "secure-attention",
    "zoom-in",
    "zoom-out",
    "zoom-reset",
    "smartcard-insert",
    "smartcard-remove",
    "usb-device-reset",
    "toggle-mute",
    "toggle-microphone",
    "toggle-stats",
    "bug-report",
)


class InvalidHotkey(ValueError):
    """A combination or an action name that cannot be used."""


@dataclass(frozen=True)
class Combo:
    """Modifier classes held (``ctrl``, ``alt``, ``shift``, ``super``) and the key pressed with
    them; ``key=None``: the modifiers alone, pressed and let go (how Ctrl+Alt releases the grab)."""

    modifiers: frozenset[str]
    key: int | None = None


def parse_combo(text: str) -> Combo:
    """``ctrl+alt+f``, ``Shift+F11``, ``ctrl+alt`` (case does not matter)."""
    modifiers: set[str] = set()
    key: int | None = None
    parts = [p.strip().lower() for p in text.split("+")]
    if not parts or any(not p for p in parts):
        raise InvalidHotkey(f"{text[:40]!r} is not a combination like ctrl+alt+f")
    for part in parts:
        if part in _MOD_NAMES:
            modifiers.add(_MOD_NAMES[part])
        elif part in _KEYS and key is None:
            key = _KEYS[part]
        else:
            what = "a second key" if part in _KEYS else "an unknown key"
            raise InvalidHotkey(f"{text[:40]!r}: {part[:20]!r} is {what}")
    if key is None and len(modifiers) < 2:
        raise InvalidHotkey(f"{text[:40]!r}: a combination of modifiers alone needs two of them")
    return Combo(frozenset(modifiers), key)


def combo_name(combo: Combo) -> str:
    """``Ctrl+Alt+F``: how a title or help shows it."""
    order = [m for m in ("ctrl", "alt", "shift", "super") if m in combo.modifiers]
    words = [m.capitalize() for m in order]
    if combo.key is not None:
        words.append(_NAMES.get(combo.key, f"key {combo.key}").capitalize())
    return "+".join(words)


def parse_hotkeys(text: str) -> dict[str, Combo]:
    """remote-viewer's ``--hotkeys`` list: ``action=combo,action=combo``."""
    out: dict[str, Combo] = {}
    for item in text.split(","):
        action, equals, combo = item.partition("=")
        action = action.strip().lower()
        if not equals or not action:
            raise InvalidHotkey(f"{item[:40]!r} is not ACTION=COMBO")
        out[action] = parse_combo(combo)
        check_action(action)
    return out


def check_action(action: str) -> None:
    """:class:`InvalidHotkey` unless ``action`` is one of :data:`ACTIONS`."""
    if action not in ACTIONS:
        raise InvalidHotkey(f"unknown hot-key action {action[:40]!r} (known: {', '.join(ACTIONS)})")


def bindings(given: Mapping[str, str | Combo]) -> dict[str, Combo]:
    """Combos by action for ``given`` (text or parsed), each action checked."""
    out: dict[str, Combo] = {}
    for action, combo in given.items():
        check_action(action)
        out[action] = combo if isinstance(combo, Combo) else parse_combo(combo)
    return out
