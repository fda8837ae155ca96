"""The ``spice`` command line: argument parsing, then the command, under :func:`._run.execute`.

Only the command that runs is imported (``spice --help`` and ``spice --version`` import none).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn, cast

from . import __version__, _capture_cli
from ._commands import COMMANDS, HELP
from ._exitcodes import ExitCode

__all__ = ["build_parser", "run_command_line"]

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
  12   spice view: no screen to open a window on ($DISPLAY unset or unreachable)
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


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``spice`` parser; the commands in ``commands`` (default: all) get their own parser,
    which imports their module, the others only their line in ``--help``."""
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
    for name, module in COMMANDS.items():
        if commands is None or name in commands:
            importlib.import_module(f"{__package__}.{module}").add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=HELP[name])
    _capture_cli.add_capture_option(subparsers)
    return parser


def _command_word(words: Sequence[str]) -> str | None:
    """The command ``words`` name, as argparse reads them (the first positional), if any."""
    rest = iter(words)
    for word in rest:
        if word == "--":
            return next(rest, None)
        if word == "-" or not word.startswith("-"):
            return word
    return None


@contextmanager
def _loading() -> Iterator[None]:
    """A block that imports a command's modules: a failure after a Ctrl+C is the interrupt.

    Python raises KeyboardInterrupt wherever the main thread is when Ctrl+C comes.  Inside an
    extension module's import, the module may turn it into an ImportError of its own (numpy's
    does when it comes while numpy's C code imports ``datetime``), which would be reported as
    a crash with a traceback.  So Ctrl+C is noted as it is raised, and any error the block
    then ends with becomes the KeyboardInterrupt.  Python's handler is wrapped only where it
    is the one installed (a program calling in keeps its own), and put back after the block.
    """
    noted: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        noted.append(signum)
        signal.default_int_handler(signum, frame)

    ours = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if ours:
        signal.signal(signal.SIGINT, note)
    try:
        yield
    except Exception:
        if noted:
            raise KeyboardInterrupt from None
        raise
    finally:
        if ours and signal.getsignal(signal.SIGINT) is note:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def run_command_line(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), import the command named and run it; the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        # The program itself: loading the command makes ~10^5 objects that all live as long
        # as the process, so collecting while they are made is wasted (~8 % of the import's
        # CPU); once loaded they are frozen (see below).
        gc.disable()
    try:
        with _loading():
            parser = build_parser([word] if (word := _command_word(words)) in COMMANDS else [])
    finally:
        if argv is None:
            gc.freeze()
            gc.enable()
    try:
        args = parser.parse_args(words)
    except _UsageProblem as problem:
        from ._secrets import mask_argv_secrets

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
    with _loading():
        from ._run import execute

    return execute(command, args, sys.stdout, sys.stderr)
