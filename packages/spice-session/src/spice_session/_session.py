"""The client session: main channel first, then display, inputs and cursor in parallel, one reader each."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import spice_net
import trio
from spice_net import Channel, HttpProxy
from spice_proto import (
    ChannelId,
    ChannelType,
    CommonMsg,
    DisplayInit,
    DisplaySurfaceCreate,
    MainAgentConnected,
    MainAgentConnectedTokens,
    MainAgentDisconnected,
    MainAttachChannels,
    MainChannelsList,
    MainInit,
    MainMigrateBegin,
    MainMigrateBeginSeamless,
    MainMigrateCancel,
    MainMigrateEnd,
    MainMigrateSwitchHost,
    MainMouseMode,
    MainMouseModeRequest,
    MainName,
    MainUuid,
    Message,
    Migrate,
    MigrateData,
    MigrationDstInfo,
    MouseMode,
    UnknownMessage,
)

from ._agent import Agent, MonitorSpec
from ._budget import DEFAULT_MEMORY_BUDGET, MemoryBudget
from ._channels import channel_name, channels_to_open
from ._clipboard import Clipboard
from ._connector import Connector, ConnectTarget, make_connector
from ._cursor import CursorState
from ._display import Display, StreamHook
from ._errors import ChannelUnavailable, ScreenshotTimeout
from ._events import (
    ChannelEnded,
    ChannelOpened,
    Event,
    MessageEvent,
    SessionClosed,
    SurfaceCreated,
    event_class,
    event_for,
)
from ._eventstream import EventStream
from ._filexfer import FileTransfers
from ._inputs import Inputs
from ._mediaclock import MediaClock, mm_diff
from ._migration import (
    DEFAULT_MIGRATION_TIMEOUT,
    MigrationStarted,
    SeamlessMove,
    answer_migrations,
    channel_ended,
    switch_channel,
    where,
)
from ._playback import AudioChunk, Playback
from ._port import PortChannels
from ._record import Record, Recorder
from ._stats import SessionStats, StatsCollector
from ._streams import StreamManager
from ._surface import Surface
from ._uri import SpiceURI
from ._video import FrameBuffers

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup
if TYPE_CHECKING:
    from ._usb import UsbRedirection

__all__ = ["DEFAULT_TIMEOUT", "MIN_MEMORY_BUDGET", "DisplaySettings", "Session", "connect"]

#: Seconds allowed for connecting, linking and the main channel handshake.
DEFAULT_TIMEOUT = 10.0
_CLOSE_TIMEOUT = 2.0
#: At most this many channels link at once (a server listing hundreds gets them a few at a time).
_PARALLEL_LINKS = 8
#: Common messages that only drive flow control (answered by spice_net); not passed on as events.
_HOUSEKEEPING = frozenset({int(CommonMsg.SET_ACK), int(CommonMsg.PING)})
#: A channel reader lets the other tasks run at least once per this many messages (and
#: whenever it waits for the socket); a scheduler round per message was a third of a draw's cost.
_MESSAGES_PER_YIELD = 32
#: A display channel reads its socket at most once per this many seconds while data keeps
#: coming (spice_net's ``min_read_interval``): Xspice sends a scrolling terminal as ~770-byte
#: draws a few at a time, and each wake-up of the reader cost more than the draws it brought.
_DISPLAY_READ_INTERVAL = 0.001
#: A display message's event class by message class (``None``: no event), filled as they come.
_DISPLAY_EVENT_CLASSES: dict[type[Message | UnknownMessage], type[MessageEvent] | None] = {}


def _display_event_class(message: Message | UnknownMessage) -> type[MessageEvent] | None:
    """The event class of a display message (``None`` for SET_ACK and PING: no event), kept
    in :data:`_DISPLAY_EVENT_CLASSES` by message class (an unknown message's type is its own)."""
    msg_type = int(message.type)
    cls = None if msg_type in _HOUSEKEEPING else event_class(ChannelType.DISPLAY, msg_type)
    if type(message) is not UnknownMessage:
        _DISPLAY_EVENT_CLASSES[type(message)] = cls
    return cls


def _tune_reads(key: tuple[ChannelType, int], channel: Channel) -> None:
    """Set how ``channel`` reads its socket for what it carries (display: batched reads)."""
    if key[0] == ChannelType.DISPLAY:
        channel.min_read_interval = _DISPLAY_READ_INTERVAL


class DisplaySettings:
    """What DISPLAY_INIT tells the server about our image caches (sizes in pixels)."""

    pixmap_cache_id = 1
    pixmap_cache_size = 20 * 1024 * 1024
    glz_dictionary_id = 1
    glz_dictionary_window_size = 4 * 1024 * 1024


#: The smallest memory budget a session accepts: the GLZ window (charged up front) and 4 MiB more.
MIN_MEMORY_BUDGET = 4 * DisplaySettings.glz_dictionary_window_size + (4 << 20)


class Session:
    """A connected SPICE session.  Create it with :func:`connect`.

    Attributes set from the main channel handshake: ``session_id``, ``supported_mouse_modes``,
    ``mouse_mode``, ``agent_connected``, ``channels`` (everything the server listed),
    ``name``/``uuid`` (when the server sends them).  ``budget`` is the one memory budget
    that every display channel, cache, stream and the cursor cache of the session share.
    """

    def __init__(
        self, uri: SpiceURI, main: Channel, init: MainInit, tls: bool, budget: MemoryBudget | None = None
    ) -> None:
        self.uri = uri
        self.budget = budget if budget is not None else MemoryBudget()
        self.tls = tls
        self.main = main
        self.init = init
        self.session_id = init.session_id
        self.supported_mouse_modes = MouseMode(init.supported_mouse_modes)
        self.mouse_mode = MouseMode(init.current_mouse_mode)
        self.agent_connected = bool(init.agent_connected)
        self.channels: tuple[ChannelId, ...] = ()
        self.name: str | None = None
        self.uuid: bytes | None = None
        #: The server's MIGRATE_SWITCH_HOST (the VM moved: reconnect there), once it came.
        self.switch_host: MainMigrateSwitchHost | None = None
        #: Set when :attr:`switch_host` arrives.
        self.switched = trio.Event()
        #: Set when the server closes the main channel (the session is over).
        self.lost = trio.Event()
        #: A semi-seamless migration: MIGRATE_BEGIN (where to), then MIGRATE_END (switch now);
        #: also a seamless one the destination refused (then with its linked main channel
        #: in :attr:`migration_main`, over TLS?).
        self.migrate_begin: MainMigrateBegin | MainMigrateBeginSeamless | None = None
        self.migration_main: tuple[Channel, bool] | None = None
        self.migrating = trio.Event()
        self.migrate_end = trio.Event()
        #: Where the last seamless migration took this session (``None``: it never moved).
        self.migrated_to: MigrationDstInfo | None = None
        #: Seconds a migration may take from MIGRATE_BEGIN on before it is given up
        #: (:class:`~spice_session.events.MigrationFailed`); ``None``: no bound.
        self.migration_timeout: float | None = DEFAULT_MIGRATION_TIMEOUT
        self._migration_requests, self._migration_queue = trio.open_memory_channel[
            MainMigrateBeginSeamless | MainMigrateCancel
        ](4)
        #: A seamless migration under way (see :mod:`spice_session._migration`).
        self._move: SeamlessMove | None = None
        #: The channels the server closed (a migration does not link them again).
        self._ended: set[tuple[ChannelType, int]] = set()
        #: The channels this session opened, by (type, id); main included.
        self.opened: dict[tuple[ChannelType, int], Channel] = {(ChannelType.MAIN, 0): main}
        self._inputs: Inputs | None = None
        #: The playback channel's state and jitter buffer (fed only when connected with ``audio``).
        self.playback = Playback()
        self._record: Record | None = None
        #: The cursor channel's state: ``shape``, ``x``/``y``, ``visible`` (see :class:`CursorState`).
        self.cursor = CursorState(budget=self.budget)
        #: The server's multimedia clock, for video stream timing and reports.
        self.media_clock = MediaClock()
        self.media_clock.observe(init)
        self._stream_managers: dict[int, StreamManager] = {}
        self._defer_stream_frames = False
        self._frame_buffers: FrameBuffers | None = None
        #: The decoded display: surfaces, monitors, caches (see :class:`~spice_session.Display`).
        self.display = Display(
            DisplaySettings.pixmap_cache_size, DisplaySettings.glz_dictionary_window_size, self.budget
        )
        self._display_changed = trio.Event()
        self._display_waiters = 0  # tasks in _display_change
        self._last_display_change = -math.inf
        self._events = EventStream()
        self._stats = StatsCollector(self)
        #: The guest agent: presence, capabilities, monitors config (see :class:`Agent`).
        self.agent = Agent(main, bool(init.agent_connected), init.agent_tokens, self._events.put)
        self._connector: Connector | None = None
        self._usb: UsbRedirection | None = None
        self._ports: PortChannels | None = None

    # ------------------------------------------------------------------ public
    @property
    def usb(self) -> UsbRedirection:
        """USB redirection: ``async with session.usb.attach(usb_disk("stick.img")) as dev``."""
        if self._usb is None:
            from ._usb import UsbRedirection  # USB's modules load on first use

            self._usb = UsbRedirection.for_session(self)
        return self._usb

    @property
    def ports(self) -> PortChannels:
        """The server's named port channels: ``async with session.ports.open(name) as port``."""
        if self._ports is None:
            self._ports = PortChannels.for_session(self)
        return self._ports

    async def open_extra_channel(self, channel_type: ChannelType, channel_id: int) -> Channel:
        """Link one more channel of this session's server the way the session's own were linked."""
        if self._connector is None:
            raise ChannelUnavailable(f"{self.uri}: this session cannot link more channels")
        channel, _ = await self._connector.open(channel_type, channel_id, self.session_id, tls=self.tls)
        return channel

    @property
    def inputs(self) -> Inputs:
        """Keyboard and mouse; :class:`ChannelUnavailable` when the server has no inputs channel."""
        if self._inputs is None:
            raise ChannelUnavailable(f"{self.uri}: the server offered no inputs channel")
        return self._inputs

    @property
    def record(self) -> Record:
        """The record channel (set its ``source``); :class:`ChannelUnavailable` without one."""
        if self._record is None:
            raise ChannelUnavailable(f"{self.uri}: no record channel (connect with audio=True)")
        return self._record

    @property
    def clipboard(self) -> Clipboard:
        """The guest's clipboard through its agent (``await session.clipboard.set_text(...)``)."""
        return self.agent.clipboard

    @property
    def files(self) -> FileTransfers:
        """File transfer to the guest through its agent (``await session.files.send(path)``)."""
        return self.agent.files

    async def set_monitors(self, monitors: Sequence[MonitorSpec], *, timeout: float = 10.0) -> None:
        """Ask the guest agent for these monitors, e.g. ``[(1280, 800)]`` (see :meth:`Agent.set_monitors`)."""
        await self.agent.set_monitors(monitors, timeout=timeout)

    @property
    def stats(self) -> SessionStats:
        """Round-trip time, traffic per channel (totals, per second), display changes per second,
        decode-and-draw time, video streams (frames/s, late frames), the playback latency."""
        return self._stats.snapshot()

    def channel(self, channel_type: ChannelType, channel_id: int = 0) -> Channel:
        """An opened channel; :class:`ChannelUnavailable` if the session did not open it."""
        try:
            return self.opened[(channel_type, channel_id)]
        except KeyError:
            raise ChannelUnavailable(
                f"{self.uri}: no open {channel_name(channel_type)} channel {channel_id}"
            ) from None

    def events(self) -> EventStream:
        """The session's events, in arrival order per channel: ``async for event in session.events()``.

        It ends when every channel reader has finished (the server closed the session).
        Nothing waits for the reader: the channels are read, drawn and acknowledged at the
        server's pace whether or not anyone reads events.  Up to ``event_buffer`` events
        are queued; a reader that falls further behind gets a summary instead of the rest:
        an :class:`~spice_session.events.EventsDropped` count of what was left out, then the
        :class:`~spice_session.events.Damage` of that time merged per surface (it covers every
        changed pixel).  The session's state (``display``, ``cursor``, ``mouse_mode``) is
        always current.  Close the stream to free what it holds when you stop listening.
        """
        return self._events

    async def screenshot(self, settle: float = 0.0, timeout: float = 10.0) -> Surface:
        """A copy of the primary surface once it is complete and has been still for ``settle`` s.

        Complete means the server sent MARK or drew on it.  It does not depend on anyone
        reading :meth:`events`.  :class:`ScreenshotTimeout` after ``timeout`` seconds.
        """
        with trio.move_on_after(timeout):
            while True:
                primary = self.display.primary
                first = self.display.channels.get(min(self.display.channels, default=0))
                ready = primary is not None and first is not None and (first.marked or first.drawn)
                if ready and primary is not None:
                    quiet = trio.current_time() - self._last_display_change
                    if quiet >= settle:
                        return primary.copy()
                    with trio.move_on_after(settle - quiet):
                        await self._display_change()
                else:
                    await self._display_change()
        state = "no primary surface yet" if self.display.primary is None else "the screen kept changing"
        raise ScreenshotTimeout(f"{self.uri}: no settled screenshot within {timeout:g} s: {state}")

    def picture(self) -> Surface | None:
        """The primary surface itself (not a copy) once complete (MARK or a draw), else ``None``."""
        primary = self.display.primary
        first = self.display.channels.get(min(self.display.channels, default=0))
        if primary is not None and first is not None and (first.marked or first.drawn):
            return primary
        return None

    @property
    def last_display_change(self) -> float:
        """The trio time of the display's last change (``-inf`` before any)."""
        return self._last_display_change

    async def display_changed(self) -> None:
        """Return at the display's next change (a draw, a new surface, a video frame)."""
        await self._display_change()

    async def request_mouse_mode(self, mode: MouseMode) -> None:
        """Ask the server for a mouse mode; a :class:`~spice_session.events.MouseModeChanged`
        event answers."""
        await self.main.send(MainMouseModeRequest(mode))

    # ----------------------------------------------------------------- internal
    def _observe(self, key: tuple[ChannelType, int], message: Message | UnknownMessage) -> None:
        """Keep the session's state in step with what the server says."""
        if key[0] == ChannelType.MAIN:
            self.agent.handle(message)
            if isinstance(message, MainMouseMode):
                self.supported_mouse_modes = MouseMode(message.supported_modes)
                self.mouse_mode = MouseMode(message.current_mode)
                if self._inputs is not None:
                    self._inputs.set_mouse_mode(self.mouse_mode)
            elif isinstance(message, (MainAgentConnected, MainAgentConnectedTokens)):
                self.agent_connected = True
            elif isinstance(message, MainAgentDisconnected):
                self.agent_connected = False
            elif isinstance(message, MainName):
                self.name = message.name
            elif isinstance(message, MainUuid):
                self.uuid = message.uuid
            elif isinstance(message, MainMigrateSwitchHost):
                self.switch_host = message
                self.switched.set()
                self._events.put(MigrationStarted("switch-host", where(message)), force=True)
            elif isinstance(message, MainMigrateBegin):
                self.migrate_begin = message
                self.migrating.set()
                self._events.put(MigrationStarted("semi-seamless", where(message.dst_info)), force=True)
            elif isinstance(message, MainMigrateEnd):
                self.migrate_end.set()
            elif isinstance(message, (MainMigrateBeginSeamless, MainMigrateCancel)):
                try:
                    self._migration_requests.send_nowait(message)
                except trio.WouldBlock:
                    pass  # a server repeating itself: the queued requests are answered
            self.media_clock.observe(message)
        elif key[0] == ChannelType.INPUTS and self._inputs is not None:
            self._inputs.handle(message)

    @property
    def defer_stream_frames(self) -> bool:
        """Whether a video frame covering its whole destination is kept back from the surface
        until the surface is read (off by default).

        For a reader that shows stream frames from ``Damage.pixels`` (a viewer): the frames
        nobody reads the surface for are never copied into it.  Reading the surface through
        ``pixels``, ``flat``, ``buffer``, ``copy()`` or ``to_rgb()`` writes the frame first, and
        so does the next display message that is not a frame; ``Surface.words`` does not (call
        ``Surface.settle()`` first).  Turning it off writes what was kept back.
        """
        return self._defer_stream_frames

    @defer_stream_frames.setter
    def defer_stream_frames(self, on: bool) -> None:
        self._defer_stream_frames = on
        for manager in self._stream_managers.values():
            manager.defer_frames = on
            if not on:
                manager.settle_frames()

    @property
    def frame_buffers(self) -> FrameBuffers | None:
        """Where MJPEG stream frames are decoded into (``None``, the default: arrays of their
        own); see :class:`~spice_session.lowlevel.FrameBuffers`.  A viewer that can show a frame
        from memory it allocated (shared with the display server) sets it to skip a copy."""
        return self._frame_buffers

    @frame_buffers.setter
    def frame_buffers(self, buffers: FrameBuffers | None) -> None:
        self._frame_buffers = buffers
        for manager in self._stream_managers.values():
            manager.frame_buffers = buffers

    def _streams_for(self, channel_id: int) -> StreamHook | None:
        """The video stream handler of a display channel (one per channel, made on first use)."""
        manager = self._stream_managers.get(channel_id)
        if manager is None:
            manager = self._stream_managers[channel_id] = StreamManager(
                self.media_clock, channel_id=channel_id, budget=self.budget
            )
            manager.defer_frames = self._defer_stream_frames
            manager.frame_buffers = self._frame_buffers
        return manager

    def _display_message(self, channel_id: int, message: Message | UnknownMessage, at: float) -> list[Event]:
        """Update the display state; the derived events (SurfaceCreated carries the surface).
        ``at``: when the message arrived (trio's clock), the display's last change if it changed.

        A SET_ACK or PING (spice_net answers them) has no event of its own."""
        # (the channel's state looked up in line first: this runs once a message)
        state = self.display.channels.get(channel_id) or self.display.channel(
            channel_id, self._streams_for(channel_id)
        )
        stats = self._stats
        started = time.perf_counter()
        derived = state.handle(message)
        stats.draw_seconds += time.perf_counter() - started  # (the StatsCollector's totals, in line)
        if derived or isinstance(message, DisplaySurfaceCreate):
            self._last_display_change = at
            if self._display_waiters:  # waiters wait at once: none, no news
                self._display_changed.set()
                self._display_changed = trio.Event()
            stats.frames += 1
        try:
            cls = _DISPLAY_EVENT_CLASSES[type(message)]
        except KeyError:  # a message class not seen yet, or an unknown message
            cls = _display_event_class(message)
        if cls is None or not self._events.wants(cls):  # housekeeping, or nobody listens for it
            return derived
        event = cls(ChannelType.DISPLAY, channel_id, message)
        if isinstance(event, SurfaceCreated) and isinstance(message, DisplaySurfaceCreate):
            event = replace(event, surface=state.surfaces.get(message.surface_id))
        return [event, *derived]

    async def _display_change(self) -> None:
        """Until the display's next change."""
        self._display_waiters += 1
        try:
            await self._display_changed.wait()
        finally:
            self._display_waiters -= 1

    def _queue(self, key: tuple[ChannelType, int], message: Message | UnknownMessage) -> None:
        """A message of the handshake (before the readers run): observed, its event queued."""
        self._observe(key, message)
        if int(message.type) not in _HOUSEKEEPING:
            self._events.put(event_for(key[0], key[1], message), force=True)

    def _read(self, nursery: trio.Nursery, key: tuple[ChannelType, int], channel: Channel) -> None:
        """Start reading a channel the moment it is linked, while the others still link.

        A busy server stalls otherwise: Xspice's main thread blocks until the display
        channel's queue drains, so it never answers the next link while nobody reads.
        """
        self._events.add_producers(1)
        nursery.start_soon(self._reader, key, channel, name=f"spice-{channel_name(key[0])}")

    def _start(self, nursery: trio.Nursery) -> None:
        """The pumps, once every channel is open (the readers already run)."""
        nursery.start_soon(self._pumping, (ChannelType.MAIN, 0), self.agent.run, name="spice-agent-pump")
        nursery.start_soon(answer_migrations, self, name="spice-migration")
        if self._inputs is not None:
            # pointer motion held back by the MOTION_ACK window goes as soon as an ack opens it
            key = (ChannelType.INPUTS, self._inputs.channel_id)
            nursery.start_soon(self._pumping, key, self._inputs.motion_pump, name="spice-motion-pump")
        if self._record is not None:
            # the record source goes while the server records
            record, key = self._record, (ChannelType.RECORD, 0)
            nursery.start_soon(
                self._pumping, key, partial(record.run, _Opened(self, key)), name="spice-record-pump"
            )

    async def _pumping(self, key: tuple[ChannelType, int], pump: Callable[[], Awaitable[None]]) -> None:
        """Run a sending task until its channel closes (the channel's reader reports that);
        again when a seamless migration switched the channel under it."""
        while True:
            channel = self.opened.get(key)
            try:
                await pump()
            except spice_net.ChannelClosed:
                pass
            if self.opened.get(key) is channel:
                return

    async def _reader(self, key: tuple[ChannelType, int], channel: Channel) -> None:
        """Read one channel until the server closes it; errors propagate to the session.

        Never waits for the event stream's reader (see :meth:`events`).
        """
        since_yield = 0
        _tune_reads(key, channel)
        try:
            while True:
                try:
                    message = await channel.receive()
                except spice_net.ChannelClosed:
                    break
                stats = self._stats  # (its samples are taken here as messages come: no timer)
                if channel.last_message_at >= stats.next_sample_at:
                    stats.tick(channel.last_message_at)
                else:
                    stats.tail_at = channel.last_message_at
                move = self._move
                if isinstance(message, (Migrate, MigrateData)) and move and move.handover.covers(key):
                    try:
                        channel = await switch_channel(self, key, channel, message)
                        _tune_reads(key, channel)
                    except spice_net.ChannelClosed:
                        break  # the source or the destination went mid-switch: the channel ended
                    self._events.put(event_for(key[0], key[1], message))
                    continue
                if key[0] == ChannelType.DISPLAY:  # (nothing for _observe)
                    events = self._display_message(key[1], message, channel.last_message_at)
                    state = self.display.channels[key[1]]
                    while state.outbox:  # (stream reports: out before the reader next waits)
                        channel.queue(state.outbox.pop(0))
                else:
                    self._observe(key, message)
                    if int(message.type) in _HOUSEKEEPING:
                        continue
                    if key[0] == ChannelType.CURSOR:
                        events = [event_for(key[0], key[1], message), *self.cursor.handle_safely(message)]
                    elif key[0] == ChannelType.PLAYBACK:
                        self.media_clock.observe(message)  # sound stamps and PLAYBACK_LATENCY
                        events = self.playback.handle_safely(message)
                        for event in events:
                            if isinstance(event, AudioChunk):
                                self._stats.audio_arrived(mm_diff(event.time, self.media_clock.now()))
                    elif key[0] == ChannelType.RECORD and self._record is not None:
                        events = self._record.handle(message)
                    else:
                        events = [event_for(key[0], key[1], message)]
                for event in events:
                    self._events.put(event)
                # A batch read off the socket may hold thousands of messages: let the event
                # reader and the application run between every so many of them.
                since_yield += 1
                if since_yield >= _MESSAGES_PER_YIELD:
                    since_yield = 0
                    await trio.lowlevel.checkpoint()
            await channel_ended(self, key)
            if key[0] == ChannelType.MAIN:
                self.lost.set()
            closed: Event = (
                SessionClosed("the server closed the main channel")
                if key[0] == ChannelType.MAIN
                else ChannelEnded(key[0], key[1])
            )
            self._events.put(closed)
        finally:
            self._events.producer_done()

    async def _aclose(self) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_TIMEOUT):
            move = self._move
            moving = [*move.targets.values(), *move.sources] if move is not None else []
            for channel in [*reversed(list(self.opened.values())), *moving]:
                await channel.aclose()
            if self.migration_main is not None:
                await self.migration_main[0].aclose()


