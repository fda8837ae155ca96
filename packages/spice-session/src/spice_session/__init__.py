"""SPICE client library for trio: connect, channels, decoded display, cursor, input and audio.

::

    async with spice_session.connect("spice://127.0.0.1:5900?password=secret") as session:
        await session.inputs.type_text("Hello, World!\\n")
        async for event in session.events():
            if isinstance(event, spice_session.SurfaceCreated):
                print(event.message)
"""

from ._agent import CLIENT_AGENT_CAPS, Agent, AgentError
from ._agent_events import (
    AgentConnected,
    AgentDisconnected,
    AgentProblem,
    AgentReady,
    ClipboardGrabbed,
    ClipboardReleased,
)
from ._audio import (
    AudioError,
    OpusDecoder,
    OpusEncoder,
    RawDecoder,
    RawEncoder,
    opus_available,
    remix,
    resample,
    tone,
)
from ._budget import DEFAULT_MEMORY_BUDGET, BudgetExceeded, MemoryBudget, parse_size
from ._channels import ATTACHED_TYPES, CLIENT_CHANNEL_CAPS, channel_name, channels_to_open
from ._clipboard import Clipboard
from ._cursor import (
    CursorError,
    CursorHidden,
    CursorImage,
    CursorMoved,
    CursorProblem,
    CursorShapeChanged,
    CursorState,
)
from ._display import Display, DisplayChannelState
from ._errors import (
    ChannelUnavailable,
    DisplayError,
    InvalidURI,
    ScreenshotTimeout,
    SessionError,
    StreamError,
)
from ._events import (
    ChannelEnded,
    ChannelOpened,
    CursorEvent,
    Damage,
    DisplayEvent,
    DisplayMarked,
    DisplayProblem,
    DisplayStateEvent,
    DisplayWasReset,
    DrawEvent,
    Event,
    EventsDropped,
    InputsEvent,
    MainEvent,
    MessageEvent,
    MonitorsConfigChanged,
    MouseModeChanged,
    SessionClosed,
    StreamCreated,
    StreamDestroyed,
    StreamUnsupported,
    SurfaceCreated,
    SurfaceDestroyed,
    event_for,
)
from ._eventstream import MAX_DAMAGE_RECTS, EventStream
from ._image_cache import ImageStore, PaletteCache
from ._pixels import Pixels
from ._inputs import Inputs, MotionPacer
from ._filexfer import FileTransferError, FileTransfers
from ._keymap import HID_KEY_NAMES, HID_TO_SET1, PAUSE, PAUSE_E1_SEQUENCE, hid_to_set1
from ._layouts import LAYOUTS, KeyComboError, Layout, LayoutError, get_layout
from ._mediaclock import MediaClock
from ._playback import (
    AudioChunk,
    AudioMuted,
    AudioProblem,
    AudioVolume,
    JitterBuffer,
    Playback,
    PlaybackLatencyChanged,
    PlaybackStarted,
    PlaybackStopped,
    playback_caps,
)
from ._record import (
    ArraySource,
    AudioInput,
    GeneratorSource,
    Record,
    Recorder,
    RecordStarted,
    RecordStopped,
    WavSource,
    record_caps,
)
from ._session import DEFAULT_TIMEOUT, MIN_MEMORY_BUDGET, DisplaySettings, Session, connect
from ._streams import StreamManager
from ._surface import Surface
from ._uri import SpiceURI, parse_uri, redact_uri
from ._video import available_codecs

__version__ = "0.1.0"

__all__ = [
    "ATTACHED_TYPES",
    "CLIENT_AGENT_CAPS",
    "CLIENT_CHANNEL_CAPS",
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_TIMEOUT",
    "HID_KEY_NAMES",
    "HID_TO_SET1",
    "LAYOUTS",
    "MAX_DAMAGE_RECTS",
    "MIN_MEMORY_BUDGET",
    "PAUSE",
    "PAUSE_E1_SEQUENCE",
    "Agent",
    "AgentConnected",
    "AgentDisconnected",
    "AgentError",
    "AgentProblem",
    "AgentReady",
    "ArraySource",
    "AudioChunk",
    "AudioError",
    "AudioInput",
    "AudioMuted",
    "AudioProblem",
    "AudioVolume",
    "BudgetExceeded",
    "ChannelEnded",
    "ChannelOpened",
    "ChannelUnavailable",
    "Clipboard",
    "ClipboardGrabbed",
    "ClipboardReleased",
    "CursorError",
    "CursorEvent",
    "CursorHidden",
    "CursorImage",
    "CursorMoved",
    "CursorProblem",
    "CursorShapeChanged",
    "CursorState",
    "Damage",
    "Display",
    "DisplayChannelState",
    "DisplayError",
    "DisplayEvent",
    "DisplayMarked",
    "DisplayProblem",
    "DisplaySettings",
    "DisplayStateEvent",
    "DisplayWasReset",
    "DrawEvent",
    "Event",
    "EventStream",
    "EventsDropped",
    "FileTransferError",
    "FileTransfers",
    "GeneratorSource",
    "ImageStore",
    "Inputs",
    "InputsEvent",
    "InvalidURI",
    "JitterBuffer",
    "KeyComboError",
    "Layout",
    "LayoutError",
    "MainEvent",
    "MediaClock",
    "MemoryBudget",
    "MessageEvent",
    "MonitorsConfigChanged",
    "MotionPacer",
    "MouseModeChanged",
    "OpusDecoder",
    "OpusEncoder",
    "PaletteCache",
    "Pixels",
    "Playback",
    "PlaybackLatencyChanged",
    "PlaybackStarted",
    "PlaybackStopped",
    "RawDecoder",
    "RawEncoder",
    "Record",
    "RecordStarted",
    "RecordStopped",
    "Recorder",
    "ScreenshotTimeout",
    "Session",
    "SessionClosed",
    "SessionError",
    "SpiceURI",
    "StreamCreated",
    "StreamDestroyed",
    "StreamError",
    "StreamManager",
    "StreamUnsupported",
    "Surface",
    "SurfaceCreated",
    "SurfaceDestroyed",
    "WavSource",
    "__version__",
    "available_codecs",
    "channel_name",
    "channels_to_open",
    "connect",
    "event_for",
    "get_layout",
    "hid_to_set1",
    "opus_available",
    "parse_size",
    "parse_uri",
    "playback_caps",
    "record_caps",
    "redact_uri",
    "remix",
    "resample",
    "tone",
]
