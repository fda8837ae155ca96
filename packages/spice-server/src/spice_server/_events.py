"""Input events a server hands to the application (``Server.input_events()``).

Every event names the ``client`` (its session id) it came from.  Key events
carry PC AT set-1 make codes, ``0xE0xx`` for E0-prefixed keys (the convention
of ``spice_proto.key_code``), and whether the key went down or up.
"""

from __future__ import annotations

from dataclasses import dataclass

from spice_proto import KeyboardModifierFlags, MouseButton, MouseButtonMask, MouseMode

__all__ = [
    "ButtonEvent",
    "InputEvent",
    "KeyEvent",
    "ModifiersEvent",
    "MotionEvent",
    "PointerEvent",
]


@dataclass(frozen=True)
class KeyEvent:
    """A key went down (``pressed``) or up.  Pause is ``0xE11D45``."""

    scancode: int
    pressed: bool
    client: int = 0


@dataclass(frozen=True)
class PointerEvent:
    """Client mouse mode: the pointer is at ``x, y`` of display channel ``display``'s surface
    (absolute), on its head ``monitor`` (0 unless the channel shows :class:`Heads`)."""

    x: int
    y: int
    buttons: MouseButtonMask
    client: int = 0
    display: int = 0
    monitor: int = 0


@dataclass(frozen=True)
class MotionEvent:
    """Server mouse mode: the pointer moved by ``dx, dy``; ``x, y`` is the server-side
    position after the move, kept inside the frame."""

    dx: int
    dy: int
    x: int
    y: int
    buttons: MouseButtonMask
    client: int = 0


@dataclass(frozen=True)
class ButtonEvent:
    """A mouse button went down (``pressed``) or up at the pointer's last position (on the
    ``display`` and head ``monitor`` of the last :class:`PointerEvent`; 0 in server mode)."""

    button: MouseButton | int
    pressed: bool
    x: int
    y: int
    buttons: MouseButtonMask
    mouse_mode: MouseMode
    client: int = 0
    display: int = 0
    monitor: int = 0


@dataclass(frozen=True)
class ModifiersEvent:
    """The client asked to set the lock keys (Caps, Num, Scroll Lock)."""

    modifiers: KeyboardModifierFlags
    client: int = 0


InputEvent = KeyEvent | PointerEvent | MotionEvent | ButtonEvent | ModifiersEvent
