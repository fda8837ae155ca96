"""The viewer's decisions, without SDL: letterbox geometry, hot keys, titles, cursor images.

Everything here works on plain numbers (SDL scancodes, button numbers and
modifier bits are given as the SDL constants' values) so it is testable
without a display.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from spice_proto import KeyboardModifierFlags, MouseButton, MouseMode

__all__ = [
    "GRAB_HINT",
    "RELEASE_COMBO",
    "SDL_BUTTONS",
    "Box",
    "Command",
    "HotKeys",
    "cursor_rgba",
    "letterbox",
    "locks_from_sdl",
    "title",
    "to_surface",
]

#: The key combination that releases the keyboard/mouse grab (shown in the title).
RELEASE_COMBO = "Ctrl+Alt"
#: How to grab, shown in the title while not grabbed.
GRAB_HINT = "click to grab input, Ctrl+Alt+F fullscreen"

# SDL scancodes (= USB HID usages) the hot keys use.
_LCTRL, _LALT, _RCTRL, _RALT = 0xE0, 0xE2, 0xE4, 0xE6
_F = 0x09
_M = 0x10
_N = 0x11
_S = 0x16
_R = 0x15
_CTRL = frozenset({_LCTRL, _RCTRL})
_ALT = frozenset({_LALT, _RALT})

#: SDL mouse button number (SDL_BUTTON_LEFT=1 ... X2=5) -> SPICE button.
SDL_BUTTONS = {
    1: MouseButton.LEFT,
    2: MouseButton.MIDDLE,
    3: MouseButton.RIGHT,
    4: MouseButton.SIDE,
    5: MouseButton.EXTRA,
}

# SDL's KMOD_NUM, KMOD_CAPS, KMOD_SCROLL bits.
_KMOD_NUM, _KMOD_CAPS, _KMOD_SCROLL = 0x1000, 0x2000, 0x8000


@dataclass(frozen=True)
class Box:
    """A rectangle in window pixels: where the remote screen is drawn."""

    x: int
    y: int
    w: int
    h: int


def letterbox(out_w: int, out_h: int, src_w: int, src_h: int) -> Box:
    """The largest ``src``-shaped box centred in an ``out_w`` x ``out_h`` output (aspect kept)."""
    if min(out_w, out_h, src_w, src_h) <= 0:
        return Box(0, 0, max(out_w, 0), max(out_h, 0))
    if out_w * src_h <= out_h * src_w:  # width-bound: bars above and below
        w = out_w
        h = max(1, (out_w * src_h + src_w // 2) // src_w)
    else:
        h = out_h
        w = max(1, (out_h * src_w + src_h // 2) // src_h)
    return Box((out_w - w) // 2, (out_h - h) // 2, w, h)


def to_surface(box: Box, src_w: int, src_h: int, x: float, y: float) -> tuple[int, int] | None:
    """Window point -> remote screen pixel, or ``None`` when the point is on a letterbox bar."""
    if box.w <= 0 or box.h <= 0:
        return None
    sx = int((x - box.x) * src_w // box.w)
    sy = int((y - box.y) * src_h // box.h)
    if 0 <= sx < src_w and 0 <= sy < src_h and x >= box.x and y >= box.y:
        return sx, sy
    return None


def locks_from_sdl(mod: int) -> KeyboardModifierFlags:
    """The SPICE lock flags of an SDL modifier state (``SDL_GetModState()``)."""
    flags = KeyboardModifierFlags(0)
    if mod & _KMOD_NUM:
        flags |= KeyboardModifierFlags.NUM_LOCK
    if mod & _KMOD_CAPS:
        flags |= KeyboardModifierFlags.CAPS_LOCK
    if mod & _KMOD_SCROLL:
        flags |= KeyboardModifierFlags.SCROLL_LOCK
    return flags


class Command(enum.Enum):
    """What a key event means to the viewer itself."""

    NONE = "none"
    RELEASE_GRAB = "release-grab"
    TOGGLE_FULLSCREEN = "toggle-fullscreen"
    TOGGLE_MUTE = "toggle-mute"
    TOGGLE_MICROPHONE = "toggle-microphone"
    TOGGLE_STATS = "toggle-stats"
    BUG_REPORT = "bug-report"


#: Ctrl+Alt+<key> (SDL / USB HID scancodes) and what it does.
_HOT = {
    _F: Command.TOGGLE_FULLSCREEN,
    _M: Command.TOGGLE_MUTE,
    _N: Command.TOGGLE_MICROPHONE,
    _S: Command.TOGGLE_STATS,
    _R: Command.BUG_REPORT,
}


@dataclass
class HotKeys:
    """Ctrl+Alt (pressed and let go with nothing else) releases the grab; Ctrl+Alt+F toggles fullscreen,
    Ctrl+Alt+M the sound, Ctrl+Alt+N the microphone, Ctrl+Alt+S the statistics overlay and
    Ctrl+Alt+R writes a bug report.

    :meth:`key` says whether an event goes on to the guest and what the viewer
    should do.  Ctrl and Alt themselves always reach the guest (so Ctrl+Alt+Del
    works); only the F, M, N, S and R of those combinations are kept back.
    """

    held: set[int] = field(default_factory=set)
    _armed: bool = False
    _used: bool = False
    _swallowed: set[int] = field(default_factory=set)

    def key(self, scancode: int, pressed: bool) -> tuple[bool, Command]:
        """(forward to the guest?, command) for one key press or release."""
        ctrl_alt = bool(self.held & _CTRL) and bool(self.held & _ALT)
        if pressed:
            modifier = scancode in _CTRL or scancode in _ALT
            self.held.add(scancode)
            if modifier:
                if bool(self.held & _CTRL) and bool(self.held & _ALT) and not ctrl_alt:
                    self._armed, self._used = True, False
                return True, Command.NONE
            if ctrl_alt:
                self._used = True
                command = _HOT.get(scancode)
                if command is not None:
                    self._swallowed.add(scancode)
                    return False, command
            return True, Command.NONE
        self.held.discard(scancode)
        if scancode in self._swallowed:
            self._swallowed.discard(scancode)
            return False, Command.NONE
        if self._armed and (scancode in _CTRL or scancode in _ALT):
            self._armed = False
            if not self._used:
                return True, Command.RELEASE_GRAB
        return True, Command.NONE

    def reset(self) -> None:
        """Forget held keys (focus lost: the guest gets key-ups for them separately)."""
        self.held.clear()
        self._swallowed.clear()
        self._armed = self._used = False


def title(name: str, *, grabbed: bool, mouse_mode: MouseMode | int, fullscreen: bool = False) -> str:
    """The window title: what is shown, and how to grab or release."""
    mode = "client mouse" if int(mouse_mode) & MouseMode.CLIENT else "server mouse"
    hint = f"press {RELEASE_COMBO} to release" if grabbed else GRAB_HINT
    return f"{name} - spice view ({mode}; {hint})"


def cursor_rgba(rgba: npt.NDArray[np.uint8], xor: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """An RGBA image an SDL colour cursor can show for a SPICE cursor shape.

    SDL cursors cannot XOR with the screen: XOR pixels that would change the
    screen are drawn opaque black (the usual look of an inverting cursor on a
    light background), XOR pixels with nothing to XOR are transparent.
    """
    out = np.array(rgba, dtype=np.uint8, copy=True, order="C")
    if xor.any():
        inverting = xor & rgba[:, :, :3].any(axis=2)
        out[xor] = (0, 0, 0, 0)
        out[inverting] = (0, 0, 0, 255)
    return out
