"""One connected client: its channels, each a trio task in the client's own nursery.

The session reaches its server only through the :class:`ClientContext` it is given
(settings, the display source, the shared pointer, where input events go).

The main channel's task owns the client: when it ends, the client's nursery is
cancelled and every other channel of the client closes.  A failure in any
channel (network error, protocol violation, or a bug) closes that client only and
is logged; other clients never notice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio
from spice_net import ChannelClosed, ServerChannel, SpiceNetError
from spice_net.lowlevel import error_leaves
from spice_proto import (
    INVALID_STREAM_DROPS,
    Caps,
    ChannelId,
    ChannelType,
    Cursor,
    CursorHide,
    CursorInit,
    CursorMove,
    CursorSet,
    DisplayCap,
    DisplayInit,
    DisplayPreferredCompression,
    DisplayPreferredVideoCodecType,
    DisplayStreamReport,
    InputsInit,
    KeyboardModifierFlags,
    MainAttachChannels,
    MainCap,
    MainChannelsList,
    MainInit,
    MainMouseMode,
    MainMouseModeRequest,
    MainName,
    MainUuid,
    Message,
    MouseMode,
    ProtocolError,
    VideoCodecType,
)

from ._agent import WINDOW as AGENT_WINDOW
from ._agent import ClientAgent, GuestAgent
from ._audio import AudioSource
from ._compress import Compression, ImageEncoder
from ._draw import THREAD_MIN_PIXELS, Job
from ._events import InputEvent, MotionEvent
from ._heads import head_at
from ._inputs import InputsState
from ._keepalive import watch_silence
from ._mmtime import MediaTimeControl
from ._pipeline import DisplayPipeline
from ._pointer import SharedPointer
from ._ports import ServerPort
from ._source import FrameSource
from ._video import MM_TIME_DELTA, StreamingMode, media_time
from ._video_encode import encodable_codecs
from ._wakeup import Wakeup

__all__ = [
    "DEFAULT_VIDEO_CODECS",
    "THREAD_MIN_PIXELS",
    "ClientContext",
    "ClientSession",
    "client_video_codecs",
]

log = logging.getLogger("spice_server")

SUPPORTED_MOUSE_MODES = MouseMode.SERVER | MouseMode.CLIENT

#: ACK window (messages) on the display and cursor channels, as libspice-server uses.
ACK_WINDOW = 20


#: libspice-server's default order of stream codecs (its ``video_codecs`` setting).
DEFAULT_VIDEO_CODECS = (VideoCodecType.MJPEG, VideoCodecType.H264, VideoCodecType.VP8, VideoCodecType.VP9)

_CODEC_CAPS = {
    VideoCodecType.MJPEG: DisplayCap.CODEC_MJPEG,
    VideoCodecType.H264: DisplayCap.CODEC_H264,
    VideoCodecType.VP8: DisplayCap.CODEC_VP8,
    VideoCodecType.VP9: DisplayCap.CODEC_VP9,
}


def client_video_codecs(
    caps: Caps, order: Sequence[VideoCodecType] = DEFAULT_VIDEO_CODECS
) -> tuple[VideoCodecType, ...]:
    """The stream codecs of ``order`` (the server's preference) we encode that a display channel
    with capabilities ``caps`` decodes; the client's DISPLAY_PREFERRED_VIDEO_CODEC_TYPE
    reorders them.

    Clients from before DisplayCap.MULTI_CODEC all play MJPEG.
    """
    ours = encodable_codecs()
    if DisplayCap.MULTI_CODEC not in caps:
        return (VideoCodecType.MJPEG,) if VideoCodecType.MJPEG in order else ()
    return tuple(c for c in order if c in ours and _CODEC_CAPS.get(c) in caps)


@dataclass(frozen=True)
class ClientContext:
    """What a client session gets from its server: settings fixed when it connects, the
    display source, the pointer all clients share, and where its input events go."""

    name: str
    uuid: bytes
    initial_mouse_mode: MouseMode
    image_compression: Compression
    streaming_video: StreamingMode
    idle_timeout: float | None
    #: Shared by every client's encodes that run in worker threads.
    encode_limiter: trio.CapacityLimiter
    audio: AudioSource | None
    #: The display source now (the application may replace it).
    source: Callable[[], FrameSource]
    pointer: SharedPointer
    publish: Callable[[InputEvent], None]
    #: The built-in guest agent (None: the server announces no agent).
    agent: GuestAgent | None = None
    #: One source per monitor, each its own display channel (None: just ``source``).
    displays: Callable[[], Sequence[FrameSource]] | None = None
    #: The server's order of stream codecs.
    video_codecs: tuple[VideoCodecType, ...] = DEFAULT_VIDEO_CODECS
    #: Named port channels offered to every client.
    ports: Sequence[ServerPort] = ()


class ClientSession:
    """A client (one main channel and its sub-channels) of a :class:`Server`."""

    def __init__(
        self, context: ClientContext, session_id: int, peer: str, secure: bool, *, address: str
    ) -> None:
        self._ctx = context
        self.id = session_id
        self.peer = peer
        #: What the server's per-address limit counts this client as (``address_key`` of its host).
        self.address = address
        self.secure = secure
        self.mouse_mode = context.initial_mouse_mode
        self.channels: dict[tuple[int, int], ServerChannel] = {}
        self.display: DisplayPipeline | None = None
        #: Every display channel's pipeline by channel id (``display`` is channel 0's).
        self.displays: dict[int, DisplayPipeline] = {}
        self.closed = False
        self._nursery: trio.Nursery | None = None
        #: This client's pointer position in server mouse mode (the cursor channel shows it).
        self.pointer = (0, 0)
        self.cursor_wakeups: list[Wakeup] = []
        self._media_wakeup = Wakeup()
        #: This client's media clock (MAIN_MULTI_MEDIA_TIME goes out on its main channel).
        self.media = MediaTimeControl(self._media_wakeup.set)

    def __repr__(self) -> str:
        return f"<client {self.id:#010x} from {self.peer}>"

    # --- lifetime ---------------------------------------------------------------------------

    async def run(self, main: ServerChannel) -> None:
        """Serve the client until its main channel ends."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._guard, main, self._main, True)
        finally:
            self.closed = True
            self._nursery = None

    def attach(self, channel: ServerChannel) -> trio.Event | None:
        """Run a linked sub-channel in this client's nursery; the event is set when it ended.

        ``None`` if the client is gone (or the channel type is not one we serve).
        """
        if self.closed or self._nursery is None:
            return None
        runners: dict[ChannelType, Callable[[ServerChannel], Awaitable[None]]] = {
            ChannelType.DISPLAY: self._display,
            ChannelType.INPUTS: self._inputs,
            ChannelType.CURSOR: self._cursor,
            ChannelType.PLAYBACK: self._playback,
            ChannelType.RECORD: self._record,
        }
        runner = runners.get(ChannelType(channel.channel_type))
        port = self._port_for(ChannelType(channel.channel_type), channel.channel_id)
        if port is not None:
            runner = port.serve_client
        if runner is None:
            return None
        done = trio.Event()
        self._nursery.start_soon(self._guard, channel, runner, False, done)
        return done

    def _port_for(self, kind: ChannelType, channel_id: int) -> ServerPort | None:
        ports = [p for p in self._ctx.ports if p.channel_type is kind]
        return ports[channel_id] if 0 <= channel_id < len(ports) else None

    def close(self) -> None:
        """Disconnect the client (all its channels)."""
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _guard(
        self,
        channel: ServerChannel,
        runner: Callable[[ServerChannel], Awaitable[None]],
        owns_client: bool,
        done: trio.Event | None = None,
    ) -> None:
        key = (int(channel.channel_type), channel.channel_id)
        name = ChannelType(channel.channel_type).name.lower()
        old = self.channels.get(key)
        if old is not None:  # the client re-linked this channel: drop the old connection
            await old.aclose()
        self.channels[key] = channel
        try:
            async with channel, trio.open_nursery() as nursery:
                nursery.start_soon(self._drop_when_silent, channel)
                await runner(channel)
                nursery.cancel_scope.cancel()
            log.info("%r: %s channel ended", self, name)
        except Exception as exc:  # an ExceptionGroup of them too (but never trio.Cancelled)
            leaves = error_leaves(exc)
            if all(isinstance(e, SpiceNetError | ProtocolError) for e in leaves):
                log.info("%r: %s channel closed: %s", self, name, "; ".join(map(str, leaves)))
            else:
                log.error("%r: %s channel failed; disconnecting the client", self, name, exc_info=exc)
                owns_client = True
        finally:
            if self.channels.get(key) is channel:
                del self.channels[key]
            if owns_client:
                self.close()
            if done is not None:
                done.set()

    async def _drop_when_silent(self, channel: ServerChannel) -> None:
        timeout = self._ctx.idle_timeout
        if timeout is None:
            return
        await watch_silence(channel, timeout)
        raise ChannelClosed(f"client silent for {timeout:g} s (no message, ACK or PONG)")

    # --- main -------------------------------------------------------------------------------

    async def _main(self, ch: ServerChannel) -> None:
        await ch.send(
            MainInit(
                session_id=self.id,
                display_channels_hint=len(self._sources()),
                supported_mouse_modes=SUPPORTED_MOUSE_MODES,
                current_mouse_mode=self.mouse_mode,
                agent_connected=self._ctx.agent is not None,
                agent_tokens=AGENT_WINDOW if self._ctx.agent is not None else 0,
                multi_media_time=(media_time() - MM_TIME_DELTA) & 0xFFFFFFFF,
                ram_hint=0,
            )
        )
        if MainCap.NAME_AND_UUID in ch.client_channel_caps:
            await ch.send(MainName(self._ctx.name))
            await ch.send(MainUuid(self._ctx.uuid))
        agent = self._ctx.agent.attach(self.id) if self._ctx.agent is not None else None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._media_times, ch)
                if agent is not None:
                    nursery.start_soon(agent.run, ch)
                await self._main_messages(ch, agent)
                nursery.cancel_scope.cancel()
        finally:
            if self._ctx.agent is not None and agent is not None:
                self._ctx.agent.detach(agent)

    async def _media_times(self, ch: ServerChannel) -> None:
        """Send MAIN_MULTI_MEDIA_TIME whenever the client's media clock needs setting."""
        while True:
            await self._media_wakeup.wait()
            msg = self.media.take()
            if msg is not None:
                await ch.send(msg)

    async def _main_messages(self, ch: ServerChannel, agent: ClientAgent | None) -> None:
        async for msg in ch:
            if agent is not None and agent.handle(msg):
                pass
            elif isinstance(msg, MainAttachChannels):
                channels: tuple[ChannelId, ...] = (
                    *(ChannelId(ChannelType.DISPLAY, i) for i in range(len(self._sources()))),
                    ChannelId(ChannelType.INPUTS, 0),
                    ChannelId(ChannelType.CURSOR, 0),
                )
                if self._ctx.audio is not None:
                    channels += (ChannelId(ChannelType.PLAYBACK, 0), ChannelId(ChannelType.RECORD, 0))
                for kind in (ChannelType.PORT, ChannelType.WEBDAV):
                    count = sum(1 for p in self._ctx.ports if p.channel_type is kind)
                    channels += tuple(ChannelId(kind, i) for i in range(count))
                await ch.send(MainChannelsList(channels))
            elif isinstance(msg, MainMouseModeRequest):
                mode = int(msg.mode)
                if mode in (MouseMode.SERVER, MouseMode.CLIENT):
                    self.mouse_mode = MouseMode(mode)
                    log.info("%r: mouse mode %s", self, self.mouse_mode.name)
                else:
                    log.info("%r: ignoring request for mouse mode %d", self, mode)
                await ch.send(MainMouseMode(SUPPORTED_MOUSE_MODES, self.mouse_mode))
            else:
                log.debug("%r: main channel: ignoring %s", self, type(msg).__name__)

    # --- display ----------------------------------------------------------------------------

    def _head_at(self, display: int, x: int, y: int) -> int:
        sources = self._sources()
        return head_at(sources[display], x, y) if 0 <= display < len(sources) else 0

    def _sources(self) -> Sequence[FrameSource]:
        """The monitors' sources (display channel i shows the i-th)."""
        ctx = self._ctx
        return ctx.displays() if ctx.displays is not None else [ctx.source()]

    async def _display(self, ch: ServerChannel) -> None:
        ctx = self._ctx
        caps = ch.client_channel_caps
        sources = self._sources()
        if ch.channel_id >= len(sources):
            return
        wakeup = Wakeup()
        pipeline = DisplayPipeline(
            sources[ch.channel_id],
            ImageEncoder(ctx.image_compression, lz4=DisplayCap.LZ4_COMPRESSION in caps),
            wake=wakeup.set,
            monitors_config=DisplayCap.MONITORS_CONFIG in caps,
            streaming=ctx.streaming_video,
            video_codecs=client_video_codecs(caps, ctx.video_codecs),
            sized_streams=DisplayCap.SIZED_STREAM in caps,
            stream_reports=DisplayCap.STREAM_REPORT in caps,
            clock=trio.current_time,
        )
        pipeline.attach()
        self.displays[ch.channel_id] = pipeline
        if ch.channel_id == 0:
            self.display = pipeline
        try:
            await ch.set_ack(ACK_WINDOW)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._display_receiver, ch, pipeline, nursery.cancel_scope)
                while True:
                    while not pipeline.has_work:
                        deadline = pipeline.next_deadline()
                        with trio.move_on_at(math.inf if deadline is None else deadline):
                            await wakeup.wait()
                    for item in pipeline.items():
                        if isinstance(item, Job):
                            for msg in await self._run(item):
                                await ch.send(msg)
                        else:
                            await ch.send(item)
        finally:
            pipeline.detach()
            if self.display is pipeline:
                self.display = None
            if self.displays.get(ch.channel_id) is pipeline:
                del self.displays[ch.channel_id]

    async def _run(self, job: Job) -> list[Message]:
        """Run an encode: large ones in a worker thread (one at a time per client, in order)."""
        if job.inline:
            return job.run()
        return await trio.to_thread.run_sync(job.run, limiter=self._ctx.encode_limiter)

    async def _display_receiver(
        self, ch: ServerChannel, pipeline: DisplayPipeline, scope: trio.CancelScope
    ) -> None:
        try:
            async for msg in ch:
                if isinstance(msg, DisplayInit):
                    pipeline.client_init(msg)
                    log.debug(
                        "%r: display init: pixmap cache %d, GLZ window %d pixels",
                        self,
                        msg.pixmap_cache_size,
                        msg.glz_dictionary_window_size,
                    )
                elif isinstance(msg, DisplayStreamReport):
                    stream = pipeline.streams.get(msg.stream_id)
                    current = stream is not None and stream.report_id == msg.unique_id  # not stale
                    if current and msg.num_drops != INVALID_STREAM_DROPS:
                        self.media.stream_report(msg.last_frame_delay)
                    pipeline.stream_report(msg)
                elif isinstance(msg, DisplayPreferredVideoCodecType):
                    pipeline.set_preferred_codecs(msg.codecs)
                    log.info("%r: preferred video codecs %s", self, list(msg.codecs))
                elif isinstance(msg, DisplayPreferredCompression):
                    wanted = Compression.from_wire(msg.image_compression)
                    if wanted is None:
                        log.info("%r: cannot honour preferred compression %d", self, msg.image_compression)
                    else:
                        pipeline.set_compression(wanted)
                        log.info("%r: preferred compression %s", self, wanted.value)
                else:
                    log.debug("%r: display channel: ignoring %s", self, type(msg).__name__)
        finally:
            scope.cancel()  # the peer is gone: stop the sender too

    # --- inputs -----------------------------------------------------------------------------

    async def _inputs(self, ch: ServerChannel) -> None:
        source = self._ctx.source()
        state = InputsState(
            self.id, lambda: self.mouse_mode, lambda: (source.width, source.height), self._head_at
        )
        await ch.send(InputsInit(KeyboardModifierFlags(0)))
        async for msg in ch:
            events, replies = state.handle(msg)
            for reply in replies:
                await ch.send(reply)
            for event in events:
                if isinstance(event, MotionEvent):
                    self.pointer = (event.x, event.y)
                    for wake in self.cursor_wakeups:
                        wake.set()
                self._ctx.publish(event)

    # --- audio ------------------------------------------------------------------------------

    async def _playback(self, ch: ServerChannel) -> None:
        if self._ctx.audio is not None:
            await self._ctx.audio.serve_playback(ch, self.media)

    async def _record(self, ch: ServerChannel) -> None:
        if self._ctx.audio is not None:
            await self._ctx.audio.serve_record(ch, self.id)

    # --- cursor -----------------------------------------------------------------------------

    async def _cursor(self, ch: ServerChannel) -> None:
        shared = self._ctx.pointer
        wakeup = Wakeup()
        self.cursor_wakeups.append(wakeup)
        try:
            with shared.watch(wakeup):
                await self._cursor_updates(ch, shared, wakeup)
        finally:
            self.cursor_wakeups.remove(wakeup)

    async def _cursor_updates(self, ch: ServerChannel, shared: SharedPointer, wakeup: Wakeup) -> None:
        await ch.set_ack(ACK_WINDOW)
        shape, visible = shared.shape, shared.visible
        x, y = self._cursor_position()
        wire = shape.to_wire() if shape is not None else Cursor.none()
        await ch.send(CursorInit(x, y, 0, 0, visible and shape is not None, wire))
        sent = (shape, visible, (x, y))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._drain, ch, nursery.cancel_scope)
            while True:
                await wakeup.wait()
                shape, visible = shared.shape, shared.visible
                pos = self._cursor_position()
                if (shape, visible) != sent[:2]:
                    if not visible or shape is None:
                        await ch.send(CursorHide())
                    else:
                        await ch.send(CursorSet(pos[0], pos[1], True, shape.to_wire()))
                elif pos != sent[2] and visible:
                    await ch.send(CursorMove(*pos))
                sent = (shape, visible, pos)

    def _cursor_position(self) -> tuple[int, int]:
        if self.mouse_mode == MouseMode.SERVER:
            return _i16(self.pointer)
        return _i16(self._ctx.pointer.position)

    async def _drain(self, ch: ServerChannel, scope: trio.CancelScope) -> None:
        """Read (and drop) what the client sends on a channel we only write to; stop at its end."""
        try:
            async for msg in ch:
                log.debug("%r: ignoring %s", self, type(msg).__name__)
        finally:
            scope.cancel()


def _i16(pos: tuple[int, int]) -> tuple[int, int]:
    lo, hi = -(1 << 15), (1 << 15) - 1
    return (min(max(lo, pos[0]), hi), min(max(lo, pos[1]), hi))
