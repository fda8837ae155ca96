"""A linked channel over a trio stream: framing, ACK/PONG duties, send/receive."""

from __future__ import annotations

import ssl
from collections import deque
from types import TracebackType

import trio
from spice_proto import (
    Caps,
    ChannelType,
    Connection,
    ConnectionClosed,
    ConnectionState,
    Event,
    Message,
    MessageReceived,
    ProtocolError,
    UnknownMessage,
)

from ._alarm import clock_reader, nap
from ._errors import ChannelClosed, ProtocolViolation
from ._plain import PlainSocket, plain_socket, read_plain, write_plain

__all__ = ["BaseChannel", "Channel", "ServerChannel"]

_RECEIVE_SIZE = 256 * 1024
#: A read that brought this much is followed by the next at once, whatever
#: ``min_read_interval`` says: a large message (an 8 MB bitmap would otherwise wait 1 ms per
#: read), or a sender the interval would hold back.
_BIG_READ = 64 * 1024


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{exc} ({cause})" if cause and str(cause) else str(exc) or type(exc).__name__


class _Turn:
    """A lock taken in turn: free, taking it makes no trio call; contended, the takers wait in
    a parking lot and the lock passes straight to the first of them.

    ``trio.Lock`` costs about a dozen Python calls to take and give back even when free (the
    current task looked up twice, a parking-lot breaker added and removed); the receive path
    takes one per message.
    """

    __slots__ = ("_held", "_lot", "_waiting")

    def __init__(self) -> None:
        self._held = False
        self._waiting = 0
        self._lot = trio.lowlevel.ParkingLot()

    async def acquire(self) -> None:
        if not self._held:
            self._held = True
            return
        self._waiting += 1
        try:
            await self._lot.park()  # woken by release(): the lock is ours, still held
        finally:
            self._waiting -= 1

    def release(self) -> None:
        if self._waiting:
            self._lot.unpark()
        else:
            self._held = False


