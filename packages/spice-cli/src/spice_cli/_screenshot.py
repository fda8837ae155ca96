"""``spice screenshot``: connect, wait until the screen is still, write the primary surface as PNG."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

import spice_net
import spice_session as ss
import trio
from PIL import Image

from ._connect import UsageError
from ._exitcodes import ExitCode

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "screenshot",
        help="save the remote screen as a PNG",
        description="Connect to a SPICE server, wait until the screen has been still for --settle "
        "seconds (after the server's first complete picture), write it to OUT as PNG and exit.",
    )
    p.add_argument("uri", help="spice://host:port[?tls-port=N&password=P] or spice+tls://host:port")
    p.add_argument("out", metavar="OUT.png", help="where to write the PNG")
    p.add_argument("--password", help="the SPICE ticket (overrides ?password= in the URI)")
    p.add_argument("--ca-file", metavar="PEM", help="CA certificate(s) to verify a TLS server with")
    p.add_argument("--host-subject", metavar="SUBJECT", help="check the server certificate subject")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="give up after S seconds, connecting included (default 10)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=0.5,
        metavar="S",
        help="the screen must have been still for S seconds (default 0.5)",
    )
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> Path:
    if args.timeout <= 0 or args.settle < 0:
        raise UsageError("--timeout must be > 0 and --settle >= 0")
    if args.ca_file is not None and not os.path.isfile(args.ca_file):
        raise UsageError(f"CA file not found: {args.ca_file}")
    if args.host_subject is not None:
        try:
            spice_net.parse_host_subject(args.host_subject)
        except ValueError as exc:
            raise UsageError(f"invalid host subject: {exc}") from None
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"output path is a directory: {out}")
    if not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    ss.parse_uri(args.uri)  # InvalidURI before any network traffic
    return out


def write_png(surface: ss.Surface, path: Path) -> None:
    """Write a surface as an RGB PNG (alpha-only surfaces as grey)."""
    Image.fromarray(surface.to_rgb(), "RGB").save(path, format="PNG")


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, wait for a settled picture, write it; expected failures raise or return their code."""
    path = _check_args(args)
    deadline = trio.current_time() + args.timeout
    async with ss.connect(
        args.uri,
        password=args.password,
        ca_file=args.ca_file,
        host_subject=args.host_subject,
        timeout=args.timeout,
    ) as session:
        session.events().close()  # nobody reads events: let the readers draw at full speed
        left = max(deadline - trio.current_time(), 0.001)
        try:
            shot = await session.screenshot(settle=args.settle, timeout=left)
        except ss.ScreenshotTimeout as exc:
            print(f"spice: timed out: {exc}", file=sys.stderr, flush=True)
            return ExitCode.TIMEOUT
    try:
        write_png(shot, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{path}: {shot.width}x{shot.height}", file=out, flush=True)
    return ExitCode.OK
