"""Server side: answer a client's link request, check its ticket, hand back a channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import trio
from spice_proto import (
    DEFAULT_COMMON_CAPS,
    Caps,
    CommonCap,
    Connection,
    ConnectionClosed,
    LinkErr,
    LinkFailed,
    LinkMess,
    LinkRequested,
    Role,
    SaslStartReceived,
    TicketReceived,
)

from ._channel import ServerChannel, _StreamIO
from ._client import _deadline
from ._errors import AuthenticationFailed, ChannelClosed, ProtocolViolation, link_refused
from ._keypool import TicketKeyPool
from ._sasl import SaslLogin
from ._sasl_layer import SaslLayerStream
from ._ticket import TicketKey

__all__ = ["LinkDecision", "accept_channel"]

#: Seconds a server waits after the wrapped link result before the channel's first message.
LAYER_SETTLE = 0.2

#: What ``channel_caps_for`` returns: the channel capabilities to offer, or a link error to refuse with.
LinkDecision = Caps | LinkErr


async def accept_channel(
    stream: trio.abc.Stream,
    *,
    password: str | None,
    channel_caps_for: Callable[[LinkMess], LinkDecision] | None = None,
    common_caps: Caps | None = None,
    ack_window: int | None = None,
    timeout: float | None = 30.0,
    keys: TicketKeyPool | None = None,
    on_wrong_ticket: Callable[[], float] | None = None,
    max_message_size: int | None = None,
    sasl: Callable[[str, str], bool] | None = None,
    sasl_options: Mapping[str, str] | None = None,
) -> ServerChannel:
    """Run the server half of the link over ``stream`` and return the linked channel.

    ``password=None`` disables ticketing (any ticket is accepted).  Each link
    gets a fresh 1024-bit RSA key, taken from ``keys`` (else generated in a
    worker thread); the ticket is decrypted and compared in constant time, and a
    wrong one is answered PERMISSION_DENIED, after ``on_wrong_ticket()`` seconds
    if that is given.  ``timeout`` covers everything up to the linked channel,
    the TLS handshake of a :class:`trio.SSLStream` included.
    ``channel_caps_for(mess)`` decides per request: return the channel caps to
    accept, or a :class:`~spice_proto.LinkErr` (``NEED_SECURED``,
    ``CHANNEL_NOT_AVAILABLE``, ``BAD_CONNECTION_ID``...) to refuse.  With
    ``ack_window`` a SET_ACK is sent right after the link.  ``max_message_size`` bounds the
    messages the linked channel accepts from the client (default: :class:`~spice_proto.Connection`'s).

    ``sasl(user, password)`` makes the link log in with SASL PLAIN (inside TLS only) checked by
    that function; ``sasl_options`` makes it log in through libsasl2 configured by them (e.g.
    ``{"mech_list": "digest-md5", "sasldb_path": PATH}``), without TLS with a mechanism whose
    security layer then wraps the channel.  Either replaces the ticket, as libspice-server's
    ``sasl=on`` does.

    Raises :class:`AuthenticationFailed` / :class:`LinkRefused` (after answering
    the client), :class:`ChannelClosed`, :class:`ProtocolViolation` or
    :class:`ConnectTimeout`; the stream is closed on failure.
    """
    secure = isinstance(stream, trio.SSLStream)
    if sasl_options is not None and not secure:
        stream = SaslLayerStream(stream)  # plain until a negotiated layer starts
    sasl_login: SaslLogin | None = None
    if sasl is not None or sasl_options is not None:  # SASL only, as libspice-server with sasl=on
        base = DEFAULT_COMMON_CAPS if common_caps is None else common_caps
        common_caps = Caps(
            (base - {CommonCap.AUTH_SPICE}) | {CommonCap.AUTH_SASL, CommonCap.PROTOCOL_AUTH_SELECTION}
        )
    conn = (
        Connection(Role.SERVER)
        if max_message_size is None
        else Connection(Role.SERVER, max_message_size=max_message_size)
    )
    io = _StreamIO(stream, conn)
    try:
        with _deadline(timeout, "client link"):
            event = await io.next_event()
            if isinstance(event, ConnectionClosed):
                raise ChannelClosed("client closed the connection before linking")
            if isinstance(event, LinkFailed):  # malformed request, already answered
                raise link_refused(event.error, "malformed link request from the client")
            if not isinstance(event, LinkRequested):
                raise ProtocolViolation(f"unexpected {type(event).__name__} during link")
            decision = channel_caps_for(event.mess) if channel_caps_for else Caps()
            if isinstance(decision, LinkErr):
                conn.reject_link(decision)
                await io.flush()
                raise link_refused(decision, "refused by channel_caps_for")
            key = await keys.take() if keys is not None else await trio.to_thread.run_sync(TicketKey.generate)
            if sasl_options is not None or sasl is not None:  # sasl: PLAIN, which needs TLS
                sasl_login = SaslLogin(stream, sasl_options or {"mech_list": "plain"}, checkpass=sasl)
            offer = sasl_login.mechanisms if sasl_login is not None else ()
            conn.accept_link(key.public_der, common_caps, decision, sasl_mechanisms=offer)
            await io.flush()
            event = await io.next_event()
            if isinstance(event, ConnectionClosed):
                raise ChannelClosed("client closed the connection before sending its ticket")
            if isinstance(event, LinkFailed):
                raise link_refused(event.error, "client asked for an unsupported auth mechanism")
            if isinstance(event, SaslStartReceived) and sasl_login is not None:
                try:
                    await sasl_login.run(io, conn, event)
                except AuthenticationFailed:  # libspice-server just closes
                    if on_wrong_ticket is not None:
                        await trio.sleep(on_wrong_ticket())
                    raise
                conn.finish_link(LinkErr.OK)
                await io.flush()
                if sasl_login is not None and sasl_login.layered:
                    # spice-gtk decodes everything its read of the (wrapped) link result brings,
                    # then waits for the socket before using the rest: messages that arrive with
                    # the link result stall until more data comes.  Give it time to read alone.
                    await trio.sleep(LAYER_SETTLE)
                channel = ServerChannel(stream, conn)
                if ack_window:
                    await channel.set_ack(ack_window)
                return channel
            if not isinstance(event, TicketReceived) or sasl is not None or sasl_options is not None:
                raise ProtocolViolation(f"unexpected {type(event).__name__} during link")
            if password is not None and not key.check(event.ciphertext, password):
                if on_wrong_ticket is not None:
                    await trio.sleep(on_wrong_ticket())
                conn.finish_link(LinkErr.PERMISSION_DENIED)
                await io.flush()
                raise link_refused(LinkErr.PERMISSION_DENIED, "client sent a wrong password")
            conn.finish_link(LinkErr.OK)
            await io.flush()
        channel = ServerChannel(stream, conn)
        if ack_window:
            await channel.set_ack(ack_window)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    finally:
        if sasl_login is not None:
            sasl_login.close()
    return channel
