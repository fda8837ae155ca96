"""SPICE transport for trio: link handshake, ticket auth, TLS, framing and ACK flow control.

Client: :func:`open_channel` (TCP or TLS) or :func:`link_channel` (any trio
stream) return a :class:`Channel`.  Server: :func:`accept_channel` returns a
:class:`ServerChannel` (ticket keys from a :class:`TicketKeyPool`).  The protocol
logic is :class:`spice_proto.Connection`; this package moves its bytes and does
the ticket cryptography.
"""

from ._channel import BaseChannel, Channel, ServerChannel
from ._client import link_channel, open_channel
from ._errors import (
    AuthenticationFailed,
    ChannelClosed,
    ConnectFailed,
    ConnectTimeout,
    LinkRefused,
    NeedSecured,
    NotSpiceServer,
    ProtocolViolation,
    SpiceNetError,
    TLSVerificationFailed,
)
from ._groups import error_leaves, single_error
from ._keypool import TicketKeyPool
from ._server import LinkDecision, accept_channel
from ._ticket import TicketKey, encrypt_ticket
from ._tls import SpiceSSLContext, client_ssl_context, parse_host_subject, server_ssl_context

__version__ = "0.1.0"

__all__ = [
    "AuthenticationFailed",
    "BaseChannel",
    "Channel",
    "ChannelClosed",
    "ConnectFailed",
    "ConnectTimeout",
    "LinkDecision",
    "LinkRefused",
    "NeedSecured",
    "NotSpiceServer",
    "ProtocolViolation",
    "ServerChannel",
    "SpiceNetError",
    "SpiceSSLContext",
    "TLSVerificationFailed",
    "TicketKey",
    "TicketKeyPool",
    "__version__",
    "accept_channel",
    "client_ssl_context",
    "encrypt_ticket",
    "error_leaves",
    "link_channel",
    "open_channel",
    "parse_host_subject",
    "server_ssl_context",
    "single_error",
]
