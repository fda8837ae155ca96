"""The ``spice`` command: argument parsing, exit codes, and no tracebacks for expected failures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, _connect, _demo, _screenshot, _serve, _view
from ._exitcodes import ExitCode
from ._run import execute

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
  130  interrupted
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spice",
        description="Talk to SPICE servers (QEMU/KVM, Xspice, Proxmox...).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    _connect.add_parser(subparsers)
    _screenshot.add_parser(subparsers)
    _view.add_parser(subparsers)
    _demo.add_parser(subparsers)
    _serve.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) is None:
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    return execute(args.command, args, sys.stdout, sys.stderr)
