"""What :meth:`Session.events` yields: typed events carrying decoded spice_proto messages."""

from __future__ import annotations

from dataclasses import field

import numpy as np
import numpy.typing as npt
from spice_proto import (
    Caps,
    ChannelType,
    DisplayMsg,
    Head,
    MainMsg,
    Message,
    Rect,
    UnknownMessage,
    VideoCodecType,
)
from spice_proto.lowlevel import frozen

from ._errors import DisplayError
from ._surface import Surface

__all__ = [
    "ChannelEnded",
    "ChannelOpened",
    "CursorEvent",
    "Damage",
    "DisplayEvent",
    "DisplayMarked",
    "DisplayProblem",
    "DisplayStateEvent",
    "DisplayWasReset",
    "DrawEvent",
    "Event",
    "EventsDropped",
    "InputsEvent",
    "MainEvent",
    "MessageEvent",
    "MonitorsConfigChanged",
    "MouseModeChanged",
    "SessionClosed",
    "StreamCreated",
    "StreamDestroyed",
    "StreamUnsupported",
    "SurfaceCreated",
    "SurfaceDestroyed",
    "event_class",
    "event_for",
]


@frozen
class Event:
    """Base class of every session event."""


@frozen
class ChannelOpened(Event):
    """A channel finished its link; the server's capabilities for it."""

    channel_type: ChannelType | int
    channel_id: int
    common_caps: Caps
    channel_caps: Caps


@frozen
class ChannelEnded(Event):
    """The server closed a display, inputs or cursor channel (the session goes on)."""

    channel_type: ChannelType | int
    channel_id: int


@frozen
class SessionClosed(Event):
    """The server closed the main channel: the session is over."""

    reason: str


@frozen
class EventsDropped(Event):
    """The event stream overflowed: ``count`` events were left out, ``kinds`` says which.

    ``kinds`` holds (event class name, how many) pairs.  Damage is never dropped (it is
    merged, see :meth:`Session.events`); what was dropped can be read back from the
    session's state: ``session.display``, ``session.cursor``, ``session.mouse_mode``.
    """

    count: int
    kinds: tuple[tuple[str, int], ...] = ()


@frozen
class MessageEvent(Event):
    """A message received on a channel."""

    channel_type: ChannelType | int
    channel_id: int
    message: Message | UnknownMessage


@frozen
class MainEvent(MessageEvent):
    """A message on the main channel."""


@frozen
class MouseModeChanged(MainEvent):
    """MAIN_MOUSE_MODE: the supported and current mouse modes changed."""


@frozen
class DisplayEvent(MessageEvent):
    """A message on a display channel (surfaces, streams, drawing, monitors)."""


@frozen
class SurfaceCreated(DisplayEvent):
    """DISPLAY_SURFACE_CREATE; ``surface`` is the new, live :class:`~spice_session.Surface`."""

    surface: Surface | None = None


@frozen
class DrawEvent(DisplayEvent):
    """One of the DISPLAY_DRAW_* messages."""


@frozen
class DisplayStateEvent(Event):
    """Base of the events about the decoded display state (not one per message)."""


@frozen
class SurfaceDestroyed(DisplayStateEvent):
    """A surface is gone (SURFACE_DESTROY or RESET)."""

    surface_id: int
    channel_id: int = 0


@frozen
class Damage(DisplayStateEvent):
    """Pixels of a surface inside ``rect`` changed (already clipped to the surface).

    A video stream frame's damage carries its ``mm_time`` (media time, ms), when it is meant
    to be seen (with the sound stamped on the same clock); ``None`` for everything else.
    When such a frame went onto the surface as decoded (not scaled, flipped or clipped),
    ``pixels`` is that frame, read-only: exactly what ``rect`` holds now, as (height, width,
    4) B, G, R, X, for a player that shows it later to keep without a copy.
    """

    surface_id: int
    rect: Rect
    channel_id: int = 0
    mm_time: int | None = field(default=None, compare=False)
    pixels: npt.NDArray[np.uint8] | None = field(default=None, compare=False, repr=False)


_new = object.__new__
_set = object.__setattr__


def damage(surface_id: int, rect: Rect, channel_id: int) -> Damage:
    """``Damage(surface_id, rect, channel_id)`` without the frozen dataclass's ``__init__``
    (one attribute call per field): the display handler makes one per draw command."""
    event = _new(Damage)
    fields = {
        "surface_id": surface_id,
        "rect": rect,
        "channel_id": channel_id,
        "mm_time": None,
        "pixels": None,
    }
    _set(event, "__dict__", fields)
    return event


@frozen
class DisplayMarked(DisplayStateEvent):
    """MARK: the server finished drawing the first complete picture of the primary surface."""

    channel_id: int = 0


@frozen
class DisplayWasReset(DisplayStateEvent):
    """RESET: every surface and cache of the channel was dropped."""

    channel_id: int = 0


@frozen
class MonitorsConfigChanged(DisplayStateEvent):
    """MONITORS_CONFIG: which areas of which surfaces are the monitors."""

    heads: tuple[Head, ...]
    max_allowed: int = 0
    channel_id: int = 0


@frozen
class DisplayProblem(DisplayStateEvent):
    """A display command that could not be drawn and was skipped (also logged)."""

    error: DisplayError
    channel_id: int = 0


@frozen
class StreamCreated(DisplayStateEvent):
    """STREAM_CREATE for a codec we decode: frames of ``width`` x ``height`` go to ``dest``."""

    stream_id: int
    surface_id: int
    codec: VideoCodecType | int
    width: int
    height: int
    dest: Rect
    channel_id: int = 0


@frozen
class StreamDestroyed(DisplayStateEvent):
    """A stream ended (STREAM_DESTROY, STREAM_DESTROY_ALL); ``frames`` were drawn from it."""

    stream_id: int
    frames: int
    channel_id: int = 0


@frozen
class StreamUnsupported(DisplayStateEvent):
    """STREAM_CREATE with a codec this client cannot decode; its frames are ignored."""

    stream_id: int
    codec: VideoCodecType | int
    reason: str
    channel_id: int = 0


@frozen
class CursorEvent(MessageEvent):
    """A message on the cursor channel."""


@frozen
class InputsEvent(MessageEvent):
    """A message on the inputs channel (INIT, KEY_MODIFIERS, MOUSE_MOTION_ACK)."""


_DRAW_TYPES = frozenset(int(m) for m in DisplayMsg if m.name.startswith("DRAW_"))


def event_for(
    channel_type: ChannelType | int, channel_id: int, message: Message | UnknownMessage
) -> MessageEvent:
    """The event of the most specific class for a message received on a channel."""
    return event_class(channel_type, int(message.type))(channel_type, channel_id, message)


def event_class(channel_type: ChannelType | int, msg_type: int) -> type[MessageEvent]:
    """The most specific event class for a message of ``msg_type`` on a channel of ``channel_type``."""
    cls: type[MessageEvent]
    if channel_type == ChannelType.MAIN:
        cls = MouseModeChanged if msg_type == MainMsg.MOUSE_MODE else MainEvent
    elif channel_type == ChannelType.DISPLAY:
        if msg_type == DisplayMsg.SURFACE_CREATE:
            cls = SurfaceCreated
        elif msg_type in _DRAW_TYPES:
            cls = DrawEvent
        else:
            cls = DisplayEvent
    elif channel_type == ChannelType.CURSOR:
        cls = CursorEvent
    elif channel_type == ChannelType.INPUTS:
        cls = InputsEvent
    else:
        cls = MessageEvent
    return cls
