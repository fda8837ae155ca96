"""The exceptions of spice_net; all subclass :class:`SpiceNetError`."""

from __future__ import annotations

from spice_proto import LinkErr

__all__ = [
    "AuthenticationFailed",
    "ChannelClosed",
    "ConnectFailed",
    "ConnectTimeout",
    "LinkRefused",
    "NeedSecured",
    "NotSpiceServer",
    "ProtocolViolation",
    "SpiceNetError",
    "TLSVerificationFailed",
]


class SpiceNetError(Exception):
    """Base class of every spice_net error."""


class ConnectFailed(SpiceNetError):
    """The TCP connection (or the TLS handshake) could not be made."""


class ConnectTimeout(SpiceNetError):
    """Connecting and linking took longer than the timeout."""


class NotSpiceServer(SpiceNetError):
    """The peer answered something that is not a SPICE link reply."""


class LinkRefused(SpiceNetError):
    """The link was refused with a SPICE link error ``code``."""

    def __init__(self, code: LinkErr, detail: str = "") -> None:
        self.code = code
        text = f"link refused: {code.name} ({int(code)})"
        super().__init__(f"{text}: {detail}" if detail else text)


class AuthenticationFailed(LinkRefused):
    """Wrong password (link error PERMISSION_DENIED)."""


class NeedSecured(LinkRefused):
    """The server wants this channel over TLS (link error NEED_SECURED): use its tls-port."""


class TLSVerificationFailed(SpiceNetError):
    """The server certificate failed the CA, hostname or host-subject check."""


class ChannelClosed(SpiceNetError):
    """The channel is closed (by the peer, or by us)."""


class ProtocolViolation(SpiceNetError):
    """The peer sent bytes that break the protocol (wraps :class:`spice_proto.ProtocolError`)."""


def link_refused(code: LinkErr, detail: str = "") -> LinkRefused:
    """The most specific :class:`LinkRefused` subclass for ``code``."""
    if code == LinkErr.PERMISSION_DENIED:
        return AuthenticationFailed(code, detail)
    if code == LinkErr.NEED_SECURED:
        return NeedSecured(code, detail)
    return LinkRefused(code, detail)
