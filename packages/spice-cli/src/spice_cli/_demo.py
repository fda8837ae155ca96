"""``spice demo``: the demo server and a viewer on it, in one program.

With a display, the SDL viewer (``spice view``) opens on the demo; without one
(no ``$DISPLAY``, SDL cannot start) it connects headless, writes a screenshot and
says where.  ``--serve`` only serves, for remote-viewer or spicy to attach.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import TextIO

import spice_session as ss
import trio
from spice_net.lowlevel import single_error
from spice_server import (
    AudioSource,
    Compression,
    DemoSource,
    GuestAgent,
    Server,
    ServerAddress,
    SourceError,
    run_demo_audio,
)

from ._commands import HELP
from ._exitcodes import ExitCode, UsageError
from ._screenshot import write_png
from ._secrets import add_password_args, password_from, password_origin

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = [
    "DEFAULT_PORT",
    "add_parser",
    "headless_screenshot",
    "parse_listen",
    "parse_size",
    "run",
    "serve_demo",
]

#: Where the demo listens unless told otherwise (a free port is used if it is taken).
DEFAULT_PORT = 5900
DEFAULT_SCREENSHOT = "spice-demo.png"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help=HELP["demo"],
        description="Start a SPICE server showing a live demo scene (clock, animation, a text panel "
        "you can type into, a canvas you can draw on) and open the viewer on it. Without a display "
        "(or with --headless) connect headless instead, write a screenshot and exit. The spice:// URI "
        "is printed so that remote-viewer or spicy can attach too.",
    )
    p.add_argument("--size", default="1024x768", metavar="WxH", help="frame size (default 1024x768)")
    p.add_argument(
        "--listen",
        default=None,
        metavar="HOST:PORT",
        help=f"where to listen (default 127.0.0.1:{DEFAULT_PORT}, or a free port if that is taken)",
    )
    add_password_args(p, env=True)
    p.add_argument(
        "--compression",
        default="auto_glz",
        choices=[c.value for c in Compression],
        help="image compression (default auto_glz)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--headless", action="store_true", help="no window: screenshot the demo and exit")
    mode.add_argument(
        "--serve", action="store_true", help="no window, no screenshot: serve until interrupted (Ctrl+C)"
    )
    p.add_argument(
        "--screenshot",
        metavar="OUT.png",
        default=None,
        help=f"where the headless screenshot goes (default ./{DEFAULT_SCREENSHOT})",
    )
    p.add_argument(
        "--timeout", type=float, default=20.0, metavar="S", help="headless: give up after S seconds"
    )
    p.set_defaults(command=run)


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` as ``(width, height)``; :class:`UsageError` if it is not that."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if match is None:
        raise UsageError(f"--size must be WIDTHxHEIGHT (like 1024x768), got {text!r}")
    return int(match[1]), int(match[2])


def parse_listen(text: str | None) -> tuple[str, int, bool]:
    """``HOST:PORT`` (or ``PORT``) as ``(host, port, explicit)``; the default is 127.0.0.1:5900."""
    if text is None:
        return "127.0.0.1", DEFAULT_PORT, False
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen must be HOST:PORT with a port in 0..65535, got {text!r}")
    return host, int(port), True


def _screenshot_path(args: argparse.Namespace) -> Path:
    path = Path(args.screenshot if args.screenshot is not None else DEFAULT_SCREENSHOT)
    if path.is_dir():
        raise UsageError(f"screenshot path is a directory: {path}")
    if not path.parent.is_dir():
        raise UsageError(f"screenshot directory does not exist: {path.parent}")
    return path


def _uri(addr: ServerAddress) -> str:
    """Where to attach; the password is never part of it (nor printed anywhere)."""
    host = f"[{addr.host}]" if ":" in addr.host else addr.host
    return f"spice://{host}:{addr.port}"


async def _listen(
    nursery: trio.Nursery, server: Server, host: str, port: int, explicit: bool
) -> ServerAddress:
    """Start the server; the default port falls back to a free one when it is taken."""
    try:
        addr: ServerAddress = await nursery.start(server.serve, host, port)
        return addr
    except OSError as exc:
        if explicit or exc.errno != errno.EADDRINUSE:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    addr = await nursery.start(server.serve, host, 0)
    return addr


def _no_display_reason() -> str | None:
    """Why a window cannot open here, or ``None`` if it may."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display ($DISPLAY is not set)"
    return None


