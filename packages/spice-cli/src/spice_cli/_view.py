"""``spice view``: the remote screen in an SDL window, with keyboard and mouse going back.

SDL is imported only when the command runs, so the other commands work without it.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

import spice_net
import spice_session as ss

from ._connect import UsageError
from ._exitcodes import ExitCode

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "view",
        help="show a SPICE server's screen in a window, with keyboard and mouse",
        description="Open a window at the remote screen size showing the server's primary display. "
        "Click to grab keyboard and mouse, press Ctrl+Alt to release them, Ctrl+Alt+F toggles "
        "fullscreen; resizing scales with the aspect ratio kept.",
    )
    p.add_argument("uri", help="spice://host:port[?tls-port=N&password=P] or spice+tls://host:port")
    p.add_argument("--password", help="the SPICE ticket (overrides ?password= in the URI)")
    p.add_argument("--ca-file", metavar="PEM", help="CA certificate(s) to verify a TLS server with")
    p.add_argument("--host-subject", metavar="SUBJECT", help="check the server certificate subject")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="give up connecting after S seconds"
    )
    p.add_argument(
        "--server-mouse",
        action="store_true",
        help="keep the server mouse mode (relative motion while grabbed) instead of asking for client mode",
    )
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.ca_file is not None and not os.path.isfile(args.ca_file):
        raise UsageError(f"CA file not found: {args.ca_file}")
    if args.host_subject is not None:
        try:
            spice_net.parse_host_subject(args.host_subject)
        except ValueError as exc:
            raise UsageError(f"invalid host subject: {exc}") from None
    if args.timeout <= 0:
        raise UsageError("--timeout must be > 0")
    ss.parse_uri(args.uri)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, show the window until it is closed; a dropped connection raises (exit code 9)."""
    _check_args(args)
    from ._sdl_viewer import Viewer
    from ._sdl_window import sdl_video

    with sdl_video():
        async with ss.connect(
            args.uri,
            password=args.password,
            ca_file=args.ca_file,
            host_subject=args.host_subject,
            timeout=args.timeout,
        ) as session:
            viewer = Viewer(session, client_mouse=not args.server_mouse)
            await viewer.run()
    return ExitCode.OK
