"""``spice screenshot``: connect, wait until the screen is still, write the primary surface as PNG."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

import spice_session as ss
import trio
from PIL import Image

from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "screenshot",
        help="save the remote screen as a PNG",
        description="Connect to a SPICE server, wait until the screen has been still for --settle "
        "seconds (after the server's first complete picture), write it to OUT as PNG and exit.",
    )
    add_connection_args(p, timeout_help="give up after S seconds, connecting included (default 10)")
    p.add_argument("out", metavar="OUT.png", help="where to write the PNG")
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
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"output path is a directory: {out}")
    if not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    check_connection_args(args)
    return out


def write_png(surface: ss.Surface, path: Path) -> None:
    """Write a surface as an RGB PNG (alpha-only surfaces as grey)."""
    Image.fromarray(surface.to_rgb(), "RGB").save(path, format="PNG")


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, wait for a settled picture, write it; expected failures raise (ScreenshotTimeout: 7)."""
    path = _check_args(args)
    deadline = trio.current_time() + args.timeout
    async with open_session(args) as session:
        session.events().close()  # nobody reads the events: free what they would hold
        left = max(deadline - trio.current_time(), 0.001)
        shot = await session.screenshot(settle=args.settle, timeout=left)
    try:
        write_png(shot, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{path}: {shot.width}x{shot.height}", file=out, flush=True)
    return ExitCode.OK
