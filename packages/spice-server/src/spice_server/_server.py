"""The embeddable server: listeners, link decisions, clients, shared display and cursor."""

from __future__ import annotations

import logging
import math
import os
import secrets
import ssl
import uuid as _uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio
from spice_net import LinkDecision, ServerChannel, SpiceNetError, TicketKeyPool, accept_channel
from spice_net.lowlevel import sasl_users as sasl_users_check
from spice_proto import (
    DEFAULT_COMMON_CAPS,
    MAX_PASSWORD_LENGTH,
    Caps,
    ChannelType,
    DisplayCap,
    InputsCap,
    LinkErr,
    LinkMess,
    MainCap,
    MouseMode,
    VideoCodecType,
)

from ._admission import PendingLink, PendingLinks, Progress, address_key
from ._agent import GuestAgent
from ._audio import AudioSource, audio_caps
from ._client import ClientContext, ClientSession
from ._compress import Compression
from ._cursor import CursorShape, default_cursor
from ._events import InputEvent
from ._pointer import SharedPointer
from ._ports import ServerPort
from ._source import Framebuffer, FrameSource
from ._throttle import AuthThrottle
from ._unix import open_unix_listener, remove_unix_socket
from ._video import StreamingMode
from ._video_encode import parse_video_codecs

__all__ = ["Server", "ServerAddress"]

log = logging.getLogger("spice_server")

#: Channel capabilities we offer, per channel type (the streaming helper adds codecs here).
SERVER_CHANNEL_CAPS: dict[ChannelType, Caps] = {
    ChannelType.MAIN: Caps.of(MainCap.NAME_AND_UUID),
    ChannelType.DISPLAY: Caps.of(
        DisplayCap.MONITORS_CONFIG,
        DisplayCap.PREF_COMPRESSION,
        DisplayCap.STREAM_REPORT,
        DisplayCap.PREF_VIDEO_CODEC_TYPE,
    ),
    ChannelType.INPUTS: Caps.of(InputsCap.KEY_SCANCODE),
    ChannelType.CURSOR: Caps(),
}

#: Largest message a client may send us (its messages are small; this bounds a hostile header).
MAX_CLIENT_MESSAGE = 256 * 1024


@dataclass(frozen=True)
class ServerAddress:
    """Where a started server listens (ports are the real ones when 0 was asked for)."""

    host: str
    port: int | None
    tls_port: int | None
    #: The Unix socket path, when serving on one.
    unix_path: str | None = None


#: How often at most the server warns that it sheds connections over the pending-link limits.
REFUSAL_WARNING_INTERVAL = 10.0


def _peer(stream: trio.abc.Stream) -> tuple[str, str]:
    """``(host, "host:port")`` of the stream's peer (TLS unwrapped); a placeholder host if it has none."""
    inner: Any = stream
    while isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    sock = getattr(inner, "socket", None)
    if sock is None:
        name = type(stream).__name__
        return name, name
    try:
        name = sock.getpeername()
    except OSError:
        return "unknown peer", "unknown peer"
    if not isinstance(name, tuple):  # a Unix socket: one host, named by our own path
        local = sock.getsockname()
        where = f"unix:{local}" if isinstance(local, str) and local else "unix socket"
        return "unix", where
    host, port = name[:2]
    return str(host), f"{host}:{port}"


