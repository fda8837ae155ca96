"""The viewer's decisions, without SDL: letterbox geometry, hot keys, titles, cursor images.

Everything here works on plain numbers (SDL scancodes, button numbers and
modifier bits are given as the SDL constants' values) so it is testable
without a display.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from spice_proto import KeyboardModifierFlags, MouseButton, MouseMode

from ._hotkeys import MODIFIERS, Combo, combo_name

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
_F = 0x09
_M = 0x10
_N = 0x11
_S = 0x16
_R = 0x15

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
    """What a key event means to the viewer itself (values: the hot-key action names)."""

    NONE = "none"
    RELEASE_GRAB = "release-cursor"
    TOGGLE_FULLSCREEN = "toggle-fullscreen"
    TOGGLE_MUTE = "toggle-mute"
    TOGGLE_MICROPHONE = "toggle-microphone"
    TOGGLE_STATS = "toggle-stats"
    BUG_REPORT = "bug-report"
    SECURE_ATTENTION = "secure-attention"
    ZOOM_IN = "zoom-in"
    ZOOM_OUT = "zoom-out"
    ZOOM_RESET = "zoom-reset"
    SMARTCARD_INSERT = "smartcard-insert"
    SMARTCARD_REMOVE = "smartcard-remove"
    USB_DEVICE_RESET = "usb-device-reset"


_CTRL_ALT = frozenset({"ctrl", "alt"})
#: The default bindings: Ctrl+Alt+<key> (SDL / USB HID scancodes), and Ctrl+Alt alone.
DEFAULT_BINDINGS = {
    Command.RELEASE_GRAB: Combo(_CTRL_ALT),
    Command.TOGGLE_FULLSCREEN: Combo(_CTRL_ALT, _F),
    Command.TOGGLE_MUTE: Combo(_CTRL_ALT, _M),
    Command.TOGGLE_MICROPHONE: Combo(_CTRL_ALT, _N),
    Command.TOGGLE_STATS: Combo(_CTRL_ALT, _S),
    Command.BUG_REPORT: Combo(_CTRL_ALT, _R),
}
#: remote-viewer's own actions: hot keys given (a .vv file, --hotkeys) replace all of these.
_REMOTE_VIEWER = frozenset(
    {
        Command.RELEASE_GRAB,
        Command.TOGGLE_FULLSCREEN,
        Command.SECURE_ATTENTION,
        Command.ZOOM_IN,
        Command.ZOOM_OUT,
        Command.ZOOM_RESET,
        Command.SMARTCARD_INSERT,
        Command.SMARTCARD_REMOVE,
        Command.USB_DEVICE_RESET,
    }
)


class HotKeys:
    """The viewer's hot keys: Ctrl+Alt (pressed and let go with nothing else) releases the grab;
    Ctrl+Alt+F toggles fullscreen, Ctrl+Alt+M the sound, Ctrl+Alt+N the microphone, Ctrl+Alt+S
    the statistics overlay and Ctrl+Alt+R writes a bug report, unless ``bindings`` say otherwise.

    :meth:`key` says whether an event goes on to the guest and what the viewer should do.
    Modifiers themselves always reach the guest (so Ctrl+Alt+Del works); only the other key
    of a bound combination is kept back.
    """

    def __init__(self, bindings: Mapping[Command, Combo] | None = None) -> None:
        self.bindings: dict[Command, Combo] = dict(DEFAULT_BINDINGS if bindings is None else bindings)
        self._table = {(c.modifiers, c.key): cmd for cmd, c in self.bindings.items() if c.key is not None}
        release = self.bindings.get(Command.RELEASE_GRAB)
        self._release = release.modifiers if release is not None and release.key is None else None
        self.held: set[int] = set()
        self._armed = False
        self._used = False
        self._swallowed: set[int] = set()

    @classmethod
    def from_actions(cls, given: Mapping[str, Combo]) -> HotKeys:
        """Bindings as remote-viewer makes them from a .vv file or ``--hotkeys``: its actions
        not named lose their keys (release-cursor falls back to Ctrl+Alt); spice view's own
        (mute, microphone, statistics, bug report) keep theirs unless named or their
        combination is given to another action (Proxmox: ``release-cursor=Ctrl+Alt+R``)."""
        named = set(given.values())
        bound = {c: k for c, k in DEFAULT_BINDINGS.items() if c not in _REMOTE_VIEWER and k not in named}
        bound[Command.RELEASE_GRAB] = Combo(_CTRL_ALT)
        for action, combo in given.items():
            bound[Command(action)] = combo  # a combination the file names wins over our own use of it
        return cls(bound)

    def name(self, command: Command) -> str | None:
        """How the combination of ``command`` is written (``Ctrl+Alt+F``), ``None`` if unbound."""
        combo = self.bindings.get(command)
        return combo_name(combo) if combo is not None else None

    def _modifiers(self) -> frozenset[str]:
        return frozenset(MODIFIERS[k] for k in self.held if k in MODIFIERS)

    def key(self, scancode: int, pressed: bool) -> tuple[bool, Command]:
        """(forward to the guest?, command) for one key press or release."""
        if pressed:
            before = self._modifiers()
            self.held.add(scancode)
            if scancode in MODIFIERS:
                now, release = self._modifiers(), self._release
                if release is not None and release <= now and not release <= before:
                    self._armed, self._used = True, False
                return True, Command.NONE
            if self._armed:
                self._used = True
            command = self._table.get((before, scancode))
            if command is not None:
                self._swallowed.add(scancode)
                return False, command
            return True, Command.NONE
        self.held.discard(scancode)
        if scancode in self._swallowed:
            self._swallowed.discard(scancode)
            return False, Command.NONE
        release = self._release
        if self._armed and release is not None and MODIFIERS.get(scancode) in release:
            self._armed = False
            if not self._used:
                return True, Command.RELEASE_GRAB
        return True, Command.NONE

    def reset(self) -> None:
        """Forget held keys (focus lost: the guest gets key-ups for them separately)."""
        self.held.clear()
        self._swallowed.clear()
        self._armed = self._used = False


def title(
    name: str,
    *,
    grabbed: bool,
    mouse_mode: MouseMode | int,
    fullscreen: bool = False,
    release: str | None = RELEASE_COMBO,
    fullscreen_key: str | None = "Ctrl+Alt+F",
) -> str:
    """The window title: what is shown, and how to grab or release (the hot keys bound)."""
    mode = "client mouse" if int(mouse_mode) & MouseMode.CLIENT else "server mouse"
    if grabbed:
        hint = f"press {release} to release" if release else "grabbed"
    else:
        hint = (
            f"click to grab input, {fullscreen_key} fullscreen" if fullscreen_key else "click to grab input"
        )
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
