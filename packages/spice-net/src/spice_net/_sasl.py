"""SASL authentication of a link (SPICE_COMMON_CAP_AUTH_SASL), the client side.

The exchange itself is :class:`spice_proto.Connection`'s (``start_sasl``, ``sasl_start``,
``sasl_step``); this module picks the mechanism and builds its data.  PLAIN (RFC 4616)
is used, and only inside TLS: over plain TCP libspice-server offers DIGEST-MD5 with a
security layer, which is not implemented here (the error says to use the TLS port).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from spice_proto import Connection, ConnectionClosed, LinkErr, SaslMechanisms, SaslReply, SaslStartReceived

from ._channel import _StreamIO
from ._errors import AuthenticationFailed, ChannelClosed, ProtocolViolation, SpiceNetError

__all__ = ["SaslUnsupported", "sasl_login", "sasl_plain_check", "sasl_users"]

_SUPPORTED = ("PLAIN",)


class SaslUnsupported(SpiceNetError):
    """The server offers no SASL mechanism we can use on this connection."""


def plain_response(username: str, password: str) -> bytes:
    """RFC 4616: empty authorisation id, NUL, user, NUL, password (UTF-8)."""
    if "\0" in username or "\0" in password:
        raise ValueError("a SASL user name or password cannot contain NUL")
    return b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")


async def sasl_login(io: _StreamIO, conn: Connection, username: str, password: str, *, secure: bool) -> None:
    """Run the SASL exchange after the link reply; on return the link result is next.

    Raises :class:`AuthenticationFailed` (the server refused or closed), :class:`SaslUnsupported`
    or :class:`ProtocolViolation`.
    """
    conn.start_sasl()
    await io.flush()
    event = await io.next_event()
    if isinstance(event, ConnectionClosed):
        raise AuthenticationFailed(LinkErr.PERMISSION_DENIED, "the server closed the connection before SASL")
    if not isinstance(event, SaslMechanisms):
        raise ProtocolViolation(f"expected the SASL mechanism list, got {type(event).__name__}")
    offered = [name.upper() for name in event.names]
    usable = [name for name in _SUPPORTED if name in offered]
    if not usable or not secure:
        where = "over TLS" if secure else "over plain TCP (use the TLS port)"
        raise SaslUnsupported(
            f"SASL {where}: the server offers {', '.join(event.names) or 'nothing'}; we do PLAIN over TLS"
        )
    conn.sasl_start("PLAIN", plain_response(username, password))
    await io.flush()
    try:
        event = await io.next_event()
    except ChannelClosed:  # over TLS the refusal is an abrupt close
        event = ConnectionClosed()
    if isinstance(event, ConnectionClosed):
        raise AuthenticationFailed(LinkErr.PERMISSION_DENIED, f"SASL: the server refused user {username!r}")
    if not isinstance(event, SaslReply):
        raise ProtocolViolation(f"expected a SASL reply, got {type(event).__name__}")
    if not event.complete:
        raise ProtocolViolation("SASL PLAIN: the server asked for another step")


def sasl_plain_check(start: SaslStartReceived, check: Callable[[str, str], bool]) -> str | None:
    """Server: the user a PLAIN login names if ``check(user, password)`` accepts it, else ``None``."""
    if start.mechanism.upper() != "PLAIN" or start.data is None:
        return None
    parts = start.data.split(b"\0")
    if len(parts) != 3:
        return None
    try:
        authzid, user, password = (part.decode("utf-8") for part in parts)
    except UnicodeDecodeError:
        return None
    if (authzid and authzid != user) or not user:
        return None
    return user if check(user, password) else None


def sasl_users(users: dict[str, str]) -> Callable[[str, str], bool]:
    """A ``check`` for :func:`~spice_net.accept_channel`'s ``sasl=``: these users and passwords
    (compared in constant time)."""
    table = {user: password.encode("utf-8") for user, password in users.items()}

    def check(user: str, password: str) -> bool:
        want = table.get(user)
        given = password.encode("utf-8")
        return hmac.compare_digest(want if want is not None else b"\0" + given, given)

    return check
