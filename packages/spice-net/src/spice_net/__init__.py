"""SPICE transport for trio: link handshake, ticket auth, TLS, framing and ACK flow control.

Client: :func:`open_channel` (TCP or TLS) or :func:`link_channel` (any trio
stream) return a :class:`Channel`.  Server: :func:`accept_channel` returns a
:class:`ServerChannel` (ticket keys from a :class:`TicketKeyPool`).  The protocol
logic is :class:`spice_proto.Connection`; this package moves its bytes and does
the ticket cryptography.  The ticket primitives, the channel base class and the
exception-group helpers are in :mod:`spice_net.lowlevel`.
"""

# Grouped by purpose, not by module name:
# isort: skip_file

# --- Client
from ._client import (
    link_channel as link_channel,
    open_channel as open_channel,
    open_unix_channel as open_unix_channel,
)
from ._channel import Channel as Channel
from ._proxy import HttpProxy as HttpProxy, parse_proxy as parse_proxy

# --- Server
from ._server import LinkDecision as LinkDecision, accept_channel as accept_channel
from ._channel import ServerChannel as ServerChannel
from ._keypool import TicketKeyPool as TicketKeyPool

# --- TLS
from ._tls import (
    SpiceSSLContext as SpiceSSLContext,
    client_ssl_context as client_ssl_context,
    parse_host_subject as parse_host_subject,
    server_ssl_context as server_ssl_context,
)

# --- Traffic capture (plaintext pcap per channel)
from ._capture import (
    CaptureRing as CaptureRing,
    capture_ring as capture_ring,
    capture_to as capture_to,
    read_pcap as read_pcap,
)

# --- Errors
from ._errors import (
    AuthenticationFailed as AuthenticationFailed,
    ChannelClosed as ChannelClosed,
    ConnectFailed as ConnectFailed,
    ConnectTimeout as ConnectTimeout,
    LinkRefused as LinkRefused,
    NeedSecured as NeedSecured,
    NotSpiceServer as NotSpiceServer,
    ProtocolViolation as ProtocolViolation,
    SpiceNetError as SpiceNetError,
    TLSVerificationFailed as TLSVerificationFailed,
)
from ._capture import CaptureError as CaptureError
from ._sasl_lib import SaslUnsupported as SaslUnsupported
from ._proxy import (
    InvalidProxy as InvalidProxy,
    ProxyAuthRequired as ProxyAuthRequired,
    ProxyFailed as ProxyFailed,
)

from . import lowlevel as lowlevel
from spice_proto.lowlevel import publish as _publish

__version__ = "0.1.0"

__all__ = _publish(__name__, globals())
