"""``spice view``: the remote screen in an SDL window, with keyboard and mouse going back.

SDL is imported only when the command runs, so the other commands work without it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import spice_net
import spice_session as ss
import trio

from ._commands import HELP
from ._display_config import COLOR_DEPTHS, display_config, effects_option
from ._exitcodes import ExitCode
from ._hotkeys import ACTIONS, Combo, InvalidHotkey, bindings, parse_hotkeys
from ._record_video import check_video_path, record_screen
from ._run import add_connection_args, check_connection_args, connect_options, connect_target
from ._sdl_logic import HotKeys
from ._usb_actions import UsbPolicy, attach_all, device_option, usb_option

if TYPE_CHECKING:
    from ._sdl_viewer import Viewer

__all__ = ["add_parser", "run"]

#: Seconds of traffic a bug report (Ctrl+Alt+R) holds, besides each channel's link.
_REPORT_SECONDS = 10.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "view",
        help=HELP["view"],
        description="Open a window at the remote screen size showing the server's primary display. "
        "Click to grab keyboard and mouse, press Ctrl+Alt to release them, Ctrl+Alt+F toggles "
        "fullscreen, Ctrl+Alt+M mutes the sound, Ctrl+Alt+N the microphone, Ctrl+Alt+S shows statistics, "
        "Ctrl+Alt+R writes a bug report (like spice report, with the last seconds of traffic); "
        "resizing scales "
        "with the aspect ratio kept. A .vv file's hot keys (toggle-fullscreen=shift+f11...) or --hotkeys "
        "replace remote-viewer's (fullscreen, release, secure attention, zoom): those not named are off, "
        "release-cursor falls back to Ctrl+Alt.",
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument(
        "--hotkeys",
        metavar="ACTION=COMBO[,...]",
        type=_hotkeys_option,
        help="hot keys in remote-viewer's syntax, e.g. toggle-fullscreen=shift+f11,release-cursor=shift+f12 "
        f"(over a .vv file's); actions: {', '.join(ACTIONS)}",
    )
    p.add_argument(
        "--server-mouse",
        action="store_true",
        help="keep the server mouse mode (relative motion while grabbed) instead of asking for client mode",
    )
    p.add_argument(
        "--no-audio",
        action="store_true",
        help="do not play the guest's sound nor send the microphone (they need an SDL audio device), "
        "nor record it with --record",
    )
    p.add_argument(
        "--no-resize-guest",
        action="store_true",
        help="keep the guest's screen size when the window is resized (default: the guest agent "
        "makes the guest screen the window's size in device pixels, half a second after the last change)",
    )
    p.add_argument(
        "--no-reconnect",
        action="store_true",
        help="exit when the connection is lost (default: reconnect with backoff, saying so on stderr; "
        "a VM that live-migrates is followed either way)",
    )
    p.add_argument(
        "--no-clipboard",
        action="store_true",
        help="do not share the clipboard (text) with the guest through its agent",
    )
    p.add_argument(
        "--disable-effects",
        metavar="EFFECT[,EFFECT...]",
        type=effects_option,
        help="ask the guest agent to turn off desktop effects: wallpaper, font-smooth, animation or all "
        "(sent when the agent connects; default: a .vv file's disable-effects)",
    )
    p.add_argument(
        "--color-depth",
        metavar="BITS",
        type=int,
        choices=COLOR_DEPTHS,
        help="ask the guest agent for this colour depth (Windows 7 and older guests; a .vv file's "
        "color-depth is ignored, as remote-viewer does)",
    )
    p.add_argument(
        "--record",
        metavar="OUT.mp4",
        help="also record the first connection's screen as a video, with the guest's sound unless "
        "--no-audio (like spice record)",
    )
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        type=Path,
        help="where Ctrl+Alt+R writes its spice-report-TIME.zip (default: the current directory)",
    )
    p.add_argument(
        "--usb-disk",
        metavar="IMG[,ro]",
        action="append",
        default=[],
        type=usb_option,
        help="plug a disk image into the guest as a USB stick (',ro': write-protected); repeatable",
    )
    p.add_argument(
        "--usb-cdrom",
        metavar="ISO",
        action="append",
        default=[],
        help="plug an ISO image into the guest as a USB CD-ROM drive; repeatable",
    )
    p.add_argument(
        "--usb-device",
        metavar="VID:PID",
        action="append",
        default=[],
        type=device_option,
        help="redirect a physical USB device (hex ids, as lsusb shows them; needs spice-session[usb]);"
        " repeatable",
    )
    p.set_defaults(command=run)


def _hotkeys_option(text: str) -> dict[str, Combo]:
    try:
        return parse_hotkeys(text)
    except InvalidHotkey as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def view_hotkeys(args: argparse.Namespace, vv: ss.VVFile | None) -> HotKeys:
    """The viewer's hot keys: ``--hotkeys`` over the .vv file's, else the defaults."""
    given: dict[str, Combo] = {}
    if vv is not None:
        try:
            given.update(bindings(vv.hotkeys))
        except InvalidHotkey as exc:
            raise ss.lowlevel.InvalidVVFile(f"{args.uri}: hot key: {exc}") from None
    if args.hotkeys is not None:
        given.update(args.hotkeys)
    return HotKeys.from_actions(given) if given else HotKeys()


def _banner(notice: ss.lowlevel.ReconnectNotice, viewer: Viewer | None) -> None:
    print(f"spice view: {notice}", file=sys.stderr, flush=True)
    if viewer is not None:
        viewer.show_banner(str(notice))


def _import_sdl() -> None:
    """Import the SDL modules (in a worker thread while the first connection is made)."""
    from . import _sdl_audio, _sdl_viewer, _sdl_window  # noqa: F401


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect, show the window until it is closed.

    A lost connection is retried (a banner on stderr) unless ``--no-reconnect``; a dropped
    connection that is not retried, or retries that run out, raise (exit code 9); a ticket
    refused on reconnecting exits 4 saying it expired.

    The connection starts first: SDL's modules load in a worker thread while the links are
    in flight (~0.1 s of start-up), and SDL starts once the session is there.  The playback
    and record channels are asked for unless ``--no-audio`` (an SDL audio device that then
    does not open leaves the sound unplayed).
    """
    check_connection_args(args)
    if args.record is not None:
        check_video_path(args.record)
    recording: list[str] = []
    vv: ss.VVFile | None = getattr(args, "vv", None)
    hotkeys = view_hotkeys(args, vv)
    effects = args.disable_effects if args.disable_effects is not None else (vv.disable_effects if vv else ())
    # a .vv file's color-depth is not sent: spice-gtk ignores it since 0.37 (remote-viewer sends no depth)
    depth = args.color_depth
    sdl_loaded = trio.Event()
    audio = [False]  # whether SDL's audio device opened (known once SDL started)
    started: list[bool] = []  # SDL started (once: a reconnection keeps it)

    async def load_sdl() -> None:
        await trio.to_thread.run_sync(_import_sdl)
        sdl_loaded.set()

    with contextlib.ExitStack() as stack:
        # the newest traffic of every channel, for a bug report (Ctrl+Alt+R)
        ring = stack.enter_context(spice_net.capture_ring(seconds=_REPORT_SECONDS))

        async def start_sdl() -> None:
            """SDL's video (and audio) on this thread, once, before the first window."""
            await sdl_loaded.wait()
            if not started:
                from ._sdl_audio import audio_device
                from ._sdl_window import open_video

                await open_video(stack)
                started.append(True)
                audio[0] = not args.no_audio and audio_device(stack, "spice view")

        async def show(session: ss.Session) -> None:
            await start_sdl()
            async with contextlib.AsyncExitStack() as usb:
                policy = UsbPolicy.of(vv)
                await attach_all(
                    usb, session, args.usb_disk, args.usb_cdrom, sys.stderr, policy, args.usb_device
                )
                await show_attached(session)

        async def show_attached(session: ss.Session) -> None:
            from ._sdl_audio import session_audio
            from ._sdl_viewer import Viewer

            players = session_audio(session) if audio[0] else contextlib.nullcontext((None, None))
            with players as (speaker, mic):
                if kept:  # a reconnection: the same windows, grab and held keys
                    kept[0].reattach(session, audio=speaker, microphone=mic)
                    await kept[0].run()
                    return
                viewer = Viewer(
                    session,
                    client_mouse=not args.server_mouse,
                    audio=speaker,
                    microphone=mic,
                    resize_guest=not args.no_resize_guest,
                    clipboard=not args.no_clipboard,
                    name=vv.title if vv is not None else None,
                    fullscreen=vv is not None and vv.fullscreen,
                    ring=ring,
                    report_dir=args.report_dir,
                    display_config=display_config(effects, depth),
                    keep_windows=not args.no_reconnect,
                    hotkeys=hotkeys,
                )
                kept.append(viewer)
                created.set()
                if args.record is None or recording:
                    await viewer.run()
                    return
                recording.append(args.record)  # the first connection only: a reconnect would overwrite it
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(record_screen, session, args.record)
                    await viewer.run()
                    nursery.cancel_scope.cancel()

        backoff = ss.lowlevel.Backoff(attempts=0 if args.no_reconnect else 10)
        kept: list[Viewer] = []
        created = trio.Event()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(load_sdl)
                nursery.start_soon(_offline, kept, created, nursery.cancel_scope)
                await ss.run_reconnecting(
                    connect_target(args),
                    show,
                    backoff=backoff,
                    on_reconnect=lambda notice: _banner(notice, kept[0] if kept else None),
                    # a recording takes the sound even when no SDL device plays it
                    **connect_options(args, audio=not args.no_audio),
                )
                nursery.cancel_scope.cancel()
        finally:
            if kept:
                kept[0].close()
    return ExitCode.OK


async def _offline(kept: list[Viewer], created: trio.Event, scope: trio.CancelScope) -> None:
    """Between connections, keep the kept window answering; its closing ends ``spice view``."""
    await created.wait()
    viewer = kept[0]
    while True:
        await viewer.offline.wait()  # asleep while a session shows: an idle viewer costs nothing
        viewer.offline = trio.Event()
        await viewer.wait_offline()
        if viewer.closing():
            scope.cancel()
            return
