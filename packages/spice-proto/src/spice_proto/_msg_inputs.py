"""Message bodies of the inputs channel: keyboard and mouse, both directions.

Layouts follow spice-protocol's ``protocol.h`` (``SpiceMsgcKeyDown`` etc.) and
the ``InputsChannel`` section of spice-common's ``spice.proto``: key codes are
u32, modifier and button masks u16, buttons u8.  The scancode helpers and the
US key table live in :mod:`._keys` and are re-exported from here.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from ._enums import ChannelType, InputsMsg, InputsMsgc, KeyboardModifierFlags, MouseButton, MouseButtonMask
from ._field_codecs import I32, U8, U32, bit_flags, lenient
from ._frozen import frozen
from ._keys import KEY_NAMES, US_KEYMAP, key_code, scancode_bytes, scancode_down, scancode_up
from ._message import Direction, Message, register
from ._msg_main import _Data

__all__ = [
    "KEY_NAMES",
    "US_KEYMAP",
    "InputsClientKeyModifiers",
    "InputsInit",
    "InputsKeyDown",
    "InputsKeyModifiers",
    "InputsKeyScancode",
    "InputsKeyUp",
    "InputsMouseMotion",
    "InputsMouseMotionAck",
    "InputsMousePosition",
    "InputsMousePress",
    "InputsMouseRelease",
    "key_code",
    "key_press",
    "key_release",
    "scancode_bytes",
    "scancode_down",
    "scancode_up",
    "type_text",
]

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER
_NO_BUTTONS = MouseButtonMask(0)
_MODIFIERS = bit_flags("H", KeyboardModifierFlags)
_BUTTONS = bit_flags("H", MouseButtonMask)
_BUTTON = lenient("B", MouseButton)


@frozen
class _ToClient(Message):
    """An inputs channel message from the server."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.INPUTS
    DIRECTION: ClassVar[Direction] = Direction.SERVER_TO_CLIENT


@frozen
class _ToServer(Message):
    """An inputs channel message from the client."""

    CHANNEL: ClassVar[ChannelType | None] = ChannelType.INPUTS
    DIRECTION: ClassVar[Direction] = Direction.CLIENT_TO_SERVER


# --------------------------------------------------------------------------- server -> client


@register
@frozen
class InputsInit(_ToClient):
    """SPICE_MSG_INPUTS_INIT: the guest's lock-key state (u16 :class:`KeyboardModifierFlags`)."""

    TYPE = InputsMsg.INIT

    keyboard_modifiers: Annotated[KeyboardModifierFlags, _MODIFIERS]


@register
@frozen
class InputsKeyModifiers(_ToClient):
    """SPICE_MSG_INPUTS_KEY_MODIFIERS: the guest's lock keys changed (u16)."""

    TYPE = InputsMsg.KEY_MODIFIERS

    modifiers: Annotated[KeyboardModifierFlags, _MODIFIERS]


@register
@frozen
class InputsMouseMotionAck(_ToClient):
    """SPICE_MSG_INPUTS_MOUSE_MOTION_ACK: sent after every 4 (INPUT_MOTION_ACK_BUNCH) motions."""

    TYPE = InputsMsg.MOUSE_MOTION_ACK


# --------------------------------------------------------------------------- client -> server


@register
@frozen
class InputsKeyDown(_ToServer):
    """SPICE_MSGC_INPUTS_KEY_DOWN: u32 code from :func:`scancode_down`."""

    TYPE = InputsMsgc.KEY_DOWN

    code: Annotated[int, U32]


@register
@frozen
class InputsKeyUp(_ToServer):
    """SPICE_MSGC_INPUTS_KEY_UP: u32 code from :func:`scancode_up`."""

    TYPE = InputsMsgc.KEY_UP

    code: Annotated[int, U32]


@register
@frozen
class InputsClientKeyModifiers(_ToServer):
    """SPICE_MSGC_INPUTS_KEY_MODIFIERS: set the guest's lock keys (u16)."""

    TYPE = InputsMsgc.KEY_MODIFIERS

    modifiers: Annotated[KeyboardModifierFlags, _MODIFIERS]


@register
@frozen
class InputsKeyScancode(_Data):
    """SPICE_MSGC_INPUTS_KEY_SCANCODE: raw scancode bytes, e.g. a press and its release at once.

    Only for servers advertising ``InputsCap.KEY_SCANCODE``; build ``data`` with
    :func:`scancode_bytes`.
    """

    TYPE = InputsMsgc.KEY_SCANCODE
    CHANNEL = ChannelType.INPUTS
    DIRECTION = _C2S


@register
@frozen
class InputsMouseMotion(_ToServer):
    """SPICE_MSGC_INPUTS_MOUSE_MOTION (server mouse mode): i32 dx, i32 dy, u16 buttons."""

    TYPE = InputsMsgc.MOUSE_MOTION

    dx: Annotated[int, I32]
    dy: Annotated[int, I32]
    buttons_state: Annotated[MouseButtonMask, _BUTTONS] = _NO_BUTTONS


@register
@frozen
class InputsMousePosition(_ToServer):
    """SPICE_MSGC_INPUTS_MOUSE_POSITION (client mouse mode): u32 x, u32 y, u16 buttons, u8 display."""

    TYPE = InputsMsgc.MOUSE_POSITION

    x: Annotated[int, U32]
    y: Annotated[int, U32]
    buttons_state: Annotated[MouseButtonMask, _BUTTONS] = _NO_BUTTONS
    display_id: Annotated[int, U8] = 0


@register
@frozen
class InputsMousePress(_ToServer):
    """SPICE_MSGC_INPUTS_MOUSE_PRESS: u8 button, u16 buttons held after the press."""

    TYPE = InputsMsgc.MOUSE_PRESS

    button: Annotated[MouseButton | int, _BUTTON]
    buttons_state: Annotated[MouseButtonMask, _BUTTONS] = _NO_BUTTONS


@register
@frozen
class InputsMouseRelease(_ToServer):
    """SPICE_MSGC_INPUTS_MOUSE_RELEASE: u8 button, u16 buttons still held after the release."""

    TYPE = InputsMsgc.MOUSE_RELEASE

    button: Annotated[MouseButton | int, _BUTTON]
    buttons_state: Annotated[MouseButtonMask, _BUTTONS] = _NO_BUTTONS


# --------------------------------------------------------------------------- typing helpers


def key_press(sc: int) -> InputsKeyDown:
    """KEY_DOWN for set-1 key ``sc`` (``0xE0xx`` for extended keys), e.g. ``key_press(key_code("Left"))``."""
    return InputsKeyDown(scancode_down(sc))


def key_release(sc: int) -> InputsKeyUp:
    """KEY_UP for set-1 key ``sc``."""
    return InputsKeyUp(scancode_up(sc))


def type_text(text: str) -> list[InputsKeyDown | InputsKeyUp]:
    """The key presses and releases that type ``text`` on a guest with a US layout.

    Shifted characters are wrapped in Left Shift down/up.  A character the US
    table does not have raises ValueError naming it and its index.
    """
    shift = KEY_NAMES["Shift_L"]
    out: list[InputsKeyDown | InputsKeyUp] = []
    for index, char in enumerate(text):
        try:
            sc, shifted = US_KEYMAP[char]
        except KeyError:
            raise ValueError(f"no US key types {char!r} (index {index} of the text)") from None
        if shifted:
            out.append(key_press(shift))
        out += (key_press(sc), key_release(sc))
        if shifted:
            out.append(key_release(shift))
    return out