class Server:
    """A SPICE server showing one display source to any number of clients.

    ``display`` is the :class:`FrameSource` every client sees (default: a black
    1024x768 :class:`Framebuffer`), or a list of them: one monitor each, every one its
    own display channel (viewers open a window per monitor).  ``password`` enables ticket authentication
    (``password_lifetime`` seconds, then every new link is refused).
    ``image_compression`` is one of ``auto_glz`` (default), ``auto_lz``, ``quic``,
    ``glz``, ``lz``, ``off``.  ``streaming_video`` is ``filter`` (default: areas of photo-like
    content redrawn at video rate become streams), ``all`` (any such area) or ``off``.
    ``video_codecs`` orders the stream codecs (``mjpeg``, ``h264``, ``vp8``, ``vp9``; default
    in that order, as libspice-server); each client gets the first one it decodes, unless it
    sends a preference of its own.  VP8, VP9 and H.264 need PyAV.
    ``encode_threads`` bounds the worker threads that encode large images for all clients
    (default: the CPU count, at most 4).  ``ssl_context`` (see :func:`spice_net.server_ssl_context`)
    is needed for a TLS port; ``secure_only`` refuses plain-TCP links (NEED_SECURED).
    ``sasl_users`` (user -> password) makes every link log in with SASL instead (PLAIN, offered
    only over TLS, as libspice-server with ``sasl=on`` offers no ticket).  ``sasl_options`` does
    it through Cyrus libsasl2 configured by them (``mech_list``, ``sasldb_path``, ...), plain
    TCP included: there DIGEST-MD5, whose security layer then wraps the channel.

    Hostile clients: a connection must link and authenticate (TLS handshake included) within
    ``link_timeout`` seconds of being accepted.  At most ``max_pending_per_address`` such
    connections per peer address (IPv6: per /64) are served, further ones are closed at once; of
    ``max_pending_links`` in all, the oldest is dropped to make room for a new one.  A wrong
    ticket is answered after ``wrong_ticket_delay`` seconds, doubling with each further one from
    that address up to ``max_wrong_ticket_delay``; the next connection from there waits as long
    before it gets a ticket key.  A linked channel that receives no message
    (not even ACK or PONG) for ``idle_timeout`` seconds is closed (a PING goes out half-way);
    for a main channel that ends the client.  Ticket keys come from a pool of ``key_pool_size``
    refilled in a worker thread.  ``max_clients`` caps linked clients, and
    ``max_clients_per_address`` those from one peer address (IPv6: per /64), so that one
    address linking main channels without a password cannot take every place.

    Run it with ``await nursery.start(server.serve, "127.0.0.1", 5900)``; the
    application then updates ``server.display``, reads ``server.input_events()``
    and sets the pointer with :meth:`set_cursor` / :meth:`move_cursor`.
    """

    def __init__(
        self,
        display: FrameSource | Sequence[FrameSource] | None = None,
        *,
        password: str | None = None,
        password_lifetime: float | None = None,
        image_compression: str | Compression = Compression.AUTO_GLZ,
        streaming_video: str | StreamingMode = StreamingMode.FILTER,
        video_codecs: Sequence[str | VideoCodecType] | None = None,
        encode_threads: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        secure_only: bool = False,
        name: str = "spice-python",
        initial_mouse_mode: MouseMode = MouseMode.CLIENT,
        max_clients: int = 64,
        max_clients_per_address: int = 16,
        max_pending_links: int = 64,
        max_pending_per_address: int = 16,
        link_timeout: float = 10.0,
        idle_timeout: float | None = 60.0,
        wrong_ticket_delay: float = 0.5,
        max_wrong_ticket_delay: float = 4.0,
        key_pool_size: int = 4,
        audio: AudioSource | None = None,
        agent: GuestAgent | None = None,
        sasl_users: Mapping[str, str] | None = None,
        ports: Sequence[ServerPort] = (),
        sasl_options: Mapping[str, str] | None = None,
    ) -> None:
        #: SASL logins (user -> password), PLAIN inside TLS only, instead of the ticket.
        self._sasl = sasl_users_check(dict(sasl_users)) if sasl_users is not None else None
        #: libsasl2's settings for SASL logins through it, any transport.
        self._sasl_options = dict(sasl_options) if sasl_options is not None else None
        if display is None:
            displays: list[FrameSource] = [Framebuffer(1024, 768)]
        elif isinstance(display, FrameSource):
            displays = [display]
        else:
            displays = list(display)
            if not displays:
                raise ValueError("display: give at least one source")
        #: One source per monitor, each a display channel of its own (``display`` is the first).
        self.displays = displays
        #: Sound for the clients and what they record (playback/record channels only with it).
        self.audio = audio
        #: The built-in guest agent (clipboard, resize requests, files), when given.
        self.agent = agent
        #: Named port channels (``ServerPort``) offered to every client.
        self.ports = tuple(ports)
        if len({p.name for p in self.ports}) != len(self.ports):
            raise ValueError("ports: two ports share a name")
        if agent is not None:
            agent._bind(lambda: self.displays)
        self.image_compression = Compression.parse(image_compression)
        self.streaming_video = StreamingMode.parse(streaming_video)
        self.video_codecs = parse_video_codecs(video_codecs)
        threads = encode_threads if encode_threads is not None else min(4, os.cpu_count() or 1)
        if threads < 1:
            raise ValueError("encode_threads must be at least 1")
        #: Shared by every client's encodes that run in worker threads.
        self.encode_limiter = trio.CapacityLimiter(threads)
        self.ssl_context = ssl_context
        self.secure_only = secure_only
        self.name = name
        self.uuid = _uuid.uuid4().bytes
        if initial_mouse_mode not in (MouseMode.SERVER, MouseMode.CLIENT):
            raise ValueError("initial_mouse_mode must be MouseMode.SERVER or MouseMode.CLIENT")
        self.initial_mouse_mode = initial_mouse_mode
        self.max_clients = max_clients
        if max_clients_per_address < 1:
            raise ValueError("max_clients_per_address must be at least 1")
        self.max_clients_per_address = max_clients_per_address
        self.link_timeout = link_timeout
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError("idle_timeout must be positive (or None)")
        self.idle_timeout = idle_timeout
        self._pending = PendingLinks(max_pending_per_address, max_pending_links)
        self._throttle = AuthThrottle(wrong_ticket_delay, max_wrong_ticket_delay)
        self._keys = TicketKeyPool(key_pool_size)
        self._shed = {"refused": 0, "dropped": 0}  # since the last warning
        self._shed_warned_at = -math.inf
        self._password: str | None = None
        self._password_expiry: float | None = None
        self._password_lifetime: float | None = None
        self.set_password(password, password_lifetime)
        self._sessions: dict[int, ClientSession] = {}
        self._subscribers: list[trio.MemorySendChannel[InputEvent]] = []
        self._dropped_warned: set[int] = set()
        self._pointer = SharedPointer(default_cursor())
        self.address: ServerAddress | None = None

    # --- configuration ----------------------------------------------------------------------

    @property
    def display(self) -> FrameSource:
        """The (first) monitor's source; the application may replace it."""
        return self.displays[0]

    @display.setter
    def display(self, source: FrameSource) -> None:
        self.displays[0] = source

    def set_password(self, password: str | None, lifetime: float | None = None) -> None:
        """Require ``password`` for new links (``None``: no ticketing), valid for ``lifetime`` seconds."""
        if password is not None:
            raw = password.encode("utf-8")
            if len(raw) > MAX_PASSWORD_LENGTH or b"\0" in raw:
                raise ValueError(f"a SPICE password is at most {MAX_PASSWORD_LENGTH} bytes without NUL")
        if lifetime is not None and lifetime < 0:
            raise ValueError("password lifetime cannot be negative")
        self._password = password
        self._password_lifetime = lifetime
        # The expiry is fixed against trio's clock when first needed (the server may be built outside trio).
        self._password_expiry = None

    def _current_password(self) -> str | None:
        if self._password_lifetime is not None:
            now = trio.current_time()
            if self._password_expiry is None:
                self._password_expiry = now + self._password_lifetime
            if now >= self._password_expiry:
                # Expired: no ticket can match a fresh random secret, so the link gets PERMISSION_DENIED.
                return secrets.token_hex(16)
        return self._password

    @property
    def pending_links(self) -> int:
        """Accepted connections that have not linked and authenticated yet."""
        return len(self._pending)

    @property
    def clients(self) -> list[ClientSession]:
        """The connected clients."""
        return list(self._sessions.values())

    # --- cursor -----------------------------------------------------------------------------

    @property
    def cursor_shape(self) -> CursorShape | None:
        """The pointer shape every client shows."""
        return self._pointer.shape

    @property
    def cursor_visible(self) -> bool:
        return self._pointer.visible

    @property
    def cursor_position(self) -> tuple[int, int]:
        """Where clients in client mouse mode show the pointer."""
        return self._pointer.position

    def set_cursor(self, rgba: bytes, width: int, height: int, hot_x: int = 0, hot_y: int = 0) -> None:
        """Show this pointer shape (R, G, B, A bytes, not premultiplied) on every client."""
        self._pointer.show(CursorShape.from_rgba(rgba, width, height, hot_x, hot_y))

    def hide_cursor(self) -> None:
        self._pointer.hide()

    def move_cursor(self, x: int, y: int) -> None:
        """Move the pointer every client in client mouse mode shows (server-mode clients follow their own)."""
        self._pointer.move(x, y)

    # --- input events -----------------------------------------------------------------------

    def input_events(self, max_buffer: int = 1024) -> trio.MemoryReceiveChannel[InputEvent]:
        """A channel receiving every client's input events from now on (``async for`` it).

        Close it when done.  If it falls ``max_buffer`` events behind, newer events are dropped
        (and logged) rather than slowing the clients down.
        """
        send, receive = trio.open_memory_channel[InputEvent](max_buffer)
        self._subscribers.append(send)
        return receive

    def _publish(self, event: InputEvent) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except trio.WouldBlock:
                if id(send) not in self._dropped_warned:
                    self._dropped_warned.add(id(send))
                    log.warning("an input_events() reader is not keeping up; dropping events")
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(send)

    # --- serving ----------------------------------------------------------------------------

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int | None = 5900,
        *,
        tls_port: int | None = None,
        unix_path: str | None = None,
        task_status: trio.TaskStatus[ServerAddress] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` (TCP), ``host:tls_port`` (TLS) and/or the Unix socket ``unix_path``
        (as QEMU ``-spice unix=on,addr=PATH``; clients use ``spice+unix://PATH``) until cancelled.

        Port 0 picks a free port; ``task_status.started`` reports the real ones.  The socket
        file is created (an existing socket there is replaced) and removed at the end.
        """
        if port is None and tls_port is None and unix_path is None:
            raise ValueError("give a port, a tls_port, a unix_path, or several")
        if tls_port is not None and self.ssl_context is None:
            raise ValueError("a TLS port needs ssl_context (spice_net.server_ssl_context(cert, key))")
        plain = await trio.open_tcp_listeners(port, host=host) if port is not None else []
        secure_tcp = await trio.open_tcp_listeners(tls_port, host=host) if tls_port is not None else []
        assert self.ssl_context is not None or not secure_tcp
        secure = [
            trio.SSLListener(tcp, self.ssl_context, https_compatible=False)  # type: ignore[arg-type]
            for tcp in secure_tcp
        ]
        if unix_path is not None:
            plain.append(await open_unix_listener(unix_path))
        real_port = plain[0].socket.getsockname()[1] if port is not None else None
        real_tls = secure_tcp[0].socket.getsockname()[1] if secure_tcp else None
        self.address = ServerAddress(host, real_port, real_tls, unix_path)
        log.info("serving on %s (tcp %s, tls %s, unix %s)", host, real_port, real_tls, unix_path)
        try:
            async with trio.open_nursery() as nursery:
                if not self._keys.running:  # (another serve() of this server may run it already)
                    await nursery.start(self._keys.run)
                for source in self.displays:
                    nursery.start_soon(source.run)
                if plain:
                    nursery.start_soon(
                        trio.serve_listeners, partial(self.handle_connection, secure=False), plain
                    )
                if secure:
                    nursery.start_soon(
                        trio.serve_listeners, partial(self.handle_connection, secure=True), secure
                    )
                task_status.started(self.address)
        finally:
            self.address = None
            if unix_path is not None:
                remove_unix_socket(unix_path)

    def _decide(self, mess: LinkMess, secure: bool, address: str) -> LinkDecision:
        try:
            kind = ChannelType(mess.channel_type)
        except ValueError:
            return LinkErr.CHANNEL_NOT_AVAILABLE
        available = SERVER_CHANNEL_CAPS.get(kind)
        if self.audio is not None and kind in (ChannelType.PLAYBACK, ChannelType.RECORD):
            available = audio_caps()[kind is ChannelType.RECORD]
        channels = len(self.displays) if kind is ChannelType.DISPLAY else 1
        if kind in (ChannelType.PORT, ChannelType.WEBDAV):
            channels = sum(1 for p in self.ports if p.channel_type is kind)
            available = Caps() if channels else None
        if available is None or not 0 <= mess.channel_id < channels:
            return LinkErr.CHANNEL_NOT_AVAILABLE
        if self.secure_only and not secure:
            return LinkErr.NEED_SECURED
        if kind is ChannelType.MAIN:
            if len(self._sessions) >= self.max_clients:
                log.warning("refusing a client: %d clients already", len(self._sessions))
                return LinkErr.ERROR
            same = sum(1 for s in self._sessions.values() if s.address == address)
            if same >= self.max_clients_per_address:
                log.warning("refusing a client from %s: %d clients from there already", address, same)
                return LinkErr.ERROR
        else:
            session = self._sessions.get(mess.connection_id)
            if session is None or session.closed:
                return LinkErr.BAD_CONNECTION_ID
        return available

    async def handle_connection(self, stream: trio.abc.Stream, *, secure: bool = False) -> None:
        """Serve one incoming connection (any trio stream): link it, then run its channel.

        Never raises for a misbehaving client: failures are logged and the stream closed.
        """
        host, peer = _peer(stream)
        channel = await self._link(stream, host, peer, secure)
        if channel is None:
            return
        kind = ChannelType(channel.channel_type)
        if kind is ChannelType.MAIN:
            session = ClientSession(
                self._client_context(), self._new_session_id(), peer, secure, address=address_key(host)
            )
            self._sessions[session.id] = session
            log.info("%r connected%s", session, " over TLS" if secure else "")
            try:
                await session.run(channel)
            finally:
                self._sessions.pop(session.id, None)
                log.info("%r disconnected", session)
            return
        # The channel runs in its client's nursery; this task (whose return closes the stream)
        # waits for it to end.
        owner = self._sessions.get(channel.connection_id)
        done = owner.attach(channel) if owner is not None else None
        if done is None:
            log.info("%s: %s channel for a client that is gone", peer, kind.name.lower())
            await channel.aclose()
            return
        await done.wait()

    async def _link(
        self, stream: trio.abc.Stream, host: str, peer: str, secure: bool
    ) -> ServerChannel | None:
        """Link and authenticate within the pending-link limits; ``None`` (stream closed) on failure."""
        with trio.CancelScope() as scope:
            entry = self._pending.admit(host, scope.cancel)
            if entry is None:
                self._note_shed("refused", peer)
                await trio.aclose_forcefully(stream)
                return None
            try:
                deadline = trio.current_time() + self.link_timeout
                # An address that sent wrong tickets lately waits before it costs us a key, as the
                # first to go if room is needed.
                suspect = self._throttle.delay(address_key(host), trio.current_time())
                if suspect:
                    self._pending.advance(entry, Progress.DENIED)
                    await trio.sleep(suspect)
                channel = await accept_channel(
                    stream,
                    password=self._current_password(),
                    channel_caps_for=lambda mess: self._requested(entry, mess, secure),
                    common_caps=DEFAULT_COMMON_CAPS,
                    timeout=max(0.0, deadline - trio.current_time()),
                    keys=self._keys,
                    on_wrong_ticket=lambda: self._wrong_ticket(entry, host, peer),
                    max_message_size=MAX_CLIENT_MESSAGE,
                    sasl=self._sasl,
                    sasl_options=self._sasl_options,
                )
            except SpiceNetError as exc:
                log.info("%s: link failed: %s", peer, exc)
                return None
            except Exception:
                log.exception("%s: link failed unexpectedly", peer)
                await trio.aclose_forcefully(stream)
                return None
            finally:
                self._pending.release(entry)
            self._throttle.succeeded(address_key(host))
            return channel
        await trio.aclose_forcefully(stream)  # (closed already unless it was dropped while waiting)
        self._note_shed("dropped", peer)
        return None

    def _requested(self, entry: PendingLink, mess: LinkMess, secure: bool) -> LinkDecision:
        if entry.progress is Progress.CONNECTED:
            self._pending.advance(entry, Progress.REQUESTED)
        return self._decide(mess, secure, entry.address)

    def _wrong_ticket(self, entry: PendingLink, host: str, peer: str) -> float:
        self._pending.advance(entry, Progress.DENIED)
        key = address_key(host)
        now = trio.current_time()
        delay = self._throttle.failed(key, now)
        count = self._throttle.failures(key, now)
        log.warning("%s: wrong password (%d in a row from %s); answering in %.1f s", peer, count, key, delay)
        return delay

    def _note_shed(self, how: str, peer: str) -> None:
        """Count a connection refused over its address's limit or dropped to make room; warn now and then."""
        log.debug("%s: %s before linking (pending-link limits)", peer, how)
        self._shed[how] += 1
        now = trio.current_time()
        if now - self._shed_warned_at >= REFUSAL_WARNING_INTERVAL:
            log.warning(
                "pending-link limits: refused %d connection(s) (over %d per address) and dropped %d "
                "(over %d in all) since the last warning; latest: %s",
                self._shed["refused"],
                self._pending.per_address,
                self._shed["dropped"],
                self._pending.total,
                peer,
            )
            self._shed = dict.fromkeys(self._shed, 0)
            self._shed_warned_at = now

    def _client_context(self) -> ClientContext:
        """What a new client gets: today's settings and the ways back to this server."""
        return ClientContext(
            name=self.name,
            uuid=self.uuid,
            initial_mouse_mode=self.initial_mouse_mode,
            image_compression=self.image_compression,
            streaming_video=self.streaming_video,
            video_codecs=self.video_codecs,
            idle_timeout=self.idle_timeout,
            encode_limiter=self.encode_limiter,
            audio=self.audio,
            source=lambda: self.display,
            pointer=self._pointer,
            publish=self._publish,
            agent=self.agent,
            displays=lambda: self.displays,
            ports=self.ports,
        )

    def _new_session_id(self) -> int:
        while True:
            candidate = secrets.randbits(32)
            if candidate and candidate not in self._sessions:
                return candidate
