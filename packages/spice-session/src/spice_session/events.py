"""Every event :meth:`spice_session.Session.events` yields, and the stream itself.

Each is a frozen dataclass subclassing :class:`Event`; match them with ``isinstance``.
Message events carry the decoded :mod:`spice_proto` message; the others describe what
the session made of it (damage, streams, cursor, audio, agent).
"""

# Grouped by channel, not by module name:
# isort: skip_file

# --- The stream
from ._events import Event as Event, EventsDropped as EventsDropped
from ._eventstream import (
    MAX_DAMAGE_RECTS as MAX_DAMAGE_RECTS,
    EventStream as EventStream,
    merge_rect as merge_rect,
)

# --- Channels and the session
from ._events import (
    ChannelEnded as ChannelEnded,
    ChannelOpened as ChannelOpened,
    SessionClosed as SessionClosed,
)
from ._migration import (
    MigrationCompleted as MigrationCompleted,
    MigrationFailed as MigrationFailed,
    MigrationStarted as MigrationStarted,
)

# --- One per message received
from ._events import (
    CursorEvent as CursorEvent,
    DisplayEvent as DisplayEvent,
    DrawEvent as DrawEvent,
    InputsEvent as InputsEvent,
    MainEvent as MainEvent,
    MessageEvent as MessageEvent,
    MouseModeChanged as MouseModeChanged,
    SurfaceCreated as SurfaceCreated,
)

# --- The decoded display
from ._events import (
    Damage as Damage,
    DisplayMarked as DisplayMarked,
    DisplayProblem as DisplayProblem,
    DisplayStateEvent as DisplayStateEvent,
    DisplayWasReset as DisplayWasReset,
    MonitorsConfigChanged as MonitorsConfigChanged,
    SurfaceDestroyed as SurfaceDestroyed,
)

# --- Video streams
from ._events import (
    StreamCreated as StreamCreated,
    StreamDestroyed as StreamDestroyed,
    StreamUnsupported as StreamUnsupported,
)

# --- Cursor
from ._cursor import (
    CursorHidden as CursorHidden,
    CursorMoved as CursorMoved,
    CursorProblem as CursorProblem,
    CursorShapeChanged as CursorShapeChanged,
)

# --- Playback and record
from ._playback import (
    AudioChunk as AudioChunk,
    AudioMuted as AudioMuted,
    AudioProblem as AudioProblem,
    AudioVolume as AudioVolume,
    PlaybackLatencyChanged as PlaybackLatencyChanged,
    PlaybackStarted as PlaybackStarted,
    PlaybackStopped as PlaybackStopped,
)
from ._record import RecordStarted as RecordStarted, RecordStopped as RecordStopped

# --- The guest agent and the clipboard
from ._agent_events import (
    AgentConnected as AgentConnected,
    AgentDisconnected as AgentDisconnected,
    AgentProblem as AgentProblem,
    AgentReady as AgentReady,
    ClipboardGrabbed as ClipboardGrabbed,
    ClipboardReleased as ClipboardReleased,
)

from spice_proto.lowlevel import publish as _publish

__all__ = _publish(__name__, globals())
