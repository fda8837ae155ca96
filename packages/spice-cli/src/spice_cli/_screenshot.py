"""``spice screenshot``: connect, wait for a complete picture and (for a while) stillness, write a PNG.

A picture is complete once the server has drawn on the primary surface and then
paused for :data:`COMPLETE_GAP` (the draws of one update arrive back to back), so a
half-drawn update is never written.  A server that never pauses that long (an xterm
flooding the screen) has its picture taken between two draws after :data:`GAP_WAIT`:
every draw it sent so far is in it.  Then up to ``--settle`` seconds are spent
waiting for the screen to be still for ``--still`` seconds; a screen that never
settles (a clock, a video) gets its newest complete picture written, with a note.
``--wait-still`` makes stillness mandatory (exit 7 at ``--timeout``).
``--monitor N`` writes only the N-th guest monitor (0-based, in the order of
``Display.monitor_layout()``), ``--monitor all`` every monitor side by side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt
import spice_session as ss
import trio
from spice_proto import ChannelType

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session

__all__ = ["COMPLETE_GAP", "add_parser", "capture", "run"]

#: A pause this long in the drawing marks the end of an update: the picture is complete.
COMPLETE_GAP = 0.02
#: Seconds to wait for such a pause once there is a picture; then any moment between draws will do.
GAP_WAIT = 1.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "screenshot",
        help=HELP["screenshot"],
        description="Connect to a SPICE server, wait for its first complete picture, then up to --settle "
        "seconds for the screen to be still; write the still picture, or the newest complete one if the "
        "screen never settled (a note on stderr says so), to OUT as PNG and exit.",
    )
    add_connection_args(p, timeout_help="give up after S seconds, connecting included (default 10)")
    p.add_argument("out", metavar="OUT.png", help="where to write the PNG")
    p.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="S",
        help="wait up to S seconds for the screen to be still (default 2; 0: the first complete picture)",
    )
    p.add_argument(
        "--still",
        type=float,
        default=0.5,
        metavar="Q",
        help="still means unchanged for Q seconds (default 0.5, at most --settle)",
    )
    p.add_argument(
        "--wait-still",
        action="store_true",
        help="stillness is mandatory: wait until --timeout for it, else exit 7 without writing",
    )
    p.add_argument(
        "--monitor",
        metavar="N|all",
        help="only guest monitor N (0-based, by display channel then monitor id), or all of them side "
        "by side (default: the first display channel's whole screen)",
    )
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> Path:
    if args.timeout <= 0 or args.settle < 0 or args.still < 0:
        raise UsageError("--timeout must be > 0 and --settle, --still >= 0")
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"output path is a directory: {out}")
    if not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    check_connection_args(args)
    monitor = getattr(args, "monitor", None)
    if monitor is not None and monitor != "all" and not (monitor.isdigit() and int(monitor) < 64):
        raise UsageError(f"--monitor takes a monitor number or 'all', not {monitor!r}")
    return out


async def monitors_picture(session: ss.Session, which: str, deadline: float) -> npt.NDArray[np.uint8]:
    """Monitor ``which`` (a number) or ``all`` side by side (top-aligned, black between) as RGB."""
    listed = sum(1 for c in session.channels if c.type == ChannelType.DISPLAY)
    with trio.move_on_at(min(deadline, trio.current_time() + 2.0)):  # the other channels' first pictures
        while sum(1 for s in session.display.channels.values() if s.primary is not None) < listed:
            await session.display_changed()
    layout = session.display.monitor_layout()
    if which != "all":
        index = int(which)
        if index >= len(layout):
            raise UsageError(f"--monitor {index}: the guest shows {len(layout)} monitor(s)")
        return session.display.monitor_rgb(layout[index])
    parts = [session.display.monitor_rgb(m) for m in layout]
    out = np.zeros((max(p.shape[0] for p in parts), sum(p.shape[1] for p in parts), 3), np.uint8)
    x = 0
    for part in parts:
        out[: part.shape[0], x : x + part.shape[1]] = part
        x += part.shape[1]
    return out


def write_png(surface: ss.Surface, path: Path) -> None:
    """Write a surface as an RGB PNG (alpha-only surfaces as grey)."""
    _save_rgb(surface.to_rgb(), path)


def _save_rgb(rgb: npt.NDArray[np.uint8], path: Path) -> None:
    """Write an (height, width, 3) RGB picture as a PNG."""
    from PIL import Image  # (after the connection: not on the way to the first byte)

    Image.fromarray(rgb, "RGB").save(path, format="PNG")


async def _complete(session: ss.Session, deadline: float) -> ss.Surface:
    """A copy of the primary surface taken after a pause of :data:`COMPLETE_GAP` in the drawing,
    or after :data:`GAP_WAIT` without one, as of the newest draw."""
    with trio.move_on_at(deadline):
        while True:
            surface = session.picture()
            if surface is not None:
                break
            await session.display_changed()
    with trio.move_on_at(min(deadline, trio.current_time() + GAP_WAIT)):
        while True:
            surface = session.picture()
            if surface is not None:
                quiet = trio.current_time() - session.last_display_change
                if quiet >= COMPLETE_GAP:
                    return surface.copy()
                with trio.move_on_after(COMPLETE_GAP - quiet):
                    await session.display_changed()
            else:
                await session.display_changed()
    surface = session.picture()
    if surface is None:
        raise ss.ScreenshotTimeout(f"{session.uri}: no complete picture in time: no picture yet")
    return surface.copy()  # the drawing never paused: the picture as of the newest draw


async def capture(
    session: ss.Session, *, settle: float, still: float, wait_still: bool, deadline: float
) -> tuple[ss.Surface, bool]:
    """(picture, still?): a still picture if the screen settles in time, else the newest complete one."""
    still = min(still, settle) if not wait_still else still
    newest = await _complete(session, deadline)
    give_up = deadline if wait_still else min(deadline, trio.current_time() + settle)
    with trio.move_on_at(give_up):
        while True:
            quiet = trio.current_time() - session.last_display_change
            if quiet >= still:
                return await _complete(session, deadline), True
            with trio.move_on_after(still - quiet):
                await session.display_changed()
            if trio.current_time() - session.last_display_change >= COMPLETE_GAP:
                picture = session.picture()
                if picture is not None:
                    newest = picture.copy()
    if wait_still:
        raise ss.ScreenshotTimeout(f"{session.uri}: the screen kept changing: never still for {still:g} s")
    return newest, False


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, wait for a complete (and if possible still) picture, write it; ScreenshotTimeout: 7."""
    path = _check_args(args)
    deadline = trio.current_time() + args.timeout
    monitor = getattr(args, "monitor", None)
    async with open_session(args) as session:
        session.events().close()  # nobody reads the events: free what they would hold
        shot, still = await capture(
            session, settle=args.settle, still=args.still, wait_still=args.wait_still, deadline=deadline
        )
        rgb = shot.to_rgb() if monitor is None else await monitors_picture(session, monitor, deadline)
    try:
        _save_rgb(rgb, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{path}: {rgb.shape[1]}x{rgb.shape[0]}", file=out, flush=True)
    if not still:
        print(
            f"spice: note: the screen never stayed still for {min(args.still, args.settle):g} s within "
            f"{args.settle:g} s; wrote the newest complete picture",
            file=sys.stderr,
            flush=True,
        )
    return ExitCode.OK
