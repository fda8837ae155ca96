"""SASL authentication of a link (SPICE_COMMON_CAP_AUTH_SASL), the client side.

The exchange itself is :class:`spice_proto.Connection`'s (``start_sasl``, ``sasl_start``,
``sasl_step``); the mechanism is libsasl2's (:mod:`._sasl_lib`), chosen among what the server
offers: inside TLS any (SCRAM, DIGEST-MD5, PLAIN, ...), over plain TCP or a Unix socket only
one with a security layer of 56+ bits (DIGEST-MD5), which then wraps the rest of the link
(:class:`._sasl_layer.SaslLayerStream`).  Wire order, as libspice-server and spice-gtk speak
it: mechanism list, start, steps until the server says complete (the client still checks the
server's last data, e.g. DIGEST-MD5's rspauth), the plain u32 outcome, then the layer.
"""

from __future__ import annotations

import hmac
import socket
from collections.abc import Callable, Mapping
from typing import TypeVar

import trio
from spice_proto import (
    Connection,
    ConnectionClosed,
    Event,
    LinkErr,
    LinkFailed,
    SaslLayerStarted,
    SaslMechanisms,
    SaslReply,
    SaslStartReceived,
    SaslStepReceived,
)

from ._channel import _StreamIO
from ._errors import AuthenticationFailed, ChannelClosed, ProtocolViolation
from ._sasl_layer import SaslLayerStream
from ._sasl_lib import MIN_SSF, SaslClient, SaslError, SaslServer, SaslUnsupported

__all__ = ["SaslLogin", "SaslUnsupported", "sasl_login", "sasl_users"]


_T = TypeVar("_T")


def _beneath(stream: trio.abc.Stream, kind: type[_T]) -> _T | None:
    """``stream`` or the first stream under it (``inner``, ``transport_stream``) of ``kind``."""
    current: object = stream
    while current is not None:
        if isinstance(current, kind):
            return current
        current = getattr(current, "inner", None) or getattr(current, "transport_stream", None)
    return None


def _endpoints(stream: trio.abc.Stream) -> tuple[str, str | None, str | None]:
    """The server's address as SASL's host, and both ends as ``IP;PORT`` (libsasl2's syntax)."""
    tcp = _beneath(stream, trio.SocketStream)
    if tcp is None or tcp.socket.family not in (socket.AF_INET, socket.AF_INET6):
        return "localhost", None, None
    local, remote = tcp.socket.getsockname(), tcp.socket.getpeername()
    return str(remote[0]), f"{local[0]};{local[1]}", f"{remote[0]};{remote[1]}"


def _tls_bits(stream: trio.abc.Stream) -> int | None:
    tls = _beneath(stream, trio.SSLStream)
    if tls is None:
        return None
    cipher = tls.cipher()
    return int(cipher[2]) if cipher else 128


async def _next(io: _StreamIO, refused: str) -> Event:
    try:
        event = await io.next_event()
    except ChannelClosed:  # a refusal may be an abrupt close (TLS) or a reset
        event = ConnectionClosed()
    if isinstance(event, (ConnectionClosed, LinkFailed)):
        raise AuthenticationFailed(LinkErr.PERMISSION_DENIED, refused)
    return event


