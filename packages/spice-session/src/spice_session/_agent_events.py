"""Events about the guest agent: its presence, its capabilities, clipboard ownership."""

from __future__ import annotations

from spice_proto import AgentClipboardType, AgentSelection, Caps
from spice_proto.lowlevel import frozen

from ._events import Event

__all__ = [
    "AgentConnected",
    "AgentDisconnected",
    "AgentProblem",
    "AgentReady",
    "ClipboardGrabbed",
    "ClipboardReleased",
]


@frozen
class AgentConnected(Event):
    """The guest agent is there (at connect time or later); its capabilities follow."""


@frozen
class AgentDisconnected(Event):
    """The guest agent went away; pending clipboard requests and transfers fail."""


@frozen
class AgentProblem(Event):
    """An agent message that could not be used (skipped), or a broken stream (agent dropped)."""

    reason: str


@frozen
class AgentReady(Event):
    """The agent announced its capabilities: clipboard and monitors config can be used."""

    caps: Caps


@frozen
class ClipboardGrabbed(Event):
    """The guest owns a selection now and offers these types."""

    selection: AgentSelection | int
    types: tuple[AgentClipboardType | int, ...]


@frozen
class ClipboardReleased(Event):
    """The guest gave up a selection."""

    selection: AgentSelection | int
