"""SPICE wire format, sans-I/O.

Constants (generated from the spice-protocol headers), the link stage, data
headers, message bodies of the main, display, inputs and cursor channels, and
a :class:`Connection` state machine that turns bytes into events and back.
Nothing here does I/O; ``spice_net`` moves the bytes.
"""

from ._caps import Caps
from ._enums import *  # noqa: F403 - the generated constants are the public vocabulary
from ._enums import __all__ as _enum_names
from ._errors import ProtocolError
from ._message import (
    Direction,
    Message,
    UnknownMessage,
    decode_message,
    message_class,
    register,
    registered_messages,
)
from ._wire import Reader, Writer

__version__ = "0.1.0"

__all__ = [
    "Caps",
    "Direction",
    "Message",
    "ProtocolError",
    "Reader",
    "UnknownMessage",
    "Writer",
    "__version__",
    "decode_message",
    "message_class",
    "register",
    "registered_messages",
    *_enum_names,
]
