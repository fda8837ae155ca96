"""Errors of spice_session (transport and link errors come from :mod:`spice_net`)."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of the errors raised by spice_session itself."""


class InvalidURI(SessionError, ValueError):
    """A ``spice://`` URI that cannot be used; the message names the URI and what is wrong."""


class ChannelUnavailable(SessionError):
    """The session has no channel of the kind asked for (e.g. inputs on a view-only server)."""