class _Opened:
    """Sends on whatever channel the session has for ``key`` now (it changes in a seamless migration)."""

    def __init__(self, session: Session, key: tuple[ChannelType, int]) -> None:
        self._session, self._key = session, key

    async def send(self, message: Message | UnknownMessage) -> int:
        return await self._session.opened[self._key].send(message)


async def _establish(
    connector: Connector,
    nursery: trio.Nursery,
    event_buffer: int,
    memory_budget: int,
    audio: bool = False,
    linked_main: tuple[Channel, bool] | None = None,
    first_event: Event | None = None,
) -> Session:
    """Main channel (or ``linked_main``), MAIN_INIT, channel list, then the other channels in parallel.

    Each channel's reader starts in ``nursery`` as soon as the channel is ready;
    ``first_event`` is queued right after the main channel's ChannelOpened, before any.
    """
    if linked_main is not None:
        main, tls = linked_main
    else:
        main, tls = await connector.open(ChannelType.MAIN, 0, 0, tls=connector.uri.tls_only)
    try:
        early: list[Message | UnknownMessage] = []
        while not isinstance(message := await main.receive(), MainInit):
            early.append(message)
        session = Session(connector.uri, main, message, tls, MemoryBudget(memory_budget))
        session._connector = connector
        session._events.buffer.limit = event_buffer
    except BaseException:
        with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_TIMEOUT):
            await main.aclose()
        raise
    try:
        main_key = (ChannelType.MAIN, 0)
        session._events.put(
            ChannelOpened(ChannelType.MAIN, 0, main.server_common_caps, main.server_channel_caps), force=True
        )
        if first_event is not None:
            session._events.put(first_event, force=True)
        for message in [*early, session.init]:
            session._queue(main_key, message)
        await main.send(MainAttachChannels())
        while not isinstance(message := await main.receive(), MainChannelsList):
            session._queue(main_key, message)
        session._queue(main_key, message)
        session.channels = tuple(message.channels)
        session._read(nursery, main_key, main)
        to_open = channels_to_open(session.channels, audio=audio)
        for channel_type, channel_id in to_open:
            # the lowest display channel is the screen whichever channel links first
            if channel_type == ChannelType.DISPLAY:
                session.display.channel(channel_id, session._streams_for(channel_id))
        await _link_channels(session, connector, nursery, to_open, tls)
    except BaseException:
        nursery.cancel_scope.cancel()  # the readers stop before their channels close
        await session._aclose()
        raise
    return session