class _StreamIO:
    """Moves the bytes of one :class:`Connection` over a trio stream, mapping errors."""

    def __init__(self, stream: trio.abc.Stream, conn: Connection) -> None:
        self.stream = stream
        self.conn = conn
        self._outgoing = conn.outgoing  # (tested for bytes queued a few times a message)
        self._send_lock = _Turn()
        self._send_error: ChannelClosed | None = None
        self._eof = False
        self.bytes_sent = 0
        self.bytes_received = 0
        self.min_read_interval = 0.0
        self._last_read = -float("inf")
        self._last_read_size = 0
        self._last_read_waited = False
        #: ``trio.current_time`` in one call (read several times a message).
        self.now = clock_reader()
        #: When the last read that brought bytes returned (when made, before any).
        self.read_at = self.now()
        #: Whether the connection's buffered bytes were found to make no further message (the
        #: next :meth:`next_events` reads before it parses).
        self._drained = False
        #: The stream :attr:`_plain` was worked out for, and what moves its bytes directly
        #: (``None``: its own ``receive_some``/``send_all``).
        self._plain_for: trio.abc.Stream | None = None
        self._plain: PlainSocket | None = None

    def _plain_socket(self) -> PlainSocket | None:
        if self.stream is not self._plain_for:  # (a test may swap the stream)
            self._plain_for, self._plain = self.stream, plain_socket(self.stream)
        return self._plain

    async def flush(self, *, best_effort: bool = False, tail: int = 0) -> None:
        """Send what the connection queued.  ``best_effort`` (automatic ACK/PONG duties while
        receiving) swallows a send failure so that messages already received are not lost;
        the failure is raised by the next explicit send.  ``tail``: the last so many bytes go
        in a write of their own (the ticket after the auth mechanism word, as spice-gtk sends
        them: Wireshark's SPICE dissector reads them only from separate segments)."""
        if self._send_error is None and not self._outgoing:
            return  # nothing queued (most reads): no lock taken
        await self._send_lock.acquire()
        try:
            data = self.conn.data_to_send()
            if self._send_error is not None:
                if best_effort:
                    return
                raise ChannelClosed(str(self._send_error)) from self._send_error
            if not data:
                return
            cut = len(data) - tail if 0 < tail < len(data) else len(data)
            # the automatic replies on a plain socket: written at once, no checkpoint (the
            # reader's next read is one)
            plain = self._plain_socket() if best_effort and not tail else None
            try:
                if plain is not None:
                    await write_plain(plain, data)
                else:
                    for part in (data[:cut], data[cut:]):
                        if part:
                            await self.stream.send_all(part)
                self.bytes_sent += len(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as exc:
                self._send_error = ChannelClosed(f"connection lost while sending: {_describe(exc)}")
                if not best_effort:
                    raise self._send_error from exc
        finally:
            self._send_lock.release()

    async def next_events(self) -> list[Event]:
        """Every event the buffered bytes give (reading first if there is none).

        Link-stage events come one at a time; messages come in batches so that the
        automatic ACK/PONG replies they cause go out in one write."""
        while True:
            if not self._drained:
                try:  # (what came before a fault comes first; the next call raises it)
                    batch = self.conn.next_events()
                except ProtocolError as exc:
                    raise ProtocolViolation(str(exc)) from exc
                # what is buffered makes no further message: the next call reads first (after
                # the link stage only: there, what the caller sends next may change how the
                # same bytes parse, and the link's last event may have more bytes behind it;
                # after a fault or the end, the connection's state says so)
                self._drained = self.conn.state is ConnectionState.MESSAGES and (
                    not batch or isinstance(batch[-1], MessageReceived)
                )
                if batch:
                    if self._send_error is not None or self._outgoing:  # (no await: most batches)
                        await self.flush(best_effort=True)
                    return batch
            # replies queued since (BaseChannel.queue), or by the batch before: out before waiting
            if self._send_error is not None or self._outgoing:
                await self.flush(best_effort=True)
            if self._eof:
                raise ChannelClosed("connection already at end of file")
            if self.min_read_interval and self._last_read_size < _BIG_READ and not self._last_read_waited:
                # Data came in less than the interval ago: let more arrive and take it in one
                # read (a wake-up costs more than the small messages a flood comes in).
                wait = self._last_read + self.min_read_interval - self.now()
                if wait > 0:
                    await nap(wait)  # a timed wake-up without a cancellation
                    if self._plain is not None:
                        self._plain.waited = False  # (bytes came meanwhile, most likely: ask first)
            asked = self.now() if self.min_read_interval else 0.0
            # (the plain socket kept, looked up in line: this runs once a read)
            plain = self._plain if self.stream is self._plain_for else self._plain_socket()
            data: bytes | bytearray
            try:
                if plain is not None:
                    data = await read_plain(plain, _RECEIVE_SIZE)
                else:
                    data = await self.stream.receive_some(_RECEIVE_SIZE)
            except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
                raise ChannelClosed(f"connection lost while receiving: {_describe(exc)}") from exc
            except trio.ClosedResourceError as exc:
                raise ChannelClosed("channel closed") from exc
            if not data:
                self._eof = True
            else:
                self.read_at = self.now()
                if self.min_read_interval:
                    self._last_read = self.read_at
                    self._last_read_size = len(data)
                    # The socket stayed empty longer than the interval: no flood (a video
                    # stream's frame every 40 ms, say), so waiting before the next read would
                    # gather nothing and cost a wake-up per message.
                    self._last_read_waited = self._last_read - asked >= self.min_read_interval
            self.bytes_received += len(data)
            self.conn.receive_data(data)
            self._drained = False

    async def next_event(self) -> Event:
        """The next event (during the link stage, where events come singly)."""
        (event,) = await self.next_events()
        return event


class BaseChannel:
    """What client and server channels share: ``send``, ``receive``, ``async for``, ``aclose``.

    One task may call :meth:`receive` at a time; any number may call :meth:`send`.
    """

    def __init__(self, stream: trio.abc.Stream, conn: Connection) -> None:
        self._io = _StreamIO(stream, conn)
        self._recv_lock = _Turn()
        self._inbox: deque[MessageReceived] = deque()
        self._peer_closed = False
        self._closed = False
        #: Serial of the message :meth:`receive` returned last.
        self.last_serial = 0
        #: ``trio.current_time()`` when the peer's last complete message (ACK and PONG too) arrived,
        #: or when the channel was made.
        self.last_message_at = trio.current_time()
        #: Messages received (ACK and PONG duties included) and sent with :meth:`send`.
        self.messages_received = 0
        self.messages_sent = 0

    @property
    def bytes_received(self) -> int:
        """Bytes read from the stream since the link."""
        return self._io.bytes_received

    @property
    def bytes_sent(self) -> int:
        """Bytes written to the stream since the link."""
        return self._io.bytes_sent

    @property
    def min_read_interval(self) -> float:
        """Seconds from one socket read that brought data to the next (0, the default: read
        at once).  Under a flood of small messages a short interval (1 ms) lets each read
        take many of them, at the cost of up to that much delay for messages that follow
        within it; a message after a quiet spell is read as soon as it arrives, and a read
        that brought 64 KiB or more (a large message) is followed at once."""
        return self._io.min_read_interval

    @min_read_interval.setter
    def min_read_interval(self, seconds: float) -> None:
        if not 0 <= seconds <= 1:
            raise ValueError(f"min_read_interval must be within 0..1 s, not {seconds}")
        self._io.min_read_interval = seconds

    @property
    def connection(self) -> Connection:
        """The sans-I/O state machine underneath."""
        return self._io.conn

    @property
    def stream(self) -> trio.abc.Stream:
        return self._io.stream

    @property
    def channel_type(self) -> ChannelType | int:
        return self._io.conn.channel_type

    @property
    def channel_id(self) -> int:
        return self._io.conn.channel_id

    @property
    def connection_id(self) -> int:
        return self._io.conn.connection_id

    @property
    def mini_header(self) -> bool:
        return self._io.conn.mini_header

    @property
    def peer_common_caps(self) -> Caps:
        return self._io.conn.peer_common_caps

    @property
    def peer_channel_caps(self) -> Caps:
        return self._io.conn.peer_channel_caps

    def _take(self, events: list[Event]) -> None:
        """A batch :meth:`_StreamIO.next_events` read (the caller holds the receive lock; a plain
        call, not a coroutine: one level less for the reader's every wake-up)."""
        now = self._io.read_at  # one batch, one arrival time: when its last bytes came
        for event in events:
            if isinstance(event, MessageReceived):
                self.messages_received += 1
                self._inbox.append(event)
                self.last_message_at = now
            elif isinstance(event, ConnectionClosed):
                self._peer_closed = True
            else:  # a link event after the link stage cannot happen
                raise ProtocolViolation(f"unexpected {type(event).__name__} after the link stage")

    def _check_open(self) -> None:
        if self._closed:
            raise ChannelClosed("channel closed by us")

    async def receive(self) -> Message | UnknownMessage:
        """The next message; raises :class:`ChannelClosed` once the peer closed the connection."""
        # (the checks and the free lock in line: this runs once a message)
        if self._closed:
            raise ChannelClosed("channel closed by us")
        inbox = self._inbox
        while not inbox:
            if self._peer_closed:
                raise ChannelClosed("peer closed the connection")
            lock = self._recv_lock
            if lock._held:
                await lock.acquire()
            else:
                lock._held = True
            try:
                if not inbox and not self._peer_closed:
                    self._take(await self._io.next_events())
            finally:
                lock.release()
        item = inbox.popleft()
        self.last_serial = item.serial
        return item.message

    def queue(self, message: Message | UnknownMessage) -> int:
        """Queue one message to go out with the automatic replies (ACK, PONG): after the next
        batch this channel receives, or before its reader next waits for data, whichever
        comes first; returns its serial number.  For what the reader itself answers and may
        wait that long (stream reports): on a plain socket no scheduler round is spent on it.
        A failure to send it is raised by the next :meth:`send`; a server channel's ACK window
        is not waited for."""
        self._check_open()
        if self._io.conn.state is not ConnectionState.MESSAGES:
            raise ChannelClosed(f"cannot send: connection is {self._io.conn.state.name}")
        serial = self._io.conn.send(message)
        self.messages_sent += 1
        return serial

    async def send(self, message: Message | UnknownMessage) -> int:
        """Send one message; returns its serial number."""
        serial = self.queue(message)
        await self._io.flush()
        return serial

    async def aclose(self) -> None:
        """Close the connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._io.stream.aclose()

    def __aiter__(self) -> BaseChannel:
        return self

    async def __anext__(self) -> Message | UnknownMessage:
        try:
            return await self.receive()
        except ChannelClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> BaseChannel:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Channel(BaseChannel):
    """A client channel returned by :func:`spice_net.open_channel` / :func:`spice_net.link_channel`."""

    @property
    def server_common_caps(self) -> Caps:
        return self.peer_common_caps

    @property
    def server_channel_caps(self) -> Caps:
        return self.peer_channel_caps

    async def __aenter__(self) -> Channel:
        return self


class ServerChannel(BaseChannel):
    """A server channel returned by :func:`spice_net.accept_channel`.

    When a SET_ACK window is in force, :meth:`send` waits while the client owes
    ACKs (more than twice the window unacknowledged), reading the client's
    messages meanwhile; they stay queued for :meth:`receive`.
    """

    @property
    def client_common_caps(self) -> Caps:
        return self.peer_common_caps

    @property
    def client_channel_caps(self) -> Caps:
        return self.peer_channel_caps

    async def set_ack(self, window: int) -> int:
        """Start ACK flow control with ``window`` messages; returns the generation."""
        self._check_open()
        generation = self._io.conn.send_set_ack(window)
        await self._io.flush()
        return generation

    async def wait_send_allowed(self) -> None:
        """Wait until the client's ACKs allow another message."""
        conn = self._io.conn
        while not conn.may_send:
            self._check_open()
            if self._peer_closed or conn.state is not ConnectionState.MESSAGES:
                raise ChannelClosed("peer closed the connection")
            await self._recv_lock.acquire()
            try:
                if not conn.may_send and not self._peer_closed:
                    self._take(await self._io.next_events())
            finally:
                self._recv_lock.release()

    async def send(self, message: Message | UnknownMessage) -> int:
        await self.wait_send_allowed()
        return await super().send(message)

    async def __aenter__(self) -> ServerChannel:
        return self
