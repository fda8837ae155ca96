"""Keyboard layouts of the guest (from xkb data) and named key combos, as key events (no I/O).

The guest decides what a scancode means; to type "ä@€" into a German guest the
client must press the keys a German keyboard has them on.  The tables in
:mod:`spice_session._layouts_data` are generated from xkb (``tools/gen_layouts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from spice_proto import KEY_NAMES
from spice_proto.lowlevel import frozen

from ._layouts_data import LAYOUT_CHARS, LAYOUT_DEAD
from ._typing import KeyEvent

__all__ = ["LAYOUTS", "KeyComboError", "Layout", "LayoutError", "get_layout"]

#: Layout names accepted by :func:`get_layout`.
LAYOUTS: tuple[str, ...] = tuple(LAYOUT_CHARS)

_SHIFT = KEY_NAMES["Shift_L"]
_ALTGR = KEY_NAMES["Alt_R"]
_SPACE = KEY_NAMES["space"]
_LEVEL_MODIFIERS: tuple[tuple[int, ...], ...] = ((), (_SHIFT,), (_ALTGR,), (_ALTGR, _SHIFT))

_MODIFIER_NAMES = {
    "ctrl": KEY_NAMES["Control_L"],
    "control": KEY_NAMES["Control_L"],
    "shift": _SHIFT,
    "alt": KEY_NAMES["Alt_L"],
    "altgr": _ALTGR,
    "super": KEY_NAMES["Super_L"],
    "win": KEY_NAMES["Super_L"],
    "meta": KEY_NAMES["Super_L"],
}
_KEY_ALIASES = {
    "del": "Delete",
    "esc": "Escape",
    "enter": "Return",
    "ret": "Return",
    "bs": "BackSpace",
    "bsp": "BackSpace",
    "ins": "Insert",
    "pgup": "Page_Up",
    "pgdn": "Page_Down",
    "minus": "-",
    "plus": "=",
    "win": "Super_L",
    "super": "Super_L",
    "ctrl": "Control_L",
    "alt": "Alt_L",
    "altgr": "Alt_R",
    "shift": "Shift_L",
}
_LOWER_NAMES = {name.lower(): code for name, code in KEY_NAMES.items()}


class LayoutError(ValueError):
    """A layout that does not exist, or text it cannot type (names the character and its index)."""


class KeyComboError(ValueError):
    """A key combo that names no key (``"ctrl-alt-del"`` is fine, ``"ctrl-foo"`` is not)."""


def _level_events(code: int, level: int) -> list[KeyEvent]:
    mods = _LEVEL_MODIFIERS[level]
    return [*((m, True) for m in mods), (code, True), (code, False), *((m, False) for m in reversed(mods))]


@frozen
class Layout:
    """One guest layout: the keys (and Shift/AltGr) that type each character."""

    name: str
    chars: Mapping[str, tuple[int, int]]
    dead: Mapping[str, tuple[int, int]]

    def can_type(self, char: str) -> bool:
        return char in self.chars or char in self.dead

    def char_events(self, char: str, *, caps_lock: bool = False) -> list[KeyEvent]:
        """The key events that type ``char`` (a dead key's spacing character: the dead key, then space).

        With ``caps_lock`` (the guest's Caps Lock on), a letter whose other case is on the
        same key is typed with Shift the other way round, as Caps Lock turns it.
        """
        if char in self.chars:
            code, level = self.chars[char]
            if caps_lock and self._caps_turns(char, code, level):
                level ^= 1
            return _level_events(code, level)
        if char in self.dead:
            return _level_events(*self.dead[char]) + _level_events(_SPACE, 0)
        raise LayoutError(f"layout {self.name!r} has no key for {char!r}")

    def _caps_turns(self, char: str, code: int, level: int) -> bool:
        """Whether Caps Lock changes ``char``'s case: its other case is the same key, Shift flipped."""
        other = char.swapcase()
        return level in (0, 1) and other != char and self.chars.get(other) == (code, level ^ 1)

    def strokes(self, text: str, *, caps_lock: bool = False) -> list[list[KeyEvent]]:
        """One group of key events per character; the whole text is checked before anything is returned.

        ``caps_lock``: the guest's Caps Lock is on (see :meth:`char_events`).
        """
        for index, char in enumerate(text):
            if not self.can_type(char):
                raise LayoutError(f"layout {self.name!r} has no key for {char!r} (index {index} of the text)")
        return [self.char_events(char, caps_lock=caps_lock) for char in text]

    def key_code(self, name: str) -> int:
        """The set-1 code of one key: a key name (any case, ``-`` or ``_``) or a character of this layout."""
        if len(name) == 1 and name in self.chars:
            return self.chars[name][0]
        low = name.lower().replace("-", "_")
        low = _KEY_ALIASES.get(low, low).lower()
        if low in _LOWER_NAMES:
            return _LOWER_NAMES[low]
        if len(low) == 1 and low in self.chars:
            return self.chars[low][0]
        raise KeyComboError(f"no key named {name!r}")

    def combo(self, spec: str) -> list[KeyEvent]:
        """Press and release for a combo like ``ctrl-alt-del``, ``shift-f10``, ``super-l``, ``altgr-e``.

        The modifiers go down in order, the last key is stroked, the modifiers
        come up in reverse order.  A whole spec that is itself a key name
        (``super-l`` = Super_L, ``page-up``) is that one key.
        """
        codes = self.combo_codes(spec)
        return [*((c, True) for c in codes), *((c, False) for c in reversed(codes))]

    def combo_codes(self, spec: str) -> list[int]:
        """The key codes of a combo, modifiers first."""
        if not spec:
            raise KeyComboError("empty key combo")
        try:
            return [self.key_code(spec)]
        except KeyComboError:
            pass
        parts = spec.split("-")
        if "" in parts:  # "ctrl--" means Ctrl and the minus key
            parts = [p for p in parts if p] + ["-"]
        codes = [_MODIFIER_NAMES.get(p.lower()) for p in parts[:-1]]
        missing = [p for p, c in zip(parts, codes, strict=False) if c is None]
        if missing:
            raise KeyComboError(
                f"{missing[0]!r} in {spec!r} is not a modifier (ctrl, shift, alt, altgr, super)"
            )
        try:
            last = self.key_code(parts[-1])
        except KeyComboError:
            raise KeyComboError(f"no key named {parts[-1]!r} in combo {spec!r}") from None
        return [c for c in codes if c is not None] + [last]


def get_layout(name: str = "us") -> Layout:
    """The layout called ``name`` (see :data:`LAYOUTS`)."""
    try:
        chars = LAYOUT_CHARS[name]
    except KeyError:
        raise LayoutError(f"unknown keyboard layout {name!r}; known: {', '.join(LAYOUTS)}") from None
    return Layout(name, MappingProxyType(chars), MappingProxyType(LAYOUT_DEAD[name]))
