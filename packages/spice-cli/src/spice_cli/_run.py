"""What the ``spice`` subcommands share: connection options, their checks, and running a command.

A subcommand's ``run(args, out)`` raises on expected failures; :func:`execute` turns
them into one ``spice: <what>: <detail>`` line on stderr and the documented exit code
(see :mod:`._exitcodes`).  Only a bug gives a traceback.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TextIO

import spice_net
import spice_session as ss
import trio

from ._exitcodes import ExitCode, UsageError, classify, fail
from ._secrets import add_password_args, check_password, password_from

__all__ = [
    "URI_HELP",
    "Command",
    "UsageError",
    "add_connection_args",
    "check_connection_args",
    "connect_options",
    "connect_target",
    "execute",
    "open_session",
]

URI_HELP = (
    "spice://host:port[?tls-port=N], spice+tls://host:port, spice+unix:///path/to/socket, "
    "or a .vv file (remote-viewer's format: Proxmox, oVirt...); ?password=P works, but shows in ps"
)

#: A subcommand: parsed arguments and stdout in, exit code out; expected failures raise.
Command = Callable[[argparse.Namespace, TextIO], Awaitable[ExitCode]]


def add_connection_args(p: argparse.ArgumentParser, *, timeout_help: str) -> None:
    """URI, password, TLS verification and ``--timeout``: the options of every client command."""
    p.add_argument("uri", metavar="URI|FILE.vv", help=URI_HELP)
    add_password_args(p)
    p.add_argument(
        "--proxy",
        metavar="URL",
        help="tunnel through this HTTP proxy, http://[user:pass@]host[:port] (default: the .vv file's "
        "proxy=, else $SPICE_PROXY; --proxy= for none)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="CA certificate(s) to verify a TLS server with")
    p.add_argument(
        "--host-subject",
        metavar="SUBJECT",
        help='check the server certificate subject instead of its hostname, e.g. "O=Example, CN=host"',
    )
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help=timeout_help)
    p.add_argument(
        "--memory-budget",
        type=_memory_size,
        default=ss.lowlevel.DEFAULT_MEMORY_BUDGET,
        metavar="SIZE",
        help="most memory the session may hold for the server's pictures, e.g. 512M or 2G (default 1G); "
        "what would exceed it is skipped",
    )
    p.add_argument(
        "--enforce-vv-version",
        action="store_true",
        help="refuse a .vv file whose version= (remote-viewer's minimum) is newer than spice-cli "
        "(default: minimums for virt-viewer are reported and ignored; versions=spice-cli:V is always "
        "enforced)",
    )


def _memory_size(text: str) -> int:
    try:
        size = ss.lowlevel.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if size < ss.lowlevel.MIN_MEMORY_BUDGET:
        raise argparse.ArgumentTypeError(
            f"{text} is below the minimum of {ss.lowlevel.MIN_MEMORY_BUDGET >> 20}M"
        )
    return size


def check_connection_args(args: argparse.Namespace) -> None:
    """:class:`UsageError` (or :class:`~spice_session.InvalidURI`) before any network traffic."""
    if args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    if args.ca_file is not None and not os.path.isfile(args.ca_file):
        raise UsageError(f"CA file not found: {args.ca_file}")
    if args.host_subject is not None:
        try:
            spice_net.parse_host_subject(args.host_subject)
        except ValueError as exc:
            raise UsageError(f"invalid host subject: {exc}") from None
    args.vv = None
    if ss.lowlevel.is_vv_path(args.uri):
        args.vv = ss.load_vv(args.uri)  # once: the file may ask to be deleted when read
        _check_vv_versions(args.vv, args.uri, getattr(args, "enforce_vv_version", False))
        uri = args.vv.uri()
        origin = f"the file {args.uri}"
    else:
        uri = ss.parse_uri(args.uri)
        origin = "the URI"
        if uri.password is not None:  # spice-gtk warns about this too
            print(
                "spice: warning: a password in the URI may be visible in process listings; "
                "prefer --password-file",
                file=sys.stderr,
            )
    if password_from(args) is None and uri.password is not None:
        check_password(uri.password, origin)


def _check_vv_versions(vv: ss.VVFile, path: str, enforce: bool) -> None:
    """A .vv file's minimum version for spice-cli is enforced; virt-viewer's are reported."""
    from importlib.metadata import version  # (only for .vv files: 10-25 ms of start-up otherwise)

    check = ss.lowlevel.check_vv_versions(vv, version("spice-cli"), enforce_generic=enforce)
    error = check.error()
    if error is not None:
        raise ss.lowlevel.InvalidVVFile(f"{path}: {error}")
    notice = check.notice()
    if notice is not None:
        print(f"spice: {notice}", file=sys.stderr)


def open_session(args: argparse.Namespace, *, audio: bool = False) -> AbstractAsyncContextManager[ss.Session]:
    """``async with open_session(args) as session``: connect the way the options say.

    ``--password`` or ``--password-file`` overrides the URI's ``?password=`` (or the .vv
    file's, read by :func:`check_connection_args`); ``audio``
    opens the playback and record channels too.
    """
    return ss.connect(connect_target(args), **connect_options(args, audio=audio))


def connect_target(args: argparse.Namespace) -> str | ss.VVFile:
    """Where to connect: the .vv file :func:`check_connection_args` read, else the URI."""
    vv: ss.VVFile | None = getattr(args, "vv", None)
    return vv if vv is not None else str(args.uri)


def connect_options(args: argparse.Namespace, *, audio: bool = False) -> dict[str, Any]:
    """The keyword arguments of :func:`spice_session.connect` the options give."""
    return {
        "password": password_from(args),
        "proxy": args.proxy,
        "ca_file": args.ca_file,
        "host_subject": args.host_subject,
        "timeout": args.timeout,
        "memory_budget": args.memory_budget,
        "audio": audio,
    }


def _reader_gone(out: TextIO) -> bool:
    """Nobody reads ``out`` any more (a pipe or socket with the far end closed)."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a real file (a test's StringIO): trust the exception
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _quiet_broken_pipe(out: TextIO) -> int:
    """Whoever read ``out`` has gone (``spice ... | head``): exit quietly with 141, as SIGPIPE would.

    ``out`` is pointed at /dev/null so the interpreter's last flush does not complain either.
    """
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a real file (a test's StringIO)
        return int(ExitCode.BROKEN_PIPE)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    return int(ExitCode.BROKEN_PIPE)


def execute(command: Command, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a subcommand under trio; its exit code, or the code of the expected failure it raised.

    A failure inside a nursery arrives as an exception group; it is judged by what it holds.
    Ctrl+C anywhere in it wins: what else failed is its consequence (the demo's own server
    interrupted closes the viewer's channels).
    """
    try:
        return int(trio.run(command, args, out))
    except BaseException as exc:
        leaves = spice_net.lowlevel.error_leaves(exc) or [exc]
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            return fail(ExitCode.INTERRUPTED, "interrupted", err)
        if all(isinstance(leaf, BrokenPipeError) for leaf in leaves) and _reader_gone(out):
            return _quiet_broken_pipe(out)
        if len(leaves) != 1 or not isinstance(leaves[0], Exception):
            raise
        if isinstance(leaves[0], UsageError):
            return fail(ExitCode.USAGE, str(leaves[0]), err)
        known = classify(leaves[0])
        if known is None:
            raise
        return fail(known[0], known[1], err)