async def _link_channels(
    session: Session,
    connector: Connector,
    nursery: trio.Nursery,
    wanted: list[tuple[ChannelType, int]],
    tls: bool,
) -> None:
    """Link the channels ``wanted`` all at once, as spice-gtk does; each is read from the moment it is ready.

    The first failure cancels the other links and is raised alone; what was linked is then
    in ``session.opened`` for the caller to close.  ``session.opened`` ends in list order.
    """
    limiter = trio.CapacityLimiter(_PARALLEL_LINKS)
    first_inputs = next((key for key in wanted if key[0] == ChannelType.INPUTS), None)
    failed: list[Exception] = []

    async def link(key: tuple[ChannelType, int]) -> None:
        try:
            async with limiter:
                channel, _ = await connector.open(key[0], key[1], session.session_id, tls=tls)
            session.opened[key] = channel  # at once (no checkpoint since the link): closed on failure
            session._events.put(
                ChannelOpened(key[0], key[1], channel.server_common_caps, channel.server_channel_caps),
                force=True,
            )
            if key[0] == ChannelType.DISPLAY:
                s = DisplaySettings
                await channel.send(
                    DisplayInit(
                        s.pixmap_cache_id,
                        s.pixmap_cache_size,
                        s.glz_dictionary_id,
                        s.glz_dictionary_window_size,
                    )
                )
            elif key == first_inputs:
                # only a VM (the server sent its UUID) has an emulated keyboard to pace for
                session._inputs = Inputs(channel, key[1], paced=session.uuid is not None)
                session._inputs.set_mouse_mode(session.mouse_mode)
            elif key == (ChannelType.RECORD, 0):
                session._record = Record(Recorder(channel.server_channel_caps), session.media_clock.now)
            session._read(nursery, key, channel)
        except Exception as exc:
            failed.append(exc)
            links.cancel_scope.cancel()

    async with trio.open_nursery() as links:
        for key in wanted:
            links.start_soon(link, key, name=f"spice-link-{channel_name(key[0])}")
    if failed:
        raise failed[0]
    for key in wanted:  # in the server's list order, whichever linked first
        session.opened[key] = session.opened.pop(key)


