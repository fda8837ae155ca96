"""The guest agent from the client side: AGENT_START, tokens both ways, capabilities, monitors.

:class:`Agent` is fed every main-channel message by the session's main reader
(:meth:`Agent.handle`, never blocking) and its :meth:`Agent.run` task is the only one
that sends agent traffic: AGENT_START when the agent appears, token returns, and queued
chunks as far as the server's tokens allow.  A server that stops granting tokens stalls
only this queue; the main channel goes on being read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import trio
from spice_net import Channel, ChannelClosed
from spice_proto import (
    AgentAnnounceCapabilities,
    AgentCap,
    AgentClipboardLayout,
    AgentDisplayConfig,
    AgentDisplayConfigFlags,
    AgentLink,
    AgentMaxClipboard,
    AgentMessage,
    AgentMessageType,
    AgentMonConfig,
    AgentMonitorsConfig,
    AgentMonitorsFlags,
    AgentReply,
    Caps,
    MainAgentConnected,
    MainAgentConnectedTokens,
    MainAgentData,
    MainAgentDisconnected,
    MainAgentStart,
    MainAgentToken,
    MainClientAgentData,
    MainClientAgentToken,
    Message,
    ProtocolError,
    UnknownMessage,
)

from ._agent_events import AgentConnected, AgentDisconnected, AgentProblem, AgentReady
from ._clipboard import Clipboard
from ._errors import AgentError
from ._filexfer import FileTransfers

if TYPE_CHECKING:
    from ._events import Event

__all__ = ["CLIENT_AGENT_CAPS", "Agent", "AgentError", "MonitorSpec"]

#: What we tell the agent we understand.
CLIENT_AGENT_CAPS = Caps.of(
    AgentCap.MONITORS_CONFIG,
    AgentCap.REPLY,
    AgentCap.CLIPBOARD,
    AgentCap.DISPLAY_CONFIG,
    AgentCap.CLIPBOARD_BY_DEMAND,
    AgentCap.CLIPBOARD_SELECTION,
    AgentCap.SPARSE_MONITORS_CONFIG,
    AgentCap.MAX_CLIPBOARD,
    AgentCap.MONITORS_CONFIG_POSITION,
    AgentCap.FILE_XFER_DETAILED_ERRORS,
    AgentCap.CLIPBOARD_NO_RELEASE_ON_REGRAB,
    AgentCap.CLIPBOARD_GRAB_SERIAL,
)
#: AGENT_DATA messages the server may have in flight to us.
RECEIVE_WINDOW = 10
#: The largest agent message we reassemble (a clipboard image, say).
MAX_AGENT_MESSAGE = 64 << 20

#: A monitor: ``(width, height)``, ``(width, height, x, y)`` or an AgentMonConfig.
MonitorSpec = tuple[int, int] | tuple[int, int, int, int] | AgentMonConfig


class Agent:
    """The guest agent as the client sees it (``session.agent``).

    ``connected``: the server says an agent is there; ``caps``: what it announced
    (``None`` until it did).  ``clipboard`` and ``files`` are the two services on it.
    """

    def __init__(self, main: Channel, connected: bool, tokens: int, put: Callable[[Event], object]) -> None:
        self._main = main
        self.emit = put
        self.link = AgentLink(RECEIVE_WINDOW, MAX_AGENT_MESSAGE)
        self.connected = connected
        self.caps: Caps | None = None
        #: The largest clipboard the agent accepts (MAX_CLIPBOARD; None: no limit said).
        self.max_clipboard: int | None = None
        #: The monitor layout last accepted by the agent (a reconnected session asks for it again).
        self.requested_monitors: tuple[AgentMonConfig, ...] | None = None
        self._init_tokens = tokens
        self._start: int | None = tokens if connected else None
        self._wake = trio.Event()
        self._progress = trio.Event()
        self._changed = trio.Event()
        self._replies: dict[int, list[tuple[trio.Event, list[AgentReply]]]] = {}
        self.clipboard: Clipboard = Clipboard(self)
        self.files: FileTransfers = FileTransfers(self)

    def rebind(self, main: Channel) -> None:
        """Talk to the agent through ``main`` from now on (a seamless migration's switched main channel)."""
        self._main = main

    # ------------------------------------------------------------------ state
    @property
    def layout(self) -> AgentClipboardLayout:
        return AgentClipboardLayout.negotiated(CLIENT_AGENT_CAPS, self.caps or Caps())

    def has(self, cap: AgentCap) -> bool:
        """Whether the agent announced ``cap``."""
        return self.caps is not None and cap in self.caps

    async def ready(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout`` s) for a connected agent that announced its capabilities.

        AgentError when there is none by then (``connected`` says whether the server has one).
        """
        with trio.move_on_after(timeout):
            while self.caps is None:
                await self._changed.wait()
        if self.caps is None:
            state = "announced no capabilities" if self.connected else "is not connected"
            raise AgentError(f"the guest agent {state} after {timeout:g} s")

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def send(self, message: AgentMessage) -> None:
        """Queue one agent message (sent as tokens allow)."""
        if not self.connected:
            raise AgentError("no guest agent is connected")
        self.link.queue(message)
        self._wake.set()

    async def drained(self, below: int = 0) -> None:
        """Wait until at most ``below`` chunks are queued (AgentError if the agent goes)."""
        while self.link.queued > below:
            if not self.connected:
                raise AgentError("the guest agent went away")
            await self._progress.wait()
        if not self.connected:
            raise AgentError("the guest agent went away")

    # --------------------------------------------------------------- requests
    async def set_monitors(self, monitors: Sequence[MonitorSpec], *, timeout: float = 10.0) -> None:
        """Ask the guest for this monitor layout (MONITORS_CONFIG); returns on the agent's reply.

        Monitors without a position are placed left to right.  AgentError if the agent
        lacks MONITORS_CONFIG, answers with an error, or does not answer in ``timeout``.
        """
        if not monitors:
            raise ValueError("at least one monitor")
        await self.ready(timeout)
        if not self.has(AgentCap.MONITORS_CONFIG):
            raise AgentError("the guest agent does not take monitor configs")
        placed: list[AgentMonConfig] = []
        x = 0
        for spec in monitors:
            if isinstance(spec, AgentMonConfig):
                mon = spec
            elif len(spec) == 4:
                mon = AgentMonConfig(spec[0], spec[1], 32, spec[2], spec[3])
            else:
                mon = AgentMonConfig(spec[0], spec[1], 32, x, 0)
            if not (0 <= mon.width <= 16384 and 0 <= mon.height <= 16384):
                raise ValueError(f"monitor size {mon.width}x{mon.height} out of range")
            x = max(x, mon.x + mon.width)
            placed.append(mon)
        await self._request(AgentMonitorsConfig(tuple(placed), AgentMonitorsFlags.USE_POS).message(), timeout)
        self.requested_monitors = tuple(placed)

    async def set_display_config(
        self, flags: AgentDisplayConfigFlags, depth: int = 0, *, timeout: float = 10.0
    ) -> None:
        """Send DISPLAY_CONFIG (wallpaper, font smoothing, animation, colour depth)."""
        await self.ready(timeout)
        if not self.has(AgentCap.DISPLAY_CONFIG):
            raise AgentError("the guest agent does not take display configs")
        message = AgentDisplayConfig(flags, depth).message()
        if self.has(AgentCap.REPLY):
            await self._request(message, timeout)
        else:
            self.send(message)

    async def _request(self, message: AgentMessage, timeout: float) -> None:
        done = trio.Event()
        slot: list[AgentReply] = []
        self._replies.setdefault(int(message.type), []).append((done, slot))
        self.send(message)
        with trio.move_on_after(timeout):
            await done.wait()
        if not slot:
            raise AgentError(f"no reply to {AgentMessageType(message.type).name} within {timeout:g} s")
        if slot[0].error != AgentReply.SUCCESS:
            raise AgentError(f"the agent refused {AgentMessageType(message.type).name}")

    # ------------------------------------------------------- from the server
    def handle(self, message: Message | UnknownMessage) -> None:
        """A main-channel message (the session's main reader calls this for each)."""
        if isinstance(message, MainAgentConnectedTokens):
            self._appeared(message.num_tokens)
        elif isinstance(message, MainAgentConnected):
            self._appeared(self._init_tokens)
        elif isinstance(message, MainAgentDisconnected):
            self._went_away()
        elif isinstance(message, MainAgentToken):
            self.link.grant(message.num_tokens)
            self._wake.set()
        elif isinstance(message, MainAgentData):
            try:
                if not self.connected:
                    raise ProtocolError("agent data while no agent is connected", where="AGENT_DATA")
                received = self.link.receive(bytes(message.data))
            except ProtocolError as exc:  # the stream cannot be trusted any more: drop the agent
                self.emit(AgentProblem(f"agent stream dropped: {exc}"))
                self._went_away()
                return
            for agent_message in received:
                self._dispatch(agent_message)
            self._wake.set()

    def _appeared(self, tokens: int) -> None:
        if self.connected:
            self._went_away()
        self.connected = True
        self._start = tokens
        self._change()
        self.emit(AgentConnected())
        self._wake.set()

    def _went_away(self) -> None:
        was = self.connected
        self.connected = False
        self._start = None
        self.caps = None
        self.max_clipboard = None
        self.link.reset()
        self._change()
        self._progress.set()
        self._progress = trio.Event()
        for waiters in self._replies.values():
            for done, _ in waiters:
                done.set()
        self._replies.clear()
        self.clipboard.reset()
        self.files.reset()
        if was:
            self.emit(AgentDisconnected())

    def _dispatch(self, message: AgentMessage) -> None:
        kind = message.type
        try:
            if kind == AgentMessageType.ANNOUNCE_CAPABILITIES:
                announce = AgentAnnounceCapabilities.parse(message.data)
                self.caps = announce.caps
                if announce.request:
                    self.send(AgentAnnounceCapabilities(False, CLIENT_AGENT_CAPS).message())
                if AgentCap.MAX_CLIPBOARD in announce.caps:  # the most we take from the guest
                    self.send(AgentMaxClipboard(self.clipboard.max_size).message())
                self._change()
                self.emit(AgentReady(announce.caps))
            elif kind == AgentMessageType.REPLY:
                reply = AgentReply.parse(message.data)
                waiters = self._replies.get(int(reply.type))
                if waiters:
                    done, slot = waiters.pop(0)
                    slot.append(reply)
                    done.set()
            elif kind == AgentMessageType.MAX_CLIPBOARD:
                limit = AgentMaxClipboard.parse(message.data).max
                self.max_clipboard = limit if limit > 0 else None
            elif kind in _CLIPBOARD_TYPES:
                self.clipboard.handle(message)
            elif kind == AgentMessageType.FILE_XFER_STATUS:
                self.files.handle(message)
        except (ProtocolError, ValueError) as exc:
            self.emit(
                AgentProblem(f"{AgentMessageType(kind).name if kind in _KNOWN else kind} skipped: {exc}")
            )

    # ------------------------------------------------------------- the pump
    async def run(self) -> None:
        """Send AGENT_START, token returns and queued chunks until the main channel closes."""
        try:
            while True:
                self._wake = trio.Event()
                if self._start is not None:
                    window = self.link.start(self._start)
                    self._start = None
                    await self._main.send(MainAgentStart(window))
                    self.link.queue(AgentAnnounceCapabilities(True, CLIENT_AGENT_CAPS).message())
                    self.clipboard.reset()  # the agent restarts its grab serials on our request
                returned = self.link.tokens_to_return()
                if returned:
                    await self._main.send(MainClientAgentToken(returned))
                for chunk in self.link.sendable():
                    await self._main.send(MainClientAgentData(chunk))
                self._progress.set()
                self._progress = trio.Event()
                await self._wake.wait()
        except ChannelClosed:
            pass  # the main reader reports the closed session


_KNOWN = AgentMessageType._value2member_map_
_CLIPBOARD_TYPES = frozenset(
    {
        AgentMessageType.CLIPBOARD_GRAB,
        AgentMessageType.CLIPBOARD_REQUEST,
        AgentMessageType.CLIPBOARD,
        AgentMessageType.CLIPBOARD_RELEASE,
    }
)