async def headless_screenshot(
    uri: str, source: DemoSource, path: Path, timeout: float, password: str | None = None
) -> ss.Surface:
    """Connect to the demo at ``uri``, wait for its first full frame, freeze the scene so the
    picture is one frame of it, wait until the client has it all, and write it to ``path``."""
    deadline = trio.current_time() + timeout
    async with ss.connect(uri, password=password, timeout=timeout) as session:
        session.events().close()  # nobody reads events: let the readers draw at full speed
        await session.screenshot(settle=0.0, timeout=timeout)
        source.freeze()
        left = max(deadline - trio.current_time(), 0.001)
        shot = await session.screenshot(settle=0.3, timeout=left)
    try:
        write_png(shot, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return shot


async def _view(uri: str, password: str | None, out: TextIO) -> bool:
    """Show the demo in the SDL viewer until its window closes; ``False`` if no window can open."""
    try:
        from ._sdl_audio import audio_device, session_audio
        from ._sdl_viewer import Viewer
        from ._sdl_window import SDLError, open_video
    except ImportError as exc:  # pragma: no cover - depends on the installation
        print(f"spice demo: the viewer is unavailable ({exc}); going headless", file=out, flush=True)
        return False
    with ExitStack() as stack:
        try:
            await open_video(stack)
        except SDLError as exc:
            print(f"spice demo: {exc}; going headless", file=out, flush=True)
            return False
        audio = audio_device(stack, "spice demo")
        try:
            async with ss.connect(uri, password=password, audio=audio) as session:
                with session_audio(session) if audio else nullcontext((None, None)) as (speaker, mic):
                    await Viewer(session, audio=speaker, microphone=mic).run()
        except SDLError as exc:  # no window or renderer after all
            print(f"spice demo: {exc}; going headless", file=out, flush=True)
            return False
    return True


async def serve_demo(args: argparse.Namespace, out: TextIO, source: DemoSource) -> ExitCode:
    """Serve ``source`` and run the viewer, the headless screenshot or nothing, as ``args`` say."""
    host, port, explicit = parse_listen(args.listen)
    shot_path = _screenshot_path(args) if not args.serve else None
    if args.timeout <= 0:
        raise UsageError("--timeout must be > 0")

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    password = password_from(args, env=True)
    needs = f", password from {password_origin(args)}" if password is not None else ""
    audio = AudioSource(record=True)  # a chime for each key typed, a meter of the microphone
    agent = GuestAgent()  # follows the viewer's window size; Ctrl+V / Ctrl+C share the clipboard
    server = Server(
        source,
        password=password,
        image_compression=args.compression,
        name="spice demo",
        audio=audio,
        agent=agent,
    )
    try:
        async with trio.open_nursery() as nursery:
            addr = await _listen(nursery, server, host, port, explicit)
            nursery.start_soon(source.consume, server.input_events())
            nursery.start_soon(source.share_clipboard, agent)
            nursery.start_soon(run_demo_audio, source, audio, server.input_events())
            uri = _uri(addr)
            size = f"{source.width}x{source.height}{needs}"
            say(f"demo server: {uri}  ({size}; attach with: remote-viewer {uri})")
            code = await _front(args, out, uri, password, source, shot_path)
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        single = single_error(group)
        if single is None:
            raise
        raise single from None
    return code


async def _front(
    args: argparse.Namespace,
    out: TextIO,
    uri: str,
    password: str | None,
    source: DemoSource,
    shot_path: Path | None,
) -> ExitCode:
    """What faces the user: the viewer, the headless screenshot, or nothing (``--serve``)."""

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    if args.serve:
        say("serving until interrupted (Ctrl+C)")
        await trio.sleep_forever()
    headless = args.headless
    if not headless:
        reason = _no_display_reason()
        if reason is not None:
            say(f"{reason}: connecting headless")
            headless = True
        else:
            headless = not await _view(uri, password, out)
    if headless:
        assert shot_path is not None
        try:
            shot = await headless_screenshot(uri, source, shot_path, args.timeout, password)
        except ss.ScreenshotTimeout as exc:
            print(f"spice: timed out: {exc}", file=sys.stderr, flush=True)
            return ExitCode.TIMEOUT
        say(f"screenshot of the demo ({shot.width}x{shot.height}) written to {shot_path.resolve()}")
    return ExitCode.OK


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """``spice demo``: see the module docstring."""
    width, height = parse_size(args.size)
    try:
        source = DemoSource(width, height)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    return await serve_demo(args, out, source)