@asynccontextmanager
async def connect(
    uri: ConnectTarget,
    *,
    password: str | None = None,
    ca_file: str | Path | None = None,
    host_subject: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    event_buffer: int = 256,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    audio: bool = False,
    opus: bool = True,
    proxy: str | HttpProxy | None = None,
    linked_main: tuple[Channel, bool] | None = None,
    migration_timeout: float | None = DEFAULT_MIGRATION_TIMEOUT,
    _first_event: Event | None = None,
) -> AsyncIterator[Session]:
    """Connect to a SPICE server; ``async with connect("spice://127.0.0.1:5900") as session``.

    ``uri`` may also be ``spice+unix:///path``, a :class:`SpiceURI`, a :class:`VVFile`
    or the path of a .vv file (its CA, host subject, proxy and secure channels apply).
    ``proxy`` (``http://[user:pass@]host[:port]``) tunnels through an HTTP proxy; without
    it the .vv file's or ``$SPICE_PROXY`` is used (``proxy=""``: none).  ``linked_main``
    (main channel, over TLS?) is a main channel already linked to ``uri``'s server: what
    :func:`run_reconnecting` hands over after a semi-seamless migration.
    ``password`` overrides the URI's ``?password=``.  ``ca_file`` and ``host_subject``
    verify a TLS server.  ``timeout`` bounds everything up to the opened channels
    (:class:`spice_net.ConnectTimeout`).  Failures raise the :mod:`spice_net` errors
    (``ConnectFailed``, ``AuthenticationFailed``, ``TLSVerificationFailed``,
    ``NotSpiceServer``...); an error in a channel later ends the session with that error.
    ``event_buffer`` (at least 1) is how many events :meth:`Session.events` queues before
    it summarises.  ``memory_budget`` bounds the bytes the session holds for the server
    (surfaces, caches, streams, cursors; default 1 GiB): what would exceed it is skipped
    with a :class:`~spice_session.events.DisplayProblem` / :class:`~spice_session.events.CursorProblem`.
    ``audio`` also opens the playback channel (decoded sound as
    :class:`~spice_session.events.AudioChunk` events, ``session.playback``) and the record
    channel (``session.record.source``); ``opus=False`` keeps both raw S16 (Opus is
    otherwise offered when PyAV has it).  ``migration_timeout`` (seconds, ``None``: no
    bound) is how long a live migration's link to the destination, and its handover once
    the VM moved, may take before they are given up (``session.migration_timeout``; the
    VM's own move is not bounded; see docs/connecting.md).
    """
    if event_buffer < 1:
        raise ValueError(f"event_buffer must be at least 1, not {event_buffer}")
    if memory_budget < MIN_MEMORY_BUDGET:
        raise ValueError(f"memory_budget must be at least {MIN_MEMORY_BUDGET} bytes, not {memory_budget}")
    connector = make_connector(
        uri,
        password=password,
        ca_file=ca_file,
        host_subject=host_subject,
        timeout=timeout,
        opus=opus,
        proxy=proxy,
    )
    target = connector.uri
    session: Session | None = None
    try:
        try:
            async with trio.open_nursery() as nursery:
                with trio.move_on_after(timeout):
                    session = await _establish(
                        connector, nursery, event_buffer, memory_budget, audio, linked_main, _first_event
                    )
                if session is None:
                    raise spice_net.ConnectTimeout(f"{target}: no SPICE session within {timeout:g} s")
                session.migration_timeout = migration_timeout
                session._start(nursery)
                try:
                    yield session
                finally:
                    nursery.cancel_scope.cancel()
            if session is None:  # timed out after the main channel: _establish cancelled the nursery
                raise spice_net.ConnectTimeout(f"{target}: no SPICE session within {timeout:g} s")
        except BaseExceptionGroup as group:
            single = spice_net.lowlevel.single_error(group)
            if single is None:
                raise
            raise single from None
    finally:
        if session is not None:
            await session._aclose()
