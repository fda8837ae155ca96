"""SPICE wire format, sans-I/O.

Constants (generated from the spice-protocol headers), the link stage, data
headers, message bodies of the main, display, inputs, cursor, playback and record channels, and
a :class:`Connection` state machine that turns bytes into events and back.
Nothing here does I/O; ``spice_net`` moves the bytes.
"""

# Each module below owns one part of the protocol and lists its public names in its own
# __all__; this package re-exports them all.  Importing a message module registers its
# message classes with the decoder registry.
from . import (
    _agent,
    _connection,
    _display_draw,
    _display_images,
    _display_stream,
    _display_types,
    _header,
    _link,
    _msg_audio,
    _msg_common,
    _msg_cursor,
    _msg_display,
    _msg_inputs,
    _msg_main,
)
from ._agent import *  # noqa: F403
from ._caps import Caps
from ._connection import *  # noqa: F403
from ._display_draw import *  # noqa: F403
from ._display_images import *  # noqa: F403
from ._display_stream import *  # noqa: F403
from ._display_types import *  # noqa: F403
from ._enums import *  # noqa: F403 - the generated constants are the public vocabulary
from ._enums import __all__ as _enum_names
from ._errors import ProtocolError
from ._header import *  # noqa: F403
from ._link import *  # noqa: F403
from ._message import (
    Direction,
    Message,
    UnknownMessage,
    decode_message,
    message_class,
    register,
    registered_messages,
)
from ._msg_audio import *  # noqa: F403
from ._msg_common import *  # noqa: F403
from ._msg_cursor import *  # noqa: F403
from ._msg_display import *  # noqa: F403
from ._msg_inputs import *  # noqa: F403
from ._msg_main import *  # noqa: F403
from ._wire import Payload, Reader, Writer

__version__ = "0.1.0"

__all__ = [
    "Caps",
    "Direction",
    "Message",
    "Payload",
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
    *_agent.__all__,
    *_connection.__all__,
    *_display_draw.__all__,
    *_display_images.__all__,
    *_display_stream.__all__,
    *_display_types.__all__,
    *_header.__all__,
    *_link.__all__,
    *_msg_audio.__all__,
    *_msg_common.__all__,
    *_msg_cursor.__all__,
    *_msg_display.__all__,
    *_msg_inputs.__all__,
    *_msg_main.__all__,
]
