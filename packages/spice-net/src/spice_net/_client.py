"""Client side: connect (TCP, through an HTTP proxy, or a Unix socket; TLS), link, ticket auth."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Awaitable, Callable, Iterator

import trio
from spice_proto import (
    DEFAULT_COMMON_CAPS,
    ENCRYPTED_TICKET_SIZE,
    Caps,
    ChannelType,
    CommonCap,
    Connection,
    ConnectionClosed,
    LinkErr,
    LinkEstablished,
    LinkFailed,
    LinkReplyReceived,
    Role,
)
from spice_proto.lowlevel import frozen

from ._capture import tap_stream
from ._channel import Channel, _StreamIO
from ._errors import (
    AuthenticationFailed,
    ChannelClosed,
    ConnectFailed,
    ConnectTimeout,
    NotSpiceServer,
    ProtocolViolation,
    TLSVerificationFailed,
    link_refused,
)
from ._proxy import HttpProxy, open_tunnel
from ._sasl import sasl_login
from ._sasl_layer import SaslLayerStream
from ._ticket import _password_bytes, encrypt_ticket
from ._tls import verify_host_subject

__all__ = ["link_channel", "open_channel", "open_unix_channel"]


def _channel_name(channel_type: ChannelType | int) -> str:
    try:
        return ChannelType(channel_type).name
    except ValueError:
        return str(int(channel_type))


@contextlib.contextmanager
def _deadline(timeout: float | None, what: str) -> Iterator[None]:
    if timeout is None:
        yield
        return
    try:
        with trio.fail_after(timeout):
            yield
    except trio.TooSlowError:
        raise ConnectTimeout(f"{what}: no answer within {timeout} s") from None


async def link_channel(
    stream: trio.abc.Stream,
    *,
    channel_type: ChannelType | int,
    channel_id: int = 0,
    connection_id: int = 0,
    password: str | None = None,
    common_caps: Caps | None = None,
    channel_caps: Caps | None = None,
    username: str | None = None,
) -> Channel:
    """Link a channel over an already connected ``stream`` (the client half of the handshake).

    With ``username`` the link authenticates with SASL (libsasl2's mechanisms; without TLS one
    with a security layer, which then wraps the channel) using ``password`` instead of a ticket.
    Closes the stream on failure.  Raises :class:`NotSpiceServer`, :class:`AuthenticationFailed`,
    :class:`NeedSecured`, other :class:`LinkRefused`, :class:`SaslUnsupported`,
    :class:`ChannelClosed` or :class:`ProtocolViolation`.
    """
    if username is None:
        _password_bytes(password or "")  # fail early on an unusable password
    elif common_caps is None:
        common_caps = Caps(DEFAULT_COMMON_CAPS | {CommonCap.AUTH_SASL})
    layer = SaslLayerStream(stream) if username is not None else None
    if layer is not None:
        stream = layer  # under the capture tap: a pcap holds the plaintext
    stream = tap_stream(stream, channel_type, channel_id)  # inside spice_net.capture_to: a pcap
    conn = Connection(Role.CLIENT)
    io = _StreamIO(stream, conn)
    try:
        conn.initiate(channel_type, channel_id, connection_id, common_caps, channel_caps)
        await io.flush()
        try:
            event = await io.next_event()
        except ProtocolViolation as exc:
            raise NotSpiceServer(f"not a SPICE link reply: {exc.__cause__ or exc}") from exc
        except ChannelClosed as exc:
            raise NotSpiceServer(f"peer closed the connection without a link reply ({exc})") from exc
        if isinstance(event, ConnectionClosed):
            raise NotSpiceServer("peer closed the connection without a link reply")
        if isinstance(event, LinkFailed):
            raise link_refused(event.error, f"channel {_channel_name(channel_type)}:{channel_id}")
        assert isinstance(event, LinkReplyReceived)
        server_caps = event.reply.common_caps
        if username is not None:
            if CommonCap.AUTH_SASL not in server_caps:
                raise AuthenticationFailed(
                    LinkErr.PERMISSION_DENIED, "a user name was given but the server offers no SASL"
                )
            await sasl_login(io, conn, username, password or "")
        elif CommonCap.AUTH_SASL in server_caps and CommonCap.AUTH_SPICE not in server_caps:
            raise AuthenticationFailed(
                LinkErr.PERMISSION_DENIED, "the server wants SASL: give a user name (spice://user@host...)"
            )
        else:
            try:
                ticket = encrypt_ticket(event.reply.pub_key, password or "")
                conn.send_ticket(ticket)
            except ValueError as exc:
                raise ProtocolViolation(f"cannot use the server's public key: {exc}") from exc
        await io.flush(tail=ENCRYPTED_TICKET_SIZE if username is None else 0)
        refused = f"SASL: user {username!r} was refused" if username is not None else ""
        try:
            event = await io.next_event()
        except ChannelClosed:
            if not refused or (layer is not None and layer.active):
                raise
            event = ConnectionClosed()  # a refused SASL login may end in an abrupt TLS close
        if isinstance(event, ConnectionClosed):
            if refused:  # libspice-server just closes after a failed SASL login
                raise AuthenticationFailed(LinkErr.PERMISSION_DENIED, refused)
            raise ChannelClosed("server closed the connection before the link result")
        if isinstance(event, LinkFailed):
            raise link_refused(event.error, refused)
        assert isinstance(event, LinkEstablished)
    except BaseException:
        await trio.aclose_forcefully(stream)
        raise
    return Channel(stream, conn)


async def _connect(
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    server_hostname: str | None,
    proxy: HttpProxy | None = None,
) -> trio.abc.Stream:
    where = f"{host}:{port}" if proxy is None else f"port {port} through proxy {proxy}"
    if proxy is not None:
        tcp = await open_tunnel(proxy, host, port)
    else:
        try:
            tcp = await trio.open_tcp_stream(host, port)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            raise ConnectFailed(f"cannot connect to {where}: {exc}") from exc
    if ssl_context is None:
        return tcp
    tls = trio.SSLStream(tcp, ssl_context, server_hostname=server_hostname or host)
    try:
        await tls.do_handshake()
        verify_host_subject(ssl_context, tls.getpeercert(binary_form=True))
    except ssl.SSLCertVerificationError as exc:
        await trio.aclose_forcefully(tls)
        raise TLSVerificationFailed(f"{where}: {exc.verify_message or exc}") from exc
    except TLSVerificationFailed as exc:
        await trio.aclose_forcefully(tls)
        raise TLSVerificationFailed(f"{where}: {exc}") from exc
    except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
        await trio.aclose_forcefully(tls)
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise TLSVerificationFailed(f"{where}: {cause.verify_message or cause}") from exc
        raise ConnectFailed(f"TLS handshake with {where} failed: {cause or exc}") from exc
    except BaseException:
        await trio.aclose_forcefully(tls)
        raise
    return tls


async def open_channel(
    host: str,
    port: int,
    *,
    channel_type: ChannelType | int,
    channel_id: int = 0,
    connection_id: int = 0,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    common_caps: Caps | None = None,
    channel_caps: Caps | None = None,
    timeout: float | None = 10.0,
    proxy: HttpProxy | None = None,
    username: str | None = None,
) -> Channel:
    """Connect to ``host:port`` (TLS when ``ssl_context`` is given), link one channel and authenticate.

    ``password=None`` sends an empty ticket (servers without ticketing accept it).
    ``timeout`` bounds connect + TLS handshake + link (:class:`ConnectTimeout`).
    With ``proxy`` the connection is an HTTP CONNECT tunnel (TLS runs inside it);
    ``host`` may then be a name only the proxy resolves.  With ``username``: SASL
    (see :func:`link_channel`).
    """
    what = f"linking {host}:{port}" if proxy is None else f"linking port {port} through proxy {proxy}"

    async def connect() -> trio.abc.Stream:
        return await _connect(host, port, ssl_context, server_hostname, proxy)

    link = _Link(channel_type, channel_id, connection_id, password, common_caps, channel_caps, username)
    return await _open(connect, what, timeout, link)


async def open_unix_channel(
    path: str,
    *,
    channel_type: ChannelType | int,
    channel_id: int = 0,
    connection_id: int = 0,
    password: str | None = None,
    common_caps: Caps | None = None,
    channel_caps: Caps | None = None,
    timeout: float | None = 10.0,
    username: str | None = None,
) -> Channel:
    """Like :func:`open_channel`, over the Unix socket at ``path`` (QEMU ``-spice unix=on,addr=PATH``)."""

    async def connect() -> trio.abc.Stream:
        try:
            return await trio.open_unix_socket(path)
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to unix:{path}: {exc.strerror or exc}") from exc

    link = _Link(channel_type, channel_id, connection_id, password, common_caps, channel_caps, username)
    return await _open(connect, f"linking unix:{path}", timeout, link)


@frozen
class _Link:
    """What :func:`link_channel` needs besides the stream."""

    channel_type: ChannelType | int
    channel_id: int
    connection_id: int
    password: str | None
    common_caps: Caps | None
    channel_caps: Caps | None
    username: str | None


async def _open(
    connect: Callable[[], Awaitable[trio.abc.Stream]], what: str, timeout: float | None, link: _Link
) -> Channel:
    """Connect with ``connect`` and link, the whole within ``timeout``."""
    with _deadline(timeout, what):
        stream = await connect()
        return await link_channel(
            stream,
            channel_type=link.channel_type,
            channel_id=link.channel_id,
            connection_id=link.connection_id,
            password=link.password,
            common_caps=link.common_caps,
            channel_caps=link.channel_caps,
            username=link.username,
        )
    raise AssertionError("unreachable")  # pragma: no cover - _deadline never swallows
