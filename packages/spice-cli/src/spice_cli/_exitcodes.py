"""Exit codes of the ``spice`` command, and the one-line message for each expected failure.

Light on purpose (``enum`` only): the ``spice`` entry point needs it before any command runs.
"""

from __future__ import annotations

import enum
from typing import TextIO

__all__ = ["ExitCode", "NoDisplayError", "UsageError", "classify", "fail"]


class UsageError(Exception):
    """A command-line value that cannot be used (reported with exit code 2)."""


class NoDisplayError(Exception):
    """No screen to open a window on: ``$DISPLAY`` unset or unreachable (exit code 12)."""


class ExitCode(enum.IntEnum):
    """What ``spice`` returns.  Documented in the README and ``spice --help``."""

    OK = 0
    #: An unexpected error (a bug): the only case that prints a traceback.
    INTERNAL = 1
    #: Bad command line: unknown option, malformed URI or host subject, missing CA file.
    USAGE = 2
    #: TCP connection refused or host unreachable.
    CONNECTION_FAILED = 3
    #: The server refused the password (link error PERMISSION_DENIED).
    AUTHENTICATION_FAILED = 4
    #: The server's TLS certificate failed the CA, hostname or host-subject check.
    TLS_VERIFICATION_FAILED = 5
    #: The peer answered, but not as a SPICE server.
    NOT_SPICE = 6
    #: No SPICE session within the timeout.
    TIMEOUT = 7
    #: The server refused the link for another reason (e.g. TLS required and no tls-port known).
    LINK_REFUSED = 8
    #: The server broke the protocol or dropped the connection mid-session.
    PROTOCOL_ERROR = 9
    #: ``spice do``: an expect / expect-text / wait-still did not see what it waited for in time.
    EXPECT_FAILED = 10
    #: ``spice do``: no guest agent, or the agent refused (clipboard, send-file, resize).
    AGENT_FAILED = 11
    #: ``spice view``: no screen to open a window on ($DISPLAY unset or unreachable).
    NO_DISPLAY = 12
    #: Interrupted (Ctrl-C).
    INTERRUPTED = 130
    #: Whoever read the output went away (``spice connect URI | head``): 128 + SIGPIPE, no message.
    BROKEN_PIPE = 141


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def fail(code: ExitCode, message: str, err: TextIO) -> int:
    """Print ``spice: <message>`` on ``err``; ``code`` as an int."""
    try:
        print(f"spice: {message}", file=err, flush=True)
    except OSError:  # stderr is gone too: the exit code is all that is left
        pass
    return int(code)


def classify(exc: BaseException) -> tuple[ExitCode, str] | None:
    """The exit code and one-line message for an expected failure, or ``None`` for a bug."""
    import spice_net
    from spice_session import (
        AgentError,
        InvalidURI,
        MatchError,
        NeedleError,
        OcrUnavailable,
        ScreenshotTimeout,
    )
    from spice_session.lowlevel import SessionLost

    detail = _one_line(exc)
    table: list[tuple[type[BaseException], ExitCode, str]] = [
        (NoDisplayError, ExitCode.NO_DISPLAY, "no display"),
        (InvalidURI, ExitCode.USAGE, "invalid URI"),
        (NeedleError, ExitCode.USAGE, "bad needle"),
        (OcrUnavailable, ExitCode.USAGE, "no OCR"),
        (MatchError, ExitCode.EXPECT_FAILED, "expect failed"),
        (AgentError, ExitCode.AGENT_FAILED, "agent"),
        (spice_net.ConnectTimeout, ExitCode.TIMEOUT, "timed out"),
        (ScreenshotTimeout, ExitCode.TIMEOUT, "timed out"),
        (spice_net.ConnectFailed, ExitCode.CONNECTION_FAILED, "connection failed"),
        (spice_net.AuthenticationFailed, ExitCode.AUTHENTICATION_FAILED, "authentication failed"),
        (spice_net.TLSVerificationFailed, ExitCode.TLS_VERIFICATION_FAILED, "TLS verification failed"),
        (spice_net.NotSpiceServer, ExitCode.NOT_SPICE, "not a SPICE server"),
        (spice_net.LinkRefused, ExitCode.LINK_REFUSED, "link refused"),
        (spice_net.ProtocolViolation, ExitCode.PROTOCOL_ERROR, "protocol error"),
        (spice_net.ChannelClosed, ExitCode.PROTOCOL_ERROR, "connection lost"),
        (SessionLost, ExitCode.PROTOCOL_ERROR, "connection lost"),
        (spice_net.SpiceNetError, ExitCode.PROTOCOL_ERROR, "error"),
    ]
    for cls, code, label in table:
        if isinstance(exc, cls):
            return code, f"{label}: {detail}"
    return None
