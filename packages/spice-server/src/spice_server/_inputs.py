"""The inputs channel, sans-I/O: client messages in, events and replies out."""

from __future__ import annotations

from collections.abc import Callable

from spice_proto import (
    INPUT_MOTION_ACK_BUNCH,
    InputsClientKeyModifiers,
    InputsKeyDown,
    InputsKeyModifiers,
    InputsKeyScancode,
    InputsKeyUp,
    InputsMouseMotion,
    InputsMouseMotionAck,
    InputsMousePosition,
    InputsMousePress,
    InputsMouseRelease,
    KeyboardModifierFlags,
    Message,
    MouseButtonMask,
    MouseMode,
    UnknownMessage,
)

from ._events import ButtonEvent, InputEvent, KeyEvent, ModifiersEvent, MotionEvent, PointerEvent

__all__ = ["InputsState", "ScancodeParser"]

#: Set-1 codes of the lock keys and the LED each toggles.
_LOCK_LEDS = {
    0x3A: KeyboardModifierFlags.CAPS_LOCK,
    0x45: KeyboardModifierFlags.NUM_LOCK,
    0x46: KeyboardModifierFlags.SCROLL_LOCK,
}


class ScancodeParser:
    """Set-1 scancode bytes -> (make code, pressed) pairs, handling the E0 and E1 prefixes."""

    def __init__(self) -> None:
        self._prefix: list[int] = []

    def feed(self, data: bytes) -> list[tuple[int, bool]]:
        out: list[tuple[int, bool]] = []
        for byte in data:
            if self._prefix and self._prefix[0] == 0xE1:
                self._prefix.append(byte)
                if len(self._prefix) == 3:
                    # Pause: E1 1D 45 (make) / E1 9D C5 (break).
                    pressed = not self._prefix[1] & 0x80
                    self._prefix = []
                    out.append((0xE11D45, pressed))
                continue
            if byte in (0xE0, 0xE1):
                self._prefix = [byte]
                continue
            code = byte & 0x7F
            if not code:
                self._prefix = []
                continue
            if self._prefix:
                code |= 0xE000
                self._prefix = []
            out.append((code, not byte & 0x80))
        return out


def _code_bytes(code: int) -> bytes:
    """The scancode bytes of a KEY_DOWN / KEY_UP u32: little-endian, up to the first zero byte."""
    raw = code.to_bytes(4, "little")
    end = raw.find(0)
    return raw if end < 0 else raw[:end]


class InputsState:
    """One client's inputs channel: pointer position, buttons, mouse-motion acknowledgements."""

    def __init__(
        self,
        client: int,
        mouse_mode: Callable[[], MouseMode],
        bounds: Callable[[], tuple[int, int]],
        head_at: Callable[[int, int, int], int] = lambda display, x, y: 0,
    ):
        self.client = client
        self._mouse_mode = mouse_mode
        self._bounds = bounds
        #: (display, x, y) -> the head of that display the point is on.
        self._head_at = head_at
        self.x = 0
        self.y = 0
        #: The display channel and head the pointer was last on (client mouse mode).
        self.display = 0
        self.monitor = 0
        self.buttons = MouseButtonMask(0)
        self._motions = 0
        self._keys = ScancodeParser()
        #: The lock LEDs of this client's keyboard: lock keys toggle them, each change is reported.
        self.leds = KeyboardModifierFlags(0)

    def _led_reports(self, events: list[KeyEvent]) -> list[Message]:
        """Caps/Num/Scroll Lock presses toggle the LEDs; a change is sent as KEY_MODIFIERS (as QEMU does)."""
        before = self.leds
        for event in events:
            if event.pressed and event.scancode in _LOCK_LEDS:
                self.leds ^= _LOCK_LEDS[event.scancode]
        return [InputsKeyModifiers(self.leds)] if self.leds != before else []

    def _motion_ack(self) -> list[Message]:
        self._motions += 1
        if self._motions % INPUT_MOTION_ACK_BUNCH == 0:
            return [InputsMouseMotionAck()]
        return []

    def handle(self, message: Message | UnknownMessage) -> tuple[list[InputEvent], list[Message]]:
        """Events for the application and replies for the client, for one message."""
        c = self.client
        if isinstance(message, InputsKeyDown | InputsKeyUp):
            pairs = ScancodeParser().feed(_code_bytes(message.code))
            keys = [KeyEvent(code, pressed, c) for code, pressed in pairs]
            return list(keys), self._led_reports(keys)
        if isinstance(message, InputsKeyScancode):
            keys = [KeyEvent(code, pressed, c) for code, pressed in self._keys.feed(message.data)]
            return list(keys), self._led_reports(keys)
        if isinstance(message, InputsMousePosition):
            self.x, self.y = message.x, message.y
            self.buttons = MouseButtonMask(message.buttons_state)
            self.display = message.display_id
            self.monitor = self._head_at(message.display_id, message.x, message.y)
            event = PointerEvent(message.x, message.y, self.buttons, c, self.display, self.monitor)
            return [event], self._motion_ack()
        if isinstance(message, InputsMouseMotion):
            width, height = self._bounds()
            self.x = min(max(0, self.x + message.dx), width - 1)
            self.y = min(max(0, self.y + message.dy), height - 1)
            self.buttons = MouseButtonMask(message.buttons_state)
            event2 = MotionEvent(message.dx, message.dy, self.x, self.y, self.buttons, c)
            return [event2], self._motion_ack()
        if isinstance(message, InputsMousePress | InputsMouseRelease):
            pressed = isinstance(message, InputsMousePress)
            self.buttons = MouseButtonMask(message.buttons_state)
            mode = self._mouse_mode()
            where = (self.display, self.monitor) if mode == MouseMode.CLIENT else (0, 0)
            event3 = ButtonEvent(message.button, pressed, self.x, self.y, self.buttons, mode, c, *where)
            return [event3], []
        if isinstance(message, InputsClientKeyModifiers):
            self.leds = KeyboardModifierFlags(int(message.modifiers) & 0x7)
            return [ModifiersEvent(message.modifiers, c)], []
        return [], []
