"""``--capture DIR`` on every client command: a plaintext pcap per channel (:func:`spice_net.capture_to`)."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from typing import TextIO

import spice_net

from ._exitcodes import ExitCode
from ._run import Command, UsageError

__all__ = ["add_capture_option", "capturing"]

HELP = (
    "write the SPICE traffic of each channel (after TLS decryption) to DIR/NN-CHANNEL-ID.pcap; "
    "read with: tshark -r FILE -d tcp.port==5900,spice"
)


def add_capture_option(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give ``--capture DIR`` to every command that connects to a server (those with a URI)."""
    for parser in set(subparsers.choices.values()):
        if any(action.dest == "uri" for action in parser._actions):
            parser.add_argument("--capture", metavar="DIR", help=HELP)


def capturing(command: Command) -> Command:
    """``command`` run inside :func:`spice_net.capture_to` of its ``--capture`` directory."""

    async def run(args: argparse.Namespace, out: TextIO) -> ExitCode:
        with ExitStack() as stack:
            try:
                stack.enter_context(spice_net.capture_to(args.capture))
            except spice_net.CaptureError as exc:
                raise UsageError(f"--capture: {exc}") from None
            return await command(args, out)

    return run
