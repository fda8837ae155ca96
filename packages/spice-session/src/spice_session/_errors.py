"""Errors of spice_session (transport and link errors come from :mod:`spice_net`)."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of the errors raised by spice_session itself."""


class InvalidURI(SessionError, ValueError):
    """A ``spice://`` URI that cannot be used; the message names the URI and what is wrong."""


class ChannelUnavailable(SessionError):
    """The session has no channel of the kind asked for (e.g. inputs on a view-only server)."""


class DisplayError(SessionError):
    """Display data that cannot be drawn: an unknown surface, a missing cache entry, a bad image.

    The message names the surface, image or cache id and what was wrong.  The session logs it
    and skips that one draw command (see :mod:`spice_session._display`).
    """


class StreamError(DisplayError):
    """A stream frame or command that cannot be shown (corrupt frame, unknown surface, bad rectangle)."""


class ScreenshotTimeout(SessionError, TimeoutError):
    """No complete, settled picture of the primary surface within the time allowed."""


class AgentError(SessionError):
    """No agent, an agent without the capability needed, or an error the agent reported."""
