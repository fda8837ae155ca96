"""A sans-I/O SPICE channel connection, for the client or the server role.

One :class:`Connection` per channel socket.  Feed it the bytes you read with
:meth:`Connection.receive_data` (``b""`` means end of file), pull events with
:meth:`Connection.next_event` until it returns :data:`NEED_DATA`, and write out
whatever :meth:`Connection.data_to_send` returns.  Nothing here does I/O or
cryptography: the caller encrypts and decrypts the ticket.

Client role::

    conn.initiate(channel_type=...)      -> LinkMess queued
    LinkReplyReceived(reply)            -> caller encrypts the password with reply.pub_key
    conn.send_ticket(ciphertext)        -> (mechanism word and) ticket queued
    LinkEstablished(...) | LinkFailed(error)

or, with SASL (the server offers ``AUTH_SASL``)::

    conn.start_sasl()                   -> SaslMechanisms(names)
    conn.sasl_start(name, data)         -> SaslReply(data, complete)
    conn.sasl_step(data) ...            -> SaslReply(...), until complete
    LinkEstablished(...) | LinkFailed(error)

Server role::

    LinkRequested(mess)                 -> conn.accept_link(pub_key, ...) or conn.reject_link(error)
    TicketReceived(mechanism, ciphertext) -> caller decrypts and checks it
    conn.finish_link(LinkErr.OK or an error)

Events: :class:`LinkRequested`, :class:`LinkReplyReceived`, :class:`TicketReceived`,
:class:`LinkEstablished`, :class:`LinkFailed`, :class:`MessageReceived`,
:class:`ConnectionClosed` (returned again on every later call).  A server that
gets a malformed link packet answers the matching link error itself and
reports :class:`LinkFailed`.

Message stage duties done automatically (queued into ``data_to_send``):
the client answers SET_ACK with ACK_SYNC, sends ACK after every ``window``
messages and answers PING with PONG (id and timestamp only).  The server
counts messages it sent since the last ACK: :attr:`Connection.may_send` turns
false once more than twice the window is unacknowledged, as libspice-server
does.  DISCONNECTING, NOTIFY, WAIT_FOR_CHANNELS and MIGRATE are recorded
(:attr:`Connection.disconnect_reason`, :attr:`Connection.migrate_flags`) and
still delivered as :class:`MessageReceived`.  Malformed bytes raise
:class:`ProtocolError` (again on every later call).
"""

from __future__ import annotations

import enum
import struct
from collections import deque
from dataclasses import field
from typing import Final

from ._caps import Caps
from ._enums import VERSION_MAJOR, ChannelType, CommonCap, CommonMsg, LinkErr, MigrateFlags
from ._errors import ProtocolError
from ._frozen import frozen
from ._header import _DATA as _DATA_HEADER
from ._header import _MINI as _MINI_HEADER
from ._header import DATA_HEADER_SIZE, MINI_HEADER_SIZE
from ._link import (
    ENCRYPTED_TICKET_SIZE,
    LINK_HEADER_SIZE,
    LINK_MESS_SIZE,
    MAX_LINK_SIZE,
    AuthMechanism,
    LinkHeader,
    LinkMess,
    LinkReply,
)
from ._message import Direction, Message, UnknownMessage, decode_with, message_class
from ._msg_common import Ack, AckSync, ClientDisconnecting, Disconnecting, Migrate, Ping, Pong, SetAck

__all__ = [
    "DEFAULT_COMMON_CAPS",
    "NEED_DATA",
    "Connection",
    "ConnectionClosed",
    "ConnectionState",
    "Event",
    "LinkEstablished",
    "LinkFailed",
    "LinkReplyReceived",
    "LinkRequested",
    "MessageReceived",
    "NeedData",
    "Role",
    "TicketReceived",
]

#: Common capabilities both our client and our server advertise.
DEFAULT_COMMON_CAPS = Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER)

_U32 = struct.Struct("<I")
#: Messages a client acts on as it receives them (besides counting them for ACKs).
_CLIENT_DUTY_TYPES = frozenset({SetAck, Ping, Disconnecting, Migrate})


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class NeedData(enum.Enum):
    """Type of the :data:`NEED_DATA` sentinel."""

    NEED_DATA = "NEED_DATA"


#: Returned by :meth:`Connection.next_event` when more bytes are needed.
NEED_DATA = NeedData.NEED_DATA


class ConnectionState(enum.Enum):
    """Where a connection is; the ``DECIDE_*``/``SEND_TICKET`` states wait for the caller."""

    IDLE = "idle"  # client, before initiate()
    AWAIT_LINK_REPLY = "await_link_reply"  # client
    SEND_TICKET = "send_ticket"  # client: caller must send_ticket()
    AWAIT_LINK_RESULT = "await_link_result"  # client
    SASL = "sasl"  # client: a SASL exchange the caller drives (sasl_start / sasl_step)
    AWAIT_LINK_MESS = "await_link_mess"  # server
    DECIDE_LINK = "decide_link"  # server: caller must accept_link() / reject_link()
    AWAIT_TICKET = "await_ticket"  # server
    DECIDE_TICKET = "decide_ticket"  # server: caller must finish_link()
    MESSAGES = "messages"
    CLOSED = "closed"


