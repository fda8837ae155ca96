"""A built-in guest agent: the server announces an agent and answers for it.

:class:`GuestAgent` is the application's side (``Server(agent=GuestAgent())``): a shared
clipboard (``set_text``/``set_image``, ``get_text``/``get_image`` of what a client
copied), monitors configs as resize requests (the :class:`Framebuffer` follows by
default), and files clients send (into ``files_dir``, within ``max_file_size``).
:class:`ClientAgent` is one client's agent stream on its main channel: tokens both ways
through :class:`spice_proto.AgentLink`, one sending task, nothing unbounded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import trio
from spice_net import ChannelClosed, ServerChannel
from spice_proto import (
    AGENT_MAX_DATA_SIZE,
    AgentAnnounceCapabilities,
    AgentCap,
    AgentClipboard,
    AgentClipboardGrab,
    AgentClipboardLayout,
    AgentClipboardRelease,
    AgentClipboardRequest,
    AgentClipboardType,
    AgentDisplayConfig,
    AgentDisplayConfigFlags,
    AgentFileXferData,
    AgentFileXferStart,
    AgentFileXferStatus,
    AgentFileXferStatusCode,
    AgentLink,
    AgentMaxClipboard,
    AgentMessage,
    AgentMessageType,
    AgentMonConfig,
    AgentMonitorsConfig,
    AgentReply,
    AgentSelection,
    Caps,
    MainAgentData,
    MainAgentStart,
    MainAgentToken,
    MainClientAgentData,
    MainClientAgentToken,
    Message,
    ProtocolError,
    UnknownMessage,
)

from ._heads import monitor_sources
from ._source import FrameSource, SourceError

__all__ = [
    "AgentEvent",
    "ClientAgent",
    "ClipboardOffered",
    "DisplayConfigured",
    "FileReceived",
    "GuestAgent",
    "ResizeRequested",
]

log = logging.getLogger("spice_server")

#: Chunks a client may have in flight to us.
WINDOW = 10
#: What our agent announces.  No grab serials: every grab of either side simply wins.
SERVER_AGENT_CAPS = Caps.of(
    AgentCap.MONITORS_CONFIG,
    AgentCap.REPLY,
    AgentCap.CLIPBOARD,
    AgentCap.CLIPBOARD_BY_DEMAND,
    AgentCap.CLIPBOARD_SELECTION,
    AgentCap.SPARSE_MONITORS_CONFIG,
    AgentCap.GUEST_LINEEND_LF,
    AgentCap.MAX_CLIPBOARD,
    AgentCap.MONITORS_CONFIG_POSITION,
    AgentCap.FILE_XFER_DETAILED_ERRORS,
    AgentCap.CLIPBOARD_NO_RELEASE_ON_REGRAB,
    AgentCap.DISPLAY_CONFIG,
)


@dataclass(frozen=True)
class AgentEvent:
    """Base class of what :meth:`GuestAgent.events` yields; ``client`` is the session id."""

    client: int


@dataclass(frozen=True)
class ClipboardOffered(AgentEvent):
    """A client copied something: it owns ``selection`` with these types (empty: released)."""

    selection: AgentSelection | int
    types: tuple[AgentClipboardType | int, ...]


@dataclass(frozen=True)
class ResizeRequested(AgentEvent):
    """A client asked for this monitor layout; ``applied`` says whether the display followed."""

    monitors: tuple[AgentMonConfig, ...]
    applied: bool


@dataclass(frozen=True)
class DisplayConfigured(AgentEvent):
    """A client asked to turn off these desktop effects and maybe set a colour depth.

    ``depth`` counts only with :attr:`AgentDisplayConfigFlags.SET_COLOR_DEPTH` in ``flags``.
    """

    flags: AgentDisplayConfigFlags
    depth: int


@dataclass(frozen=True)
class FileReceived(AgentEvent):
    """A client's file arrived complete at ``path``."""

    path: Path
    size: int


class AgentError(Exception):
    """No client owns that clipboard, or it did not answer."""