async def sasl_login(io: _StreamIO, conn: Connection, username: str, password: str) -> None:
    """Run the SASL exchange after the link reply; on return the link result is next.

    ``io.stream`` must be a :class:`SaslLayerStream` (or reach one through ``inner``) when the
    link is not inside TLS.  Raises :class:`AuthenticationFailed` (refused, or the server failed
    to prove itself), :class:`SaslUnsupported` (libsasl2 missing, no usable mechanism) or
    :class:`ProtocolViolation`.
    """
    host, local, remote = _endpoints(io.stream)
    external = _tls_bits(io.stream)
    client = SaslClient(username, password, host=host, local=local, remote=remote, external_ssf=external)
    layer = _beneath(io.stream, SaslLayerStream) if external is None else None
    if layer is not None:
        layer.trickle()  # a few hundred bytes; then nothing wrapped is read as plain
    layered = False
    try:
        conn.start_sasl()
        await io.flush()
        event = await _next(io, "the server closed the connection before SASL")
        if not isinstance(event, SaslMechanisms):
            raise ProtocolViolation(f"expected the SASL mechanism list, got {type(event).__name__}")
        where = (
            "inside TLS" if external is not None else "over plain TCP (only mechanisms with a security layer)"
        )
        try:
            mechanism, data = client.start(",".join(event.names))
        except SaslUnsupported:
            raise SaslUnsupported(
                f"SASL {where}: the server offers {', '.join(event.names) or 'nothing'}, none usable here"
            ) from None
        refused = f"SASL {mechanism}: the server refused user {username!r}"
        conn.sasl_start(mechanism, data)
        await io.flush()
        while True:
            reply = await _next(io, refused)
            if not isinstance(reply, SaslReply):
                raise ProtocolViolation(f"expected a SASL reply, got {type(reply).__name__}")
            try:
                if reply.complete and client.done:
                    break
                answer = client.step(reply.data)
            except SaslError as exc:  # e.g. the server's proof is wrong, or it offers no layer
                raise AuthenticationFailed(
                    LinkErr.PERMISSION_DENIED, f"SASL {mechanism}: we refused the server's data ({exc})"
                ) from None
            if reply.complete:
                if not client.done:
                    raise AuthenticationFailed(
                        LinkErr.PERMISSION_DENIED, f"SASL {mechanism}: the server ended the exchange early"
                    )
                break
            conn.sasl_step(answer)
            await io.flush()
        ssf = client.ssf
        if external is None and ssf < MIN_SSF:
            raise SaslUnsupported(f"SASL {mechanism}: a security layer of {ssf} bits is too weak without TLS")
        if ssf and external is None:
            if layer is None:
                raise SaslUnsupported(
                    "SASL: a security layer was negotiated on a stream that cannot carry it"
                )
            conn.sasl_security_layer()
            event = await _next(io, refused)
            if not isinstance(event, SaslLayerStarted):
                raise ProtocolViolation(f"expected the SASL outcome, got {type(event).__name__}")
            layer.start(client, conn.take_unparsed())
            layered = True
    finally:
        if not layered:
            client.close()


class SaslLogin:
    """The server half of one link's SASL login through libsasl2 (``options``: its settings,
    e.g. ``mech_list`` and ``sasldb_path``; ``checkpass(user, password)`` verifies PLAIN).
    Made once the link request arrived (inside TLS the handshake is done then), so that
    :attr:`mechanisms` can be offered in the link reply."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        options: Mapping[str, str],
        checkpass: Callable[[str, str], bool] | None = None,
    ) -> None:
        _, local, remote = _endpoints(stream)
        self._external = _tls_bits(stream)
        self._server = SaslServer(
            options=options, local=local, remote=remote, external_ssf=self._external, checkpass=checkpass
        )
        self._layered = False
        try:
            self.mechanisms = tuple(self._server.mechanisms())
        except SaslError:
            self.mechanisms = ()  # none fits this connection (e.g. no layer without TLS)

    async def run(self, io: _StreamIO, conn: Connection, start: SaslStartReceived) -> str:
        """Answer the client until the login succeeds (returns the user name, the outcome sent
        and, without TLS, the security layer started) or fails (:class:`AuthenticationFailed`)."""
        server = self._server
        try:
            out, done = server.start(start.mechanism, start.data)
            while not done:
                conn.sasl_continue(out)
                await io.flush()
                event = await io.next_event()
                if isinstance(event, ConnectionClosed):
                    raise ChannelClosed("client closed the connection during SASL")
                if not isinstance(event, SaslStepReceived):
                    raise ProtocolViolation(f"expected a SASL step, got {type(event).__name__}")
                out, done = server.step(event.data)
            ssf = server.ssf
            user = server.username
        except SaslError as exc:
            raise AuthenticationFailed(
                LinkErr.PERMISSION_DENIED, f"{start.mechanism} login refused: {exc}"
            ) from None
        if self._external is None and ssf < MIN_SSF:
            raise AuthenticationFailed(LinkErr.PERMISSION_DENIED, f"SASL layer of {ssf} bits is too weak")
        conn.sasl_accept(out)
        await io.flush()
        if ssf and self._external is None:
            layer = _beneath(io.stream, SaslLayerStream)
            if layer is None:
                raise SaslUnsupported(
                    "SASL: a security layer was negotiated on a stream that cannot carry it"
                )
            layer.start(server, conn.take_unparsed())
            self._layered = True
        return user

    @property
    def layered(self) -> bool:
        """Whether the login started a security layer."""
        return self._layered

    def close(self) -> None:
        """Dispose of the SASL state unless a security layer now owns it."""
        if not self._layered:
            self._server.close()


def sasl_users(users: dict[str, str]) -> Callable[[str, str], bool]:
    """A ``check`` for :func:`~spice_net.accept_channel`'s ``sasl=``: these users and passwords
    (compared in constant time)."""
    table = {user: password.encode("utf-8") for user, password in users.items()}

    def check(user: str, password: str) -> bool:
        want = table.get(user)
        given = password.encode("utf-8")
        return hmac.compare_digest(want if want is not None else b"\0" + given, given)

    return check