# --- events -----------------------------------------------------------------------------------


@frozen
class LinkRequested:
    """Server: a client asked for a channel."""

    mess: LinkMess


@frozen
class LinkReplyReceived:
    """Client: the server accepted the link request and sent its key and capabilities."""

    reply: LinkReply


@frozen
class TicketReceived:
    """Server: the client's auth mechanism and encrypted ticket."""

    mechanism: AuthMechanism
    ciphertext: bytes


@frozen
class SaslMechanisms:
    """Client: the SASL mechanisms the server offers (``start_sasl`` asked)."""

    names: tuple[str, ...]


@frozen
class SaslReply:
    """Client: the server's SASL data (``None``: none, distinct from empty) and whether it is done."""

    data: bytes | None
    complete: bool


@frozen
class SaslLayerStarted:
    """Client: the server accepted the SASL login and, as :meth:`Connection.sasl_security_layer`
    announced, every byte from here on is wrapped; the link result follows inside the layer."""


@frozen
class SaslStartReceived:
    """Server: the client's chosen SASL mechanism and its initial data (``None``: none)."""

    mechanism: str
    data: bytes | None = field(repr=False)


@frozen
class SaslStepReceived:
    """Server: the client's next SASL data (``None``: none), after :meth:`Connection.sasl_continue`."""

    data: bytes | None = field(repr=False)


@frozen
class LinkEstablished:
    """Client: the server accepted the ticket; the capabilities are the server's."""

    common_caps: Caps
    channel_caps: Caps
    mini_header: bool


@frozen
class LinkFailed:
    """The link was refused (client: by the server; server: a malformed request we answered)."""

    error: LinkErr


@frozen
class MessageReceived:
    """A message from the peer and its serial number."""

    message: Message | UnknownMessage
    serial: int


@frozen
class ConnectionClosed:
    """The peer closed the connection cleanly (between messages)."""


Event = (
    LinkRequested
    | LinkReplyReceived
    | TicketReceived
    | SaslMechanisms
    | SaslReply
    | SaslLayerStarted
    | SaslStartReceived
    | SaslStepReceived
    | LinkEstablished
    | LinkFailed
    | MessageReceived
    | ConnectionClosed
)

_S = ConnectionState


