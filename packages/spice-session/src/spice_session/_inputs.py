"""Keyboard and mouse input over the inputs channel."""

from __future__ import annotations

from typing import Protocol

import trio
from spice_proto import (
    InputsInit,
    InputsKeyModifiers,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    KeyboardModifierFlags,
    Message,
    MouseButton,
    MouseButtonMask,
    UnknownMessage,
    key_code,
    key_press,
    key_release,
    type_text,
)

__all__ = ["MOTION_ACK_BUNCH", "Inputs"]

#: The server acknowledges relative motions in bunches of this many (SPICE_INPUT_MOTION_ACK_BUNCH).
MOTION_ACK_BUNCH = 4
#: Unacknowledged motion bunches we allow before waiting (as spice-gtk does, the pointer lags otherwise).
_MAX_UNACKED = 2 * MOTION_ACK_BUNCH

_BUTTON_MASKS = {
    MouseButton.LEFT: MouseButtonMask.LEFT,
    MouseButton.MIDDLE: MouseButtonMask.MIDDLE,
    MouseButton.RIGHT: MouseButtonMask.RIGHT,
}


class _Sender(Protocol):
    async def send(self, message: Message) -> object: ...


class Inputs:
    """Send keys and mouse events; track the modifier LEDs and motion acknowledgements.

    Key codes are set-1 make codes (``0x1E`` for A, ``0xE04B`` for the left arrow,
    see :data:`spice_proto.KEY_NAMES`); the byte order on the wire is handled here.
    """

    def __init__(self, channel: _Sender, channel_id: int = 0) -> None:
        self._channel = channel
        self.channel_id = channel_id
        self.modifiers = KeyboardModifierFlags(0)
        self.buttons = MouseButtonMask(0)
        self._unacked_motions = 0
        self._acked = trio.Event()
        self._lock = trio.Lock()

    # --------------------------------------------------------------- keyboard
    async def key_down(self, code: int) -> None:
        """Press key ``code`` (a set-1 make code, ``0xE0xx`` for extended keys)."""
        await self._send(key_press(code))

    async def key_up(self, code: int) -> None:
        """Release key ``code``."""
        await self._send(key_release(code))

    async def press_key(self, name: str) -> None:
        """Press and release a named key (``"Return"``, ``"Left"``, ``"F5"``, ``"a"``...)."""
        code = key_code(name)
        await self.key_down(code)
        await self.key_up(code)

    async def type_text(self, text: str) -> None:
        """Type ``text`` as a US keyboard would (Shift for shifted characters, ``\\n`` as Return)."""
        messages = type_text(text)  # validates the whole text before sending anything
        for message in messages:
            await self._send(message)

    # ------------------------------------------------------------------ mouse
    async def mouse_position(self, x: int, y: int, display_id: int = 0) -> None:
        """Absolute pointer position (client mouse mode)."""
        await self._send(InputsMousePosition(x, y, self.buttons, display_id))

    async def mouse_motion(self, dx: int, dy: int) -> None:
        """Relative pointer motion (server mouse mode); waits while too many motions are unacknowledged."""
        while self._unacked_motions >= _MAX_UNACKED:
            await self._acked.wait()
        self._unacked_motions += 1
        await self._send(InputsMouseMotion(dx, dy, self.buttons))

    async def mouse_press(self, button: MouseButton = MouseButton.LEFT) -> None:
        self.buttons |= _BUTTON_MASKS.get(button, MouseButtonMask(0))
        await self._send(InputsMousePress(button, self.buttons))

    async def mouse_release(self, button: MouseButton = MouseButton.LEFT) -> None:
        self.buttons &= ~_BUTTON_MASKS.get(button, MouseButtonMask(0))
        await self._send(InputsMouseRelease(button, self.buttons))

    async def click(self, button: MouseButton = MouseButton.LEFT) -> None:
        await self.mouse_press(button)
        await self.mouse_release(button)

    # --------------------------------------------------------------- internal
    async def _send(self, message: Message) -> None:
        async with self._lock:  # keep each press/release pair in order across tasks
            await self._channel.send(message)

    def handle(self, message: Message | UnknownMessage) -> None:
        """Update state from a message received on the inputs channel."""
        if isinstance(message, InputsInit):
            self.modifiers = message.keyboard_modifiers
        elif isinstance(message, InputsKeyModifiers):
            self.modifiers = message.modifiers
        elif isinstance(message, InputsMouseMotionAck):
            self._unacked_motions = max(0, self._unacked_motions - MOTION_ACK_BUNCH)
            self._acked.set()
            self._acked = trio.Event()
