"""What the clipboard and file transfer need of the agent (so they do not import it)."""

from __future__ import annotations

from typing import Protocol

from spice_proto import AgentCap, AgentClipboardLayout, AgentMessage

from ._events import Event

__all__ = ["AgentPort"]


class AgentPort(Protocol):
    """The agent as its services see it (:class:`~spice_session.Agent` is one)."""

    connected: bool
    max_clipboard: int | None

    @property
    def layout(self) -> AgentClipboardLayout: ...

    def has(self, cap: AgentCap) -> bool: ...

    async def ready(self, timeout: float = 10.0) -> None: ...

    def send(self, message: AgentMessage) -> None: ...

    def emit(self, event: Event) -> object: ...

    async def drained(self, below: int = 0) -> None: ...
