"""The session's face of usbredir errors: the wire format is :mod:`spice_proto.usbredir`."""

from __future__ import annotations

from spice_proto import usbredir as wire

from ._errors import SessionError

__all__ = ["UsbRedirError"]


class UsbRedirError(SessionError, wire.UsbRedirError):
    """A usbredir peer broke the protocol, or a USB device could not be served; the message
    names the packet and the fault."""
