"""SPICE client library for trio: connect, channels, decoded display, cursor, input and audio.

::

    async with spice_session.connect("spice://127.0.0.1:5900?password=secret") as session:
        await session.inputs.type_text("Hello, World!\\n")
        async for event in session.events():
            if isinstance(event, spice_session.events.SurfaceCreated):
                print(event.message)

Every event :meth:`Session.events` yields is in :mod:`spice_session.events`; what only
someone extending the client needs (channel tables, caches, decoders, keymap tables,
audio codecs) is in :mod:`spice_session.lowlevel`; :mod:`spice_session.sync` is a
blocking API for scripts.
"""

# Grouped by purpose, not by module name:
# isort: skip_file

import typing as _typing_module

# --- Connecting
from ._session import DisplaySettings as DisplaySettings, Session as Session, connect as connect
from ._uri import SpiceURI as SpiceURI, parse_uri as parse_uri
from ._vv import VVFile as VVFile, load_vv as load_vv
from ._reconnect import run_reconnecting as run_reconnecting

# --- What a session holds: screen, cursor, keyboard and mouse, audio, agent, memory
from ._display import Display as Display, Monitor as Monitor
from ._surface import Surface as Surface
from ._video import available_codecs as available_codecs
from ._cursor import CursorImage as CursorImage, CursorState as CursorState
from ._inputs import Inputs as Inputs
from ._playback import Playback as Playback
from ._record import Record as Record
from ._audio import opus_available as opus_available
from ._agent import Agent as Agent, MonitorSpec as MonitorSpec
from ._clipboard import Clipboard as Clipboard
from ._filexfer import FileTransfers as FileTransfers
from ._budget import MemoryBudget as MemoryBudget

# --- Keyboard layouts
from ._layouts import LAYOUTS as LAYOUTS, Layout as Layout, get_layout as get_layout

# --- Driving a session like a person (async; spice_session.sync is the blocking twin)
from ._driver import Driver as Driver
from ._match import Match as Match, Needle as Needle, load_needle as load_needle

# --- Extra channels: USB redirection (imported on first use, see _LAZY) and port
# (spiceport/webdav) channels
from ._port import Port as Port, PortChannels as PortChannels

# --- Sound to send to the guest's microphone
from ._record import (
    ArraySource as ArraySource,
    GeneratorSource as GeneratorSource,
    WavSource as WavSource,
)
from ._audio import tone as tone

# --- Errors (connection errors are spice_net's)
from ._errors import (
    ChannelUnavailable as ChannelUnavailable,
    DisplayError as DisplayError,
    InvalidURI as InvalidURI,
    ScreenshotTimeout as ScreenshotTimeout,
    SessionError as SessionError,
    StreamError as StreamError,
    AgentError as AgentError,
)
from ._budget import BudgetExceeded as BudgetExceeded
from ._cursor import CursorError as CursorError
from ._audio import AudioError as AudioError
from ._layouts import KeyComboError as KeyComboError, LayoutError as LayoutError
from ._match import MatchError as MatchError, NeedleError as NeedleError
from ._driver import OcrUnavailable as OcrUnavailable, TextNotFound as TextNotFound
from ._filexfer import FileTransferError as FileTransferError
from ._port import PortError as PortError

# --- Namespaces
from . import events as events
from . import lowlevel as lowlevel

# --- USB redirection: its modules (and spice_proto.usbredir) load when one of these is first used
if _typing_module.TYPE_CHECKING:
    from ._usb import UsbRedirection as UsbRedirection, UsbRejected as UsbRejected
    from ._usb_storage import usb_cdrom as usb_cdrom, usb_disk as usb_disk
    from ._usbredir import UsbRedirError as UsbRedirError
from spice_proto.lowlevel import lazy_attributes as _lazy_attributes, publish as _publish

_LAZY = {
    "UsbRedirection": "spice_session._usb",
    "UsbRejected": "spice_session._usb",
    "usb_cdrom": "spice_session._usb_storage",
    "usb_disk": "spice_session._usb_storage",
    "UsbRedirError": "spice_session._usbredir",
}

__version__ = "0.1.0"

__all__ = _publish(__name__, globals(), _LAZY)
__getattr__ = _lazy_attributes(__name__, globals(), _LAZY)
