"""``spice connect``: connect, print what the server offers, watch the display for a moment, exit."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TextIO

import spice_session as ss
import trio
from spice_proto import ChannelType, DisplayMsg

from ._commands import HELP
from ._exitcodes import ExitCode
from ._run import UsageError, add_connection_args, check_connection_args, open_session
from ._stats import format_stats
from ._summary import channel_caps_text, common_caps_text, describe_message, modes_text, surface_text

__all__ = ["UsageError", "add_parser", "run"]  # UsageError: where it used to be defined


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "connect",
        help=HELP["connect"],
        description="Connect to a SPICE server, print its capabilities, channels, mouse mode, "
        "surfaces and first display messages, then disconnect.",
    )
    add_connection_args(p, timeout_help="give up connecting after S seconds (default 10)")
    p.add_argument(
        "--seconds", type=float, default=2.0, metavar="N", help="watch the display for N seconds (default 2)"
    )
    p.add_argument(
        "--messages", type=int, default=10, metavar="K", help="list the first K display messages (default 10)"
    )
    p.add_argument(
        "--stats",
        action="store_true",
        help="then print statistics: round-trip time, traffic per channel and second, frames/s, streams",
    )
    p.set_defaults(command=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.seconds < 0 or args.timeout <= 0 or args.messages < 0:
        raise UsageError("--seconds and --messages must be >= 0, --timeout > 0")
    check_connection_args(args)


async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Connect and print the summary; expected failures raise (the caller maps them to exit codes)."""
    _check_args(args)

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    async with open_session(args) as session:
        main = session.main
        transport = "TLS" if session.tls else "Unix socket" if session.uri.unix_path else "plain TCP"
        say(f"connected to {session.uri} ({transport})")
        say(f"session id: {session.session_id:#010x}")
        if session.name is not None or session.uuid is not None:
            uuid = session.uuid.hex() if session.uuid is not None else "-"
            say(f"server: name {session.name!r}, uuid {uuid}")
        say(f"server common caps: {common_caps_text(main.server_common_caps)}")
        say(f"main channel caps: {channel_caps_text(ChannelType.MAIN, main.server_channel_caps)}")
        supported = modes_text(session.supported_mouse_modes)
        say(f"mouse mode: {modes_text(session.mouse_mode)} (supported: {supported})")
        say(f"agent: {'connected' if session.agent_connected else 'not connected'}")
        say("channels:")
        opened = {(int(t), i): channel for (t, i), channel in session.opened.items()}
        for entry in session.channels:
            name = f"{ss.lowlevel.channel_name(entry.type)}:{entry.id}"
            channel = opened.get((int(entry.type), entry.id))
            if channel is None:
                say(f"  {name:<12} listed (not attached)")
            else:
                caps = channel_caps_text(entry.type, channel.server_channel_caps)
                say(f"  {name:<12} attached, caps: {caps}")

        surfaces: list[str] = []
        first: list[str] = []
        counts: Counter[str] = Counter()
        closing: list[str] = []
        await _watch(session, args, (surfaces, first, counts, closing))
        closed = closing[0] if closing else None
        say("surfaces:" if surfaces else "surfaces: none yet")
        for line in surfaces:
            say(f"  {line}")
        total = sum(counts.values())
        say(f"display messages in {args.seconds:g} s: {total}")
        if counts:
            say("  " + ", ".join(f"{name} x{n}" for name, n in counts.most_common()))
        if first:
            say(f"first {len(first)}:")
            for line in first:
                say(f"  {line}")
        if closed is not None:
            say(f"the server closed the session: {closed}")
        if args.stats:
            for line in format_stats(session.stats):
                say(line)
    return ExitCode.OK


async def _watch(
    session: ss.Session,
    args: argparse.Namespace,
    found: tuple[list[str], list[str], Counter[str], list[str]],
) -> None:
    """Read events for ``--seconds``: surfaces, the first messages, counts per message, a close."""
    surfaces, first, counts, closing = found
    with trio.move_on_after(args.seconds):
        async for event in session.events():
            if isinstance(event, ss.events.SurfaceCreated):
                surfaces.append(surface_text(event))
            if isinstance(event, ss.events.DisplayEvent):
                try:
                    counts[DisplayMsg(int(event.message.type)).name] += 1
                except ValueError:
                    counts[f"message {int(event.message.type)}"] += 1
                if len(first) < args.messages:
                    first.append(describe_message(event.message))
            elif isinstance(event, ss.events.SessionClosed):
                closing.append(event.reason)