class Connection:
    """State machine of one SPICE channel connection (see the module docstring)."""

    def __init__(self, role: Role, *, max_message_size: int = 256 * 1024 * 1024) -> None:
        self.role = role
        self.max_message_size = max_message_size
        self.state = _S.IDLE if role is Role.CLIENT else _S.AWAIT_LINK_MESS
        self._in = bytearray()
        self._pos = 0
        self._eof = False
        self._out = bytearray()
        #: The bytes queued for the peer, what :meth:`data_to_send` returns next (the same
        #: buffer, for a test of emptiness without a call; not to be changed).
        self.outgoing: Final[bytearray] = self._out
        self._events: deque[Event] = deque()
        self._error: ProtocolError | None = None
        self._got_any = False
        # link results
        self.channel_type: ChannelType | int = 0
        self.channel_id = 0
        self.connection_id = 0
        self.our_common_caps = Caps()
        self.our_channel_caps = Caps()
        self.peer_common_caps = Caps()
        self.peer_channel_caps = Caps()
        self.mini_header = False
        self._auth_selection = False
        self._mechanism: AuthMechanism | None = None
        self._sasl_phase = ""
        self._sasl_layer = False
        self._sasl_offer: tuple[str, ...] = ()
        # message stage
        self._send_serial = 0
        self._recv_serial = 0
        self._recv_direction = (
            Direction.SERVER_TO_CLIENT if role is Role.CLIENT else Direction.CLIENT_TO_SERVER
        )
        #: The decoder class of each message type received so far (``None``: unknown type).
        self._classes: dict[int, type[Message] | None] = {}
        # client ACK duty
        self._ack_window = 0
        self._ack_count = 0
        # server ACK bookkeeping
        self.ack_generation = 0
        self.ack_window = 0
        self._client_generation = -1
        self.unacked = 0
        # recorded notable messages
        self.disconnect_reason: LinkErr | None = None
        self.migrate_flags: MigrateFlags | None = None

    # --- plumbing ---------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes read from the peer; ``b""`` signals end of file."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise RuntimeError("receive_data() after end of file")
        if self.state is _S.CLOSED:
            return
        self._in += data
        self._got_any = True

    @property
    def has_data_to_send(self) -> bool:
        """Whether :meth:`data_to_send` would return bytes (asks without copying them)."""
        return bool(self._out)

    def data_to_send(self) -> bytes:
        """Bytes queued for the peer (and forget them)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def last_sent_serial(self) -> int:
        """Serial of the last message we sent (0 before the first)."""
        return self._send_serial

    @property
    def last_received_serial(self) -> int:
        """Serial of the last message received (counted locally when mini headers are used)."""
        return self._recv_serial

    def take_unparsed(self) -> bytes:
        """Remove and return the received bytes not parsed yet (to unwrap them after
        :class:`SaslLayerStarted`; feed the plaintext back with :meth:`receive_data`)."""
        data = bytes(self._in[self._pos :])
        self._in.clear()
        self._pos = 0
        if self.state is _S.SASL and self._sasl_phase == "layer":
            self.state = _S.AWAIT_LINK_RESULT
        return data

    def _available(self) -> int:
        return len(self._in) - self._pos

    def _peek(self, n: int) -> bytes:
        return bytes(self._in[self._pos : self._pos + n])

    def _consume(self, n: int) -> bytes:
        data = bytes(self._in[self._pos : self._pos + n])
        self._pos += n
        if self._pos > 65536 and self._pos * 2 > len(self._in):
            del self._in[: self._pos]
            self._pos = 0
        return data

    def _fail(self, error: ProtocolError) -> ProtocolError:
        self._error = error
        self.state = _S.CLOSED
        return error

    def _truncated(self, what: str, need: int) -> ProtocolError:
        return self._fail(
            ProtocolError(
                f"connection closed after {self._available()} of {need} bytes", where=what, field=None
            )
        )

    def _require(self, state: ConnectionState, action: str) -> None:
        if self.state is not state:
            raise RuntimeError(f"{action}() is not allowed in state {self.state.name}")

    # --- events -----------------------------------------------------------------------------

    def next_event(self) -> Event | NeedData:
        """The next event, or :data:`NEED_DATA` when the buffered bytes do not complete one."""
        if self._events:
            return self._events.popleft()
        if self._error is not None:
            raise self._error
        if self.state is _S.MESSAGES:
            batch = self._parse_messages()
            if not batch:
                return NEED_DATA
            self._events.extend(batch[1:])
            return batch[0]
        try:
            return self._parse()
        except ProtocolError as exc:
            raise self._fail(exc) from None

    def next_events(self) -> list[Event]:
        """Every event the buffered bytes complete now, in order; ``[]`` where :meth:`next_event`
        would say :data:`NEED_DATA`.  Messages come all at once; before them (the link stage)
        one event at a time, since what the caller does next may change how the following
        bytes parse.  A fault after some messages: those come back, the next call raises it."""
        out: list[Event] = []
        if self._events:  # (what next_event left: first, then what the buffer completes)
            out.extend(self._events)
            self._events.clear()
        if self._error is not None:
            if out:
                return out
            raise self._error
        if self.state is _S.MESSAGES:
            return self._parse_messages(out)
        if out:
            return out
        try:
            event = self._parse()
        except ProtocolError as exc:
            raise self._fail(exc) from None
        return [] if isinstance(event, NeedData) else [event]

    def _parse(self) -> Event | NeedData:
        """The next event outside the MESSAGES state (:meth:`next_event` parses messages itself)."""
        state = self.state
        if state is _S.AWAIT_LINK_REPLY:
            return self._parse_link_reply()
        if state is _S.AWAIT_LINK_RESULT:
            return self._parse_link_result()
        if state is _S.AWAIT_LINK_MESS:
            return self._parse_link_mess()
        if state is _S.AWAIT_TICKET:
            return self._parse_ticket()
        if state is _S.SASL and self.role is Role.SERVER:
            return self._parse_sasl_step() if self._sasl_phase == "server-step" else self._parse_sasl_start()
        if state is _S.SASL:
            return self._parse_sasl()
        if state is _S.CLOSED:
            return ConnectionClosed() if self._eof else NEED_DATA
        # IDLE, SEND_TICKET, DECIDE_*: waiting for the caller, not for bytes.
        if self._eof and state is not _S.IDLE:
            self.state = _S.CLOSED
            return ConnectionClosed()
        return NEED_DATA

    def _eof_event(self, what: str, need: int) -> Event | NeedData:
        """At EOF: a clean close if nothing of the next unit arrived, else an error."""
        if not self._eof:
            return NEED_DATA
        if self._available() == 0:
            self.state = _S.CLOSED
            return ConnectionClosed()
        raise self._truncated(what, need)

    # --- client link stage ------------------------------------------------------------------

    def initiate(
        self,
        channel_type: ChannelType | int,
        channel_id: int = 0,
        connection_id: int = 0,
        common_caps: Caps | None = None,
        channel_caps: Caps | None = None,
    ) -> None:
        """Client: queue the link request for a channel."""
        self._require(_S.IDLE, "initiate")
        if self.role is not Role.CLIENT:
            raise RuntimeError("initiate() is for the client role")
        self.channel_type = channel_type
        self.channel_id = channel_id
        self.connection_id = connection_id
        self.our_common_caps = DEFAULT_COMMON_CAPS if common_caps is None else common_caps
        self.our_channel_caps = channel_caps or Caps()
        mess = LinkMess(connection_id, channel_type, channel_id, self.our_common_caps, self.our_channel_caps)
        self._out += mess.encode_with_header()
        self.state = _S.AWAIT_LINK_REPLY

    def _link_packet(self, what: str) -> tuple[LinkHeader, bytes] | None:
        """Header and body of a link packet once complete; ``None`` if more bytes are needed."""
        if self._available() < LINK_HEADER_SIZE:
            return None
        header = LinkHeader.decode(self._peek(LINK_HEADER_SIZE))
        if header.size > MAX_LINK_SIZE:
            raise ProtocolError(f"link packet size {header.size} too large", where=what, field="size")
        if self._available() < LINK_HEADER_SIZE + header.size:
            return None
        self._consume(LINK_HEADER_SIZE)
        return header, self._consume(header.size)

    def _parse_link_reply(self) -> Event | NeedData:
        packet = self._link_packet("LinkReply")
        if packet is None:
            return self._eof_event("LinkReply", LINK_HEADER_SIZE)
        header, body = packet
        reply = LinkReply.decode(body)
        if reply.error != LinkErr.OK:
            self.state = _S.CLOSED
            return LinkFailed(reply.error)
        if header.major_version != VERSION_MAJOR:
            raise ProtocolError(
                f"server speaks protocol {header.major_version}.{header.minor_version}",
                where="LinkHeader",
                field="major_version",
            )
        self.peer_common_caps = reply.common_caps
        self.peer_channel_caps = reply.channel_caps
        self.state = _S.SEND_TICKET
        return LinkReplyReceived(reply)

    def send_ticket(self, ciphertext: bytes, mechanism: AuthMechanism = AuthMechanism.SPICE) -> None:
        """Client: queue the encrypted ticket (preceded by the mechanism word when negotiated)."""
        self._require(_S.SEND_TICKET, "send_ticket")
        if len(ciphertext) != ENCRYPTED_TICKET_SIZE:
            raise ValueError(f"ticket must be {ENCRYPTED_TICKET_SIZE} bytes, got {len(ciphertext)}")
        both = CommonCap.PROTOCOL_AUTH_SELECTION
        if both in self.our_common_caps and both in self.peer_common_caps:
            self._out += _U32.pack(int(mechanism))
        self._out += ciphertext
        self.state = _S.AWAIT_LINK_RESULT

    # --- client SASL ------------------------------------------------------------------------
    #: The longest SASL field accepted (libspice-server's own bound).
    MAX_SASL_DATA = 1 << 20

    def start_sasl(self) -> None:
        """Client: authenticate with SASL instead of a ticket (the server must offer AUTH_SASL)."""
        self._require(_S.SEND_TICKET, "start_sasl")
        needed = (CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SASL)
        if not all(cap in self.peer_common_caps for cap in needed) or (
            CommonCap.PROTOCOL_AUTH_SELECTION not in self.our_common_caps
        ):
            raise RuntimeError(
                "start_sasl() needs AUTH_SELECTION on both sides and AUTH_SASL from the server"
            )
        self._out += _U32.pack(int(CommonCap.AUTH_SASL))
        self.state = _S.SASL
        self._sasl_phase = "mechanisms"

    def sasl_start(self, mechanism: str, data: bytes | None) -> None:
        """Client: the chosen mechanism and its first data (``None``: no initial response)."""
        self._require(_S.SASL, "sasl_start")
        if self._sasl_phase != "start":
            raise RuntimeError("sasl_start() comes once, after SaslMechanisms")
        name = mechanism.encode("ascii")
        self._out += _U32.pack(len(name)) + name
        self._sasl_data(data)

    def sasl_step(self, data: bytes | None) -> None:
        """Client: the next SASL data, after an incomplete :class:`SaslReply`."""
        self._require(_S.SASL, "sasl_step")
        if self._sasl_phase != "step":
            raise RuntimeError("sasl_step() follows an incomplete SaslReply")
        self._sasl_data(data)

    def sasl_security_layer(self) -> None:
        """Client, after the complete :class:`SaslReply`: the login negotiated a security layer.
        The server's SASL outcome is still plain; parsing stops after it with
        :class:`SaslLayerStarted` (the bytes after it are wrapped, see :meth:`take_unparsed`)."""
        self._require(_S.SASL, "sasl_security_layer")
        if self._sasl_phase != "result":
            raise RuntimeError("sasl_security_layer() follows the complete SaslReply")
        self._sasl_layer = True

    def _sasl_data(self, data: bytes | None) -> None:
        # on the wire a present value carries a trailing NUL; length 0 means "none"
        if data is None:
            self._out += _U32.pack(0)
        else:
            self._out += _U32.pack(len(data) + 1) + data + b"\0"
        self._sasl_phase = "reply"

    def _parse_sasl(self) -> Event | NeedData:
        phase = self._sasl_phase
        if phase == "result":
            # libspice-server (0.15, seen with QEMU 7.2) follows a complete exchange with a
            # u32 outcome, 0 for success, before the usual link result
            if self._available() < 4:
                return self._eof_event("SASL result", 4)
            (outcome,) = _U32.unpack(self._consume(4))
            if outcome != 0:
                self.state = _S.CLOSED
                return LinkFailed(LinkErr.PERMISSION_DENIED)
            if self._sasl_layer:  # parsing resumes once take_unparsed() took the wrapped bytes
                self._sasl_phase = "layer"
                return SaslLayerStarted()
            self.state = _S.AWAIT_LINK_RESULT
            return self._parse_link_result()
        if phase == "layer":
            return NEED_DATA
        if phase not in ("mechanisms", "reply"):
            return ConnectionClosed() if self._eof and self._close_at_eof() else NEED_DATA
        what = "SASL mechanism list" if phase == "mechanisms" else "SASL reply"
        if self._available() < 4:
            return self._eof_event(what, 4)
        (size,) = _U32.unpack(self._peek(4))
        if size > self.MAX_SASL_DATA:
            raise ProtocolError(f"{size} bytes (at most {self.MAX_SASL_DATA})", where=what, field="length")
        need = 4 + size + (1 if phase == "reply" else 0)
        if self._available() < need:
            if self._eof:
                raise self._truncated(what, need)
            return NEED_DATA
        self._consume(4)
        body = self._consume(size)
        if phase == "mechanisms":
            names = tuple(
                n for n in body.rstrip(b"\0").decode("ascii", "replace").replace(",", " ").split() if n
            )
            self._sasl_phase = "start"
            return SaslMechanisms(names)
        complete = self._consume(1)[0]
        if complete not in (0, 1):
            raise ProtocolError(f"completion flag {complete}", where=what, field="complete")
        data = body[:-1] if size else None  # drop the trailing NUL
        if complete:
            self._sasl_phase = "result"
        else:
            self._sasl_phase = "step"
        return SaslReply(data, bool(complete))

    def _close_at_eof(self) -> bool:
        self.state = _S.CLOSED
        return True

    def _parse_link_result(self) -> Event | NeedData:
        if self._available() < 4:
            return self._eof_event("link result", 4)
        (code,) = _U32.unpack(self._consume(4))
        try:
            result = LinkErr(code)
        except ValueError:
            raise ProtocolError(f"unknown link result {code}", where="link result") from None
        if result != LinkErr.OK:
            self.state = _S.CLOSED
            return LinkFailed(result)
        mini = CommonCap.MINI_HEADER
        self.mini_header = mini in self.our_common_caps and mini in self.peer_common_caps
        self.state = _S.MESSAGES
        return LinkEstablished(self.peer_common_caps, self.peer_channel_caps, self.mini_header)

    # --- server link stage ------------------------------------------------------------------

    def _server_refuse(self, error: LinkErr) -> LinkFailed:
        self._out += LinkReply(error).encode_with_header()
        self.state = _S.CLOSED
        return LinkFailed(error)

    def _parse_link_mess(self) -> Event | NeedData:
        if self._available() < LINK_HEADER_SIZE:
            return self._eof_event("LinkMess", LINK_HEADER_SIZE)
        try:
            header = LinkHeader.decode(self._peek(LINK_HEADER_SIZE))
        except ProtocolError:
            return self._server_refuse(LinkErr.INVALID_MAGIC)
        if header.major_version != VERSION_MAJOR:
            return self._server_refuse(LinkErr.VERSION_MISMATCH)
        if not LINK_MESS_SIZE <= header.size <= MAX_LINK_SIZE:
            return self._server_refuse(LinkErr.INVALID_DATA)
        if self._available() < LINK_HEADER_SIZE + header.size:
            return self._eof_event("LinkMess", LINK_HEADER_SIZE + header.size)
        self._consume(LINK_HEADER_SIZE)
        try:
            mess = LinkMess.decode(self._consume(header.size))
        except ProtocolError:
            return self._server_refuse(LinkErr.INVALID_DATA)
        self.channel_type = mess.channel_type
        self.channel_id = mess.channel_id
        self.connection_id = mess.connection_id
        self.peer_common_caps = mess.common_caps
        self.peer_channel_caps = mess.channel_caps
        self.state = _S.DECIDE_LINK
        return LinkRequested(mess)

    def accept_link(
        self,
        pub_key: bytes,
        common_caps: Caps | None = None,
        channel_caps: Caps | None = None,
        *,
        sasl_mechanisms: tuple[str, ...] = (),
    ) -> None:
        """Server: answer the link request with our key (162-byte DER) and capabilities.

        With ``AUTH_SASL`` in ``common_caps`` a client may choose SASL: it is offered
        ``sasl_mechanisms`` and its choice comes as :class:`SaslStartReceived`.
        """
        self._require(_S.DECIDE_LINK, "accept_link")
        self._sasl_offer = sasl_mechanisms
        self.our_common_caps = DEFAULT_COMMON_CAPS if common_caps is None else common_caps
        self.our_channel_caps = channel_caps or Caps()
        self._out += LinkReply(
            LinkErr.OK, pub_key, self.our_common_caps, self.our_channel_caps
        ).encode_with_header()
        sel = CommonCap.PROTOCOL_AUTH_SELECTION
        self._auth_selection = sel in self.our_common_caps and sel in self.peer_common_caps
        self.state = _S.AWAIT_TICKET

    def reject_link(self, error: LinkErr) -> None:
        """Server: refuse the link request (e.g. NEED_SECURED, CHANNEL_NOT_AVAILABLE)."""
        self._require(_S.DECIDE_LINK, "reject_link")
        if error == LinkErr.OK:
            raise ValueError("reject_link() needs an error, not OK")
        self._out += LinkReply(error).encode_with_header()
        self.state = _S.CLOSED

    def _parse_ticket(self) -> Event | NeedData:
        if self._auth_selection and self._mechanism is None:
            if self._available() < 4:
                return self._eof_event("auth mechanism", 4)
            (raw,) = _U32.unpack(self._consume(4))
            if raw == CommonCap.AUTH_SASL and CommonCap.AUTH_SASL in self.our_common_caps:
                offer = ",".join(self._sasl_offer).encode("ascii")
                self._out += _U32.pack(len(offer)) + offer
                self.state = _S.SASL
                self._sasl_phase = "server-start"
                return self._parse_sasl_start()
            if raw != AuthMechanism.SPICE:
                # We only implement ticket auth; whatever follows is not a ticket.
                self._out += _U32.pack(LinkErr.INVALID_DATA)
                self.state = _S.CLOSED
                return LinkFailed(LinkErr.INVALID_DATA)
            self._mechanism = AuthMechanism.SPICE
        if self._available() < ENCRYPTED_TICKET_SIZE:
            return self._eof_event("ticket", ENCRYPTED_TICKET_SIZE)
        ciphertext = self._consume(ENCRYPTED_TICKET_SIZE)
        self.state = _S.DECIDE_TICKET
        return TicketReceived(AuthMechanism.SPICE, ciphertext)

    def _parse_sasl_step(self) -> Event | NeedData:
        """Server: u32 data length (0: none), the data and its NUL."""
        if self._available() < 4:
            return self._eof_event("SASL step", 4)
        (data_len,) = _U32.unpack(self._peek(4))
        if data_len > self.MAX_SASL_DATA:
            raise ProtocolError(
                f"{data_len} bytes (at most {self.MAX_SASL_DATA})", where="SASL step", field="data"
            )
        if self._available() < 4 + data_len:
            if self._eof:
                raise self._truncated("SASL step", 4 + data_len)
            return NEED_DATA
        self._consume(4)
        raw = self._consume(data_len)
        if data_len and raw[-1:] != b"\0":
            raise ProtocolError("data without its trailing NUL", where="SASL step", field="data")
        self.state = _S.DECIDE_TICKET
        return SaslStepReceived(raw[:-1] if data_len else None)

    def _sasl_server_reply(self, data: bytes | None, complete: bool) -> None:
        self._require(_S.DECIDE_TICKET, "sasl_continue" if not complete else "sasl_accept")
        if self._mechanism is not AuthMechanism.SASL:
            raise RuntimeError("SASL replies answer a SaslStartReceived or SaslStepReceived")
        if data is not None and len(data) >= self.MAX_SASL_DATA:
            raise ValueError(f"SASL data of {len(data)} bytes (less than {self.MAX_SASL_DATA})")
        self._out += _U32.pack(0) if data is None else _U32.pack(len(data) + 1) + data + b"\0"
        self._out += b"\x01" if complete else b"\x00"

    def sasl_continue(self, data: bytes | None) -> None:
        """Server: the mechanism needs another step; ``data`` goes to the client, whose answer
        comes as :class:`SaslStepReceived`."""
        self._sasl_server_reply(data, False)
        self.state = _S.SASL
        self._sasl_phase = "server-step"

    def _parse_sasl_start(self) -> Event | NeedData:
        """Server: u32 name length, the name, u32 data length (0: none), the data and its NUL."""
        if self._available() < 4:
            return self._eof_event("SASL mechanism", 4)
        (name_len,) = _U32.unpack(self._peek(4))
        if not 1 <= name_len <= 100:
            raise ProtocolError(f"name of {name_len} bytes (1 to 100)", where="SASL start", field="mechanism")
        if self._available() < 8 + name_len:
            return self._eof_event("SASL start", 8 + name_len) if self._eof else NEED_DATA
        (data_len,) = _U32.unpack(self._peek(8 + name_len)[4 + name_len :])
        if data_len > self.MAX_SASL_DATA:
            raise ProtocolError(
                f"{data_len} bytes (at most {self.MAX_SASL_DATA})", where="SASL start", field="data"
            )
        if self._available() < 8 + name_len + data_len:
            if self._eof:
                raise self._truncated("SASL start", 8 + name_len + data_len)
            return NEED_DATA
        self._consume(4)
        name = self._consume(name_len).decode("ascii", "replace")
        self._consume(4)
        raw = self._consume(data_len)
        if data_len and raw[-1:] != b"\0":
            raise ProtocolError("data without its trailing NUL", where="SASL start", field="data")
        self.state = _S.DECIDE_TICKET
        self._mechanism = AuthMechanism.SASL
        return SaslStartReceived(name, raw[:-1] if data_len else None)

    def sasl_accept(self, data: bytes | None = None) -> None:
        """Server: the SASL login succeeded (``data``: the mechanism's last words, e.g. DIGEST-MD5's
        rspauth); :meth:`finish_link` follows.  With a security layer, send these bytes plain
        and wrap the link result and everything after it."""
        self._sasl_server_reply(data, True)
        self._out += _U32.pack(0)  # the plain outcome word libspice-server sends

    def finish_link(self, result: LinkErr) -> None:
        """Server: send the link result; OK enters the message stage, anything else closes."""
        self._require(_S.DECIDE_TICKET, "finish_link")
        self._out += _U32.pack(int(result))
        if result != LinkErr.OK:
            self.state = _S.CLOSED
            return
        mini = CommonCap.MINI_HEADER
        self.mini_header = mini in self.our_common_caps and mini in self.peer_common_caps
        self.state = _S.MESSAGES

    # --- message stage ----------------------------------------------------------------------

    def send(self, message: Message | UnknownMessage) -> int:
        """Queue a message; returns its serial number."""
        # (the checks and the header in line, no header object: a server sends many a frame)
        if self.state is not _S.MESSAGES:
            self._require(_S.MESSAGES, "send")
        send_direction = (
            Direction.CLIENT_TO_SERVER if self.role is Role.CLIENT else Direction.SERVER_TO_CLIENT
        )
        if isinstance(message, Message):
            direction, msg_type = message.DIRECTION, int(message.TYPE)
        else:
            direction, msg_type = message.direction, int(message.type)
        if direction is not send_direction:
            raise ValueError(f"{type(message).__name__} is not a {self.role.value}-to-peer message")
        body = message.encode()
        self._send_serial += 1
        if self.mini_header:
            self._out += _MINI_HEADER.pack(msg_type, len(body))
        else:
            self._out += _DATA_HEADER.pack(self._send_serial, msg_type, len(body), 0)
        self._out += body
        if self.role is Role.SERVER and self.ack_window:
            self.unacked += 1
        return self._send_serial

    def send_set_ack(self, window: int) -> int:
        """Server: start (or restart) ACK flow control with ``window``; returns the generation."""
        self._require(_S.MESSAGES, "send_set_ack")
        if self.role is not Role.SERVER:
            raise RuntimeError("send_set_ack() is for the server role")
        if window <= 0:
            raise ValueError(f"ACK window must be positive, got {window}")
        self.ack_generation += 1
        self.ack_window = window
        self.send(SetAck(self.ack_generation, window))
        self.unacked = 0
        return self.ack_generation

    @property
    def may_send(self) -> bool:
        """Server: whether the client's ACKs allow another message (always true without SET_ACK)."""
        if self.state is not _S.MESSAGES:
            return False
        return self.ack_window == 0 or self.unacked <= 2 * self.ack_window

    def _parse_messages(self, out: list[Event] | None = None) -> list[Event]:
        """``out`` (or a new list) with the messages the buffer completes added (a
        ConnectionClosed last at a clean end of file).

        A fault ends the batch: with events before it they are returned and the fault kept
        for the next call (:meth:`_fail`), else it is raised."""
        if out is None:
            out = []
        try:
            self._parse_into(out)
        except ProtocolError as exc:
            error = self._fail(exc)
            if not out:
                raise error from None
        return out

    def _parse_into(self, out: list[Event]) -> None:
        # Every message straight from the buffer (struct on the bytearray, one copy of each
        # body), delivered in line: this runs for every message of a flood.
        buf = self._in
        mini = self.mini_header
        header_size = MINI_HEADER_SIZE if mini else DATA_HEADER_SIZE
        client = self.role is Role.CLIENT
        classes = self._classes
        while True:
            pos = self._pos
            if len(buf) - pos < header_size:
                if self._eof:
                    event = self._eof_event("message header", header_size)
                    if not isinstance(event, NeedData):
                        out.append(event)
                return
            if mini:
                msg_type, size = _MINI_HEADER.unpack_from(buf, pos)
                serial, sub_list = self._recv_serial + 1, 0
            else:
                serial, msg_type, size, sub_list = _DATA_HEADER.unpack_from(buf, pos)
            if size > self.max_message_size:
                raise ProtocolError(
                    f"message type {msg_type} claims {size} bytes, limit is {self.max_message_size}",
                    where="message header",
                    field="size",
                )
            start = pos + header_size
            end = start + size
            if len(buf) < end:
                if self._eof:
                    raise self._truncated(f"message type {msg_type}", header_size + size)
                return
            with memoryview(buf) as view:
                body = bytes(view[start:end])  # (slicing the bytearray would copy twice)
            if end > 65536 and end * 2 > len(buf):
                del buf[:end]
                end = 0
            self._pos = end
            self._recv_serial = serial
            # A sub-message list (old servers): its messages come first; the body itself is
            # then decoded whole (decoders ignore trailing bytes).  A LIST message is only a list.
            is_list = msg_type == CommonMsg.LIST and client
            if sub_list or is_list:
                for sub_type, sub_body in self._sub_messages(body, sub_list, msg_type):
                    out.append(self._deliver(sub_type, sub_body, serial))
                if not is_list:
                    out.append(self._deliver(msg_type, body, serial))
                continue
            # (_deliver in line, and a client's ACK count: once a message)
            if msg_type in classes:
                cls = classes[msg_type]
            else:
                cls = classes[msg_type] = message_class(self.channel_type, self._recv_direction, msg_type)
            message = decode_with(cls, self.channel_type, self._recv_direction, msg_type, body)
            if not client:
                self._server_bookkeeping(message)
            elif type(message) in _CLIENT_DUTY_TYPES:
                self._client_duties(message)
            elif self._ack_window:
                self._ack_count += 1
                if self._ack_count >= self._ack_window:
                    self._ack_count = 0
                    self.send(Ack())
            out.append(MessageReceived(message, serial))

    def _sub_messages(self, body: bytes, offset: int, msg_type: int) -> list[tuple[int, bytes]]:
        where = f"sub-message list of message type {msg_type}"
        if offset + 2 > len(body):
            raise ProtocolError(f"sub_list {offset} outside the {len(body)}-byte body", where=where)
        (count,) = struct.unpack_from("<H", body, offset)
        if offset + 2 + 4 * count > len(body):
            raise ProtocolError(f"{count} sub-message offsets do not fit", where=where)
        out = []
        for i in range(count):
            (at,) = _U32.unpack_from(body, offset + 2 + 4 * i)
            if at + 6 > len(body):
                raise ProtocolError(f"sub-message {i} at {at} outside the body", where=where)
            sub_type, sub_size = struct.unpack_from("<HI", body, at)
            if at + 6 + sub_size > len(body):
                raise ProtocolError(f"sub-message {i} of {sub_size} bytes overruns the body", where=where)
            out.append((sub_type, body[at + 6 : at + 6 + sub_size]))
        return out

    def _deliver(self, msg_type: int, body: bytes, serial: int) -> MessageReceived:
        classes = self._classes
        if msg_type in classes:
            cls = classes[msg_type]
        else:
            cls = classes[msg_type] = message_class(self.channel_type, self._recv_direction, msg_type)
        message = decode_with(cls, self.channel_type, self._recv_direction, msg_type, body)
        if self.role is Role.CLIENT:
            self._client_duties(message)
        else:
            self._server_bookkeeping(message)
        return MessageReceived(message, serial)

    def _client_duties(self, message: Message | UnknownMessage) -> None:
        if type(message) in _CLIENT_DUTY_TYPES:
            if isinstance(message, SetAck):
                self._ack_window = message.window
                self._ack_count = 0
                self.send(AckSync(message.generation))
                return
            if isinstance(message, Ping):
                self.send(Pong(message.id, message.timestamp))
            elif isinstance(message, Disconnecting):
                self.disconnect_reason = message.reason
            elif isinstance(message, Migrate):
                self.migrate_flags = message.flags
        if self._ack_window:
            self._ack_count += 1
            if self._ack_count >= self._ack_window:
                self._ack_count = 0
                self.send(Ack())

    def _server_bookkeeping(self, message: Message | UnknownMessage) -> None:
        if isinstance(message, AckSync):
            self._client_generation = message.generation
        elif isinstance(message, Ack):
            if self._client_generation == self.ack_generation:
                self.unacked = max(0, self.unacked - self.ack_window)
        elif isinstance(message, ClientDisconnecting):
            self.disconnect_reason = message.reason