class GuestAgent:
    """The server's built-in agent; give it to ``Server(agent=...)``.

    ``follow_resize``: a client's monitors config resizes each monitor's source that can
    resize (a :class:`Framebuffer`, the demo) to the client's monitor of the same index
    (monitors numbered channel by channel, then by :class:`Heads` head);
    ``on_resize(monitors) -> bool`` replaces that policy.  ``files_dir``: where files
    clients send are written (None: transfers are refused as disabled); ``max_file_size``
    bounds one.  ``max_clipboard`` bounds clipboard data both ways.
    """

    def __init__(
        self,
        *,
        follow_resize: bool = True,
        on_resize: Callable[[tuple[AgentMonConfig, ...]], bool] | None = None,
        files_dir: str | Path | None = None,
        max_file_size: int = 256 << 20,
        max_clipboard: int = 16 << 20,
        min_size: tuple[int, int] = (64, 64),
        max_size: tuple[int, int] = (4096, 4096),
    ) -> None:
        self.follow_resize = follow_resize
        self.on_resize = on_resize
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self.max_file_size = max_file_size
        self.max_clipboard = max_clipboard
        self.min_size = min_size
        self.max_size = max_size
        self._displays: Callable[[], Sequence[FrameSource]] | None = None
        self._clients: dict[int, ClientAgent] = {}
        #: What we offer per selection (type -> data); clients ask for it on paste.
        self._ours: dict[int, dict[int, bytes]] = {}
        #: Who owns each selection on the client side, and the types offered.
        self.client_offers: dict[int, tuple[int, tuple[AgentClipboardType | int, ...]]] = {}
        self._subscribers: list[trio.MemorySendChannel[AgentEvent]] = []

    # ------------------------------------------------------------ application
    def events(self, max_buffer: int = 256) -> trio.MemoryReceiveChannel[AgentEvent]:
        """Clipboard offers, resize requests and received files from now on (``async for``)."""
        send, receive = trio.open_memory_channel[AgentEvent](max_buffer)
        self._subscribers.append(send)
        return receive

    def set_text(self, text: str, selection: AgentSelection = AgentSelection.CLIPBOARD) -> None:
        """Offer ``text`` to every client's clipboard (they fetch it on paste)."""
        self._offer(selection, {AgentClipboardType.UTF8_TEXT: text.replace("\r\n", "\n").encode()})

    def set_image(self, png: bytes, selection: AgentSelection = AgentSelection.CLIPBOARD) -> None:
        """Offer a PNG image to every client's clipboard."""
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("set_image takes PNG bytes")
        self._offer(selection, {AgentClipboardType.IMAGE_PNG: bytes(png)})

    async def get_text(
        self, selection: AgentSelection = AgentSelection.CLIPBOARD, timeout: float = 10.0
    ) -> str | None:
        """What a client copied as text (``\\n`` line ends), or None if no client offers text."""
        data = await self._fetch(selection, AgentClipboardType.UTF8_TEXT, timeout)
        return None if data is None else data.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\0")

    async def get_image(
        self, selection: AgentSelection = AgentSelection.CLIPBOARD, timeout: float = 10.0
    ) -> bytes | None:
        """What a client copied as a PNG image, or None."""
        return await self._fetch(selection, AgentClipboardType.IMAGE_PNG, timeout)

    # --------------------------------------------------------------- internal
    def attach(self, client: int) -> ClientAgent:
        """A new client's agent stream (the server calls this)."""
        stream = self._clients[client] = ClientAgent(self, client)
        return stream

    def detach(self, stream: ClientAgent) -> None:
        """The client is gone."""
        stream.close()
        if self._clients.get(stream.client) is stream:
            del self._clients[stream.client]

    def _bind(self, displays: Callable[[], Sequence[FrameSource]]) -> None:
        self._displays = displays

    def _resize_one(self, client: int, display: FrameSource, monitor: AgentMonConfig) -> bool:
        """Resize one monitor's source to the client's monitor (clamped to min/max size)."""
        resize = getattr(display, "resize", None)
        if not callable(resize):
            return False
        width = min(max(monitor.width, self.min_size[0]), self.max_size[0])
        height = min(max(monitor.height, self.min_size[1]), self.max_size[1])
        try:
            if (display.width, display.height) != (width, height):
                resize(width, height)
        except (SourceError, ValueError) as exc:
            log.info("client %#x: resize to %dx%d refused: %s", client, width, height, exc)
            return False
        return True

    def _emit(self, event: AgentEvent) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                log.warning("a GuestAgent.events() reader is not keeping up; dropping %s", event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(send)

    def _offer(self, selection: AgentSelection, offer: dict[int, bytes]) -> None:
        if max(len(v) for v in offer.values()) > self.max_clipboard:
            raise ValueError(f"clipboard data above max_clipboard ({self.max_clipboard} bytes)")
        self._ours[int(selection)] = offer
        self.client_offers.pop(int(selection), None)
        for client in self._clients.values():
            client.grab(selection, tuple(offer))

    async def _fetch(
        self, selection: AgentSelection, kind: AgentClipboardType, timeout: float
    ) -> bytes | None:
        owner = self.client_offers.get(int(selection))
        if owner is None or kind not in owner[1]:
            return None
        client = self._clients.get(owner[0])
        if client is None:
            return None
        return await client.request(selection, kind, timeout)

    def _resize(self, client: int, monitors: tuple[AgentMonConfig, ...]) -> bool:
        applied = False
        if self.on_resize is not None:
            applied = bool(self.on_resize(monitors))
        elif self.follow_resize and self._displays is not None:
            for display, monitor in zip(monitor_sources(self._displays()), monitors, strict=False):
                if monitor.width and monitor.height and self._resize_one(client, display, monitor):
                    applied = True
        self._emit(ResizeRequested(client, monitors, applied))
        return applied


@dataclass
class _Incoming:
    path: Path
    size: int
    file: BinaryIO
    received: int = 0


@dataclass
class _Pending:
    kind: int
    done: trio.Event = field(default_factory=trio.Event)
    answer: AgentClipboard | None = None


#: Agent bytes we hold for one client beyond its tokens before dropping answers.
MAX_QUEUED_BYTES = 32 << 20


class ClientAgent:
    """One client's agent stream (sans blocking: :meth:`handle` is fed main-channel messages)."""

    def __init__(self, agent: GuestAgent, client: int) -> None:
        self.agent = agent
        self.client = client
        self.link = AgentLink(WINDOW, max(agent.max_clipboard, 1 << 20) + 4096)
        self.link.start(0)
        self.caps: Caps | None = None
        #: The most clipboard data the client accepts (its MAX_CLIPBOARD), when it said.
        self.max_clipboard: int | None = None
        self._started = False
        self._wake = trio.Event()
        self._pending: dict[int, list[_Pending]] = {}
        self._incoming: dict[int, _Incoming] = {}

    @property
    def layout(self) -> AgentClipboardLayout:
        return AgentClipboardLayout.negotiated(SERVER_AGENT_CAPS, self.caps or Caps())

    # -------------------------------------------------------------- outgoing
    def _send(self, message: AgentMessage) -> None:
        if self.link.queued * AGENT_MAX_DATA_SIZE > MAX_QUEUED_BYTES:
            log.info("client %#x: agent queue full (no tokens); dropping %s", self.client, message.type)
            return
        self.link.queue(message)
        self._wake.set()

    def grab(self, selection: AgentSelection, types: tuple[int, ...]) -> None:
        if self.caps is None or (selection != AgentSelection.CLIPBOARD and not self.layout.selection):
            return
        self._send(
            AgentClipboardGrab(tuple(AgentClipboardType(t) for t in types), selection).message(self.layout)
        )

    async def request(
        self, selection: AgentSelection, kind: AgentClipboardType, timeout: float
    ) -> bytes | None:
        pending = _Pending(int(kind))
        self._pending.setdefault(int(selection), []).append(pending)
        self._send(AgentClipboardRequest(kind, selection).message(self.layout))
        with trio.move_on_after(timeout):
            await pending.done.wait()
        if not pending.done.is_set():
            raise AgentError(f"client {self.client:#x} did not send its clipboard within {timeout:g} s")
        answer = pending.answer
        if answer is None or answer.type != kind:
            return None
        return answer.data

    async def run(self, ch: ServerChannel) -> None:
        """The one task sending this client's agent traffic."""
        try:
            while True:
                self._wake = trio.Event()
                returned = self.link.tokens_to_return()
                if returned:
                    await ch.send(MainAgentToken(returned))
                for chunk in self.link.sendable():
                    await ch.send(MainAgentData(chunk))
                await self._wake.wait()
        except ChannelClosed:
            pass

    def close(self) -> None:
        """The client is gone: partial files are removed, waiters released."""
        for incoming in self._incoming.values():
            incoming.file.close()
            incoming.path.unlink(missing_ok=True)
        self._incoming.clear()
        for waiters in self._pending.values():
            for pending in waiters:
                pending.done.set()
        for selection, (owner, _) in list(self.agent.client_offers.items()):
            if owner == self.client:
                del self.agent.client_offers[selection]

    # -------------------------------------------------------------- incoming
    def handle(self, msg: Message | UnknownMessage) -> bool:
        """A main-channel message; False if it is not agent traffic."""
        if isinstance(msg, MainAgentStart):
            self._started = True
            self.caps = None  # a client agent (re)starting announces itself again
            self.link.grant(msg.num_tokens)
            self._send(AgentAnnounceCapabilities(True, SERVER_AGENT_CAPS).message())
        elif isinstance(msg, MainClientAgentToken):
            self.link.grant(msg.num_tokens)
            self._wake.set()
        elif isinstance(msg, MainClientAgentData):
            for message in self.link.receive(bytes(msg.data)):  # ProtocolError ends the client
                try:
                    self._dispatch(message)
                except (ProtocolError, ValueError) as exc:
                    log.info("client %#x: bad agent message %s skipped: %s", self.client, message.type, exc)
            self._wake.set()
        else:
            return False
        return True

    def _dispatch(self, message: AgentMessage) -> None:
        kind = message.type
        if kind == AgentMessageType.ANNOUNCE_CAPABILITIES:
            announce = AgentAnnounceCapabilities.parse(message.data)
            first = self.caps is None  # not its answer to our own announce
            self.caps = announce.caps
            if announce.request:
                self._send(AgentAnnounceCapabilities(False, SERVER_AGENT_CAPS).message())
            if AgentCap.MAX_CLIPBOARD in announce.caps:
                self._send(AgentMaxClipboard(self.agent.max_clipboard).message())
            if first:  # what we offer now; offers made later grab on their own
                for selection, offer in self.agent._ours.items():
                    self.grab(AgentSelection(selection), tuple(offer))
        elif kind == AgentMessageType.MAX_CLIPBOARD:
            limit = AgentMaxClipboard.parse(message.data).max
            self.max_clipboard = limit if limit > 0 else None
        elif kind == AgentMessageType.MONITORS_CONFIG:
            config = AgentMonitorsConfig.parse(message.data)
            ok = self.agent._resize(self.client, config.monitors)
            error = AgentReply.SUCCESS if ok or not self.agent.follow_resize else AgentReply.ERROR
            self._send(AgentReply(AgentMessageType.MONITORS_CONFIG, error).message())
        elif kind == AgentMessageType.DISPLAY_CONFIG:
            display = AgentDisplayConfig.parse(message.data)
            self.agent._emit(DisplayConfigured(self.client, display.flags, display.depth))
            self._send(AgentReply(AgentMessageType.DISPLAY_CONFIG, AgentReply.SUCCESS).message())
        elif kind == AgentMessageType.CLIPBOARD_GRAB:
            grab = AgentClipboardGrab.parse(message.data, self.layout)
            self.agent._ours.pop(int(grab.selection), None)
            self.agent.client_offers[int(grab.selection)] = (self.client, grab.types)
            self.agent._emit(ClipboardOffered(self.client, grab.selection, grab.types))
        elif kind == AgentMessageType.CLIPBOARD_RELEASE:
            release = AgentClipboardRelease.parse(message.data, self.layout)
            owner = self.agent.client_offers.get(int(release.selection))
            if owner is not None and owner[0] == self.client:
                del self.agent.client_offers[int(release.selection)]
                self.agent._emit(ClipboardOffered(self.client, release.selection, ()))
        elif kind == AgentMessageType.CLIPBOARD_REQUEST:
            request = AgentClipboardRequest.parse(message.data, self.layout)
            data = self.agent._ours.get(int(request.selection), {}).get(int(request.type))
            if data is None or (self.max_clipboard is not None and len(data) > self.max_clipboard):
                answer = AgentClipboard(AgentClipboardType.NONE, b"", request.selection)
            else:
                answer = AgentClipboard(request.type, data, request.selection)
            self._send(answer.message(self.layout))
        elif kind == AgentMessageType.CLIPBOARD:
            clip = AgentClipboard.parse(message.data, self.layout)
            waiters = self._pending.get(int(clip.selection))
            if waiters:
                pending = waiters.pop(0)
                pending.answer = clip
                pending.done.set()
        elif kind in (
            AgentMessageType.FILE_XFER_START,
            AgentMessageType.FILE_XFER_DATA,
            AgentMessageType.FILE_XFER_STATUS,
        ):
            self._file(message)

    def _status(self, xfer_id: int, code: AgentFileXferStatusCode, data: bytes = b"") -> None:
        self._send(AgentFileXferStatus(xfer_id, code, data).message())

    def _file(self, message: AgentMessage) -> None:
        agent = self.agent
        if message.type == AgentMessageType.FILE_XFER_START:
            start = AgentFileXferStart.parse(message.data)
            if agent.files_dir is None:
                self._status(start.id, AgentFileXferStatusCode.DISABLED)
            elif start.size > agent.max_file_size:
                free = max(0, agent.max_file_size).to_bytes(8, "little")
                self._status(start.id, AgentFileXferStatusCode.NOT_ENOUGH_SPACE, free)
            elif start.id in self._incoming or len(self._incoming) >= 8:
                self._status(start.id, AgentFileXferStatusCode.ERROR)
            else:
                path = _unique(agent.files_dir, start.name)
                self._incoming[start.id] = _Incoming(path, start.size, open(path, "xb"))  # noqa: SIM115
                if start.size == 0:
                    self._finish(start.id)
                else:
                    self._status(start.id, AgentFileXferStatusCode.CAN_SEND_DATA)
        elif message.type == AgentMessageType.FILE_XFER_DATA:
            data = AgentFileXferData.parse(message.data)
            incoming = self._incoming.get(data.id)
            if incoming is None:
                return
            if incoming.received + len(data.data) > incoming.size:
                self._drop(data.id)
                self._status(data.id, AgentFileXferStatusCode.ERROR)
                return
            incoming.file.write(data.data)
            incoming.received += len(data.data)
            if incoming.received == incoming.size:
                self._finish(data.id)
        else:
            status = AgentFileXferStatus.parse(message.data)
            self._drop(status.id)

    def _finish(self, xfer_id: int) -> None:
        incoming = self._incoming.pop(xfer_id)
        incoming.file.close()
        self._status(xfer_id, AgentFileXferStatusCode.SUCCESS)
        self.agent._emit(FileReceived(self.client, incoming.path, incoming.size))

    def _drop(self, xfer_id: int) -> None:
        incoming = self._incoming.pop(xfer_id, None)
        if incoming is not None:
            incoming.file.close()
            incoming.path.unlink(missing_ok=True)


def _unique(directory: Path, name: str) -> Path:
    """``directory/name`` made safe (no path parts) and not yet taken."""
    base = os.path.basename(name.replace("\\", "/")).strip() or "file"
    if base in (".", ".."):
        base = "file"
    directory.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = base.rpartition(".")
    if not stem:
        stem, dot, ext = base, "", ""
    candidate = directory / base
    n = 1
    while candidate.exists():
        candidate = directory / f"{stem} ({n}){dot}{ext}"
        n += 1
    return candidate
