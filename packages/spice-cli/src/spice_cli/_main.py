"""The ``spice`` command: argument parsing, exit codes, and no tracebacks for expected failures."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn, cast

from . import (
    __version__,
    _capture_cli,
    _connect,
    _control,
    _demo,
    _do,
    _mcp,
    _record_audio,
    _record_video,
    _replay,
    _report,
    _screenshot,
    _serve,
    _view,
)
from ._exitcodes import ExitCode
from ._run import execute
from ._secrets import mask_argv_secrets

__all__ = ["build_parser", "main"]

_EPILOG = """\
exit codes:
  0    success
  1    internal error (a bug: a traceback is printed)
  2    usage: bad option, URI, host subject or CA file
  3    connection failed (refused or unreachable)
  4    authentication failed (wrong password)
  5    TLS verification failed (CA, hostname or host subject)
  6    the peer is not a SPICE server
  7    timed out
  8    link refused by the server for another reason
  9    protocol error or connection lost
  10   spice do: an expect timed out (the message names the best score)
  11   spice do: no guest agent within 10 s, or the agent refused
  130  interrupted
  141  the output pipe was closed early (e.g. | head): no message
"""


class _UsageProblem(Exception):
    """What argparse would print before exiting 2; :func:`main` prints it with secrets masked."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors reach :func:`main` instead of being printed here."""

    def error(self, message: str) -> NoReturn:
        raise _UsageProblem(self, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spice",
        description="Talk to SPICE servers (QEMU/KVM, Xspice, Proxmox...).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # each command's parser is a _Parser too (argparse makes them of the parent's class)
    subparsers = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(title="commands", metavar="COMMAND"),
    )
    _connect.add_parser(subparsers)
    _screenshot.add_parser(subparsers)
    _do.add_parser(subparsers)
    _control.add_parser(subparsers)
    _mcp.add_parser(subparsers)
    _record_audio.add_parser(subparsers)
    _record_video.add_parser(subparsers)
    _view.add_parser(subparsers)
    _demo.add_parser(subparsers)
    _serve.add_parser(subparsers)
    _replay.add_parser(subparsers)
    _report.add_parser(subparsers)
    _capture_cli.add_capture_option(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Output into a pipe closed early ends quietly with 141, whatever the command.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(words)
    except _UsageProblem as problem:
        problem.parser.print_usage(sys.stderr)
        print(f"{problem.parser.prog}: error: {mask_argv_secrets(str(problem), words)}", file=sys.stderr)
        return int(ExitCode.USAGE)
    if getattr(args, "command", None) is None:
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    command = args.command
    if getattr(args, "capture", None):
        command = _capture_cli.capturing(command)
    if argv is None:
        # The program itself (not a caller passing argv): what the imports made lives as long
        # as the process, so the cyclic collector stops walking it.  Full collections get
        # shorter and the exit (Ctrl+C included) takes 0.1-0.2 s instead of 0.5-1.3 s.
        gc.freeze()
    return execute(command, args, sys.stdout, sys.stderr)
