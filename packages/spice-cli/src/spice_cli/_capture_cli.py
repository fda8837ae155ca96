"""``--capture DIR`` on every client command: a plaintext pcap per channel (:func:`spice_net.capture_to`).

Light: the option is added while the command line is parsed; spice_net is imported to capture.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from typing import TYPE_CHECKING, TextIO

from ._exitcodes import ExitCode, UsageError

if TYPE_CHECKING:
    from ._run import Command

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
        import spice_net

        with ExitStack() as stack:
            try:
                stack.enter_context(spice_net.capture_to(args.capture))
            except spice_net.CaptureError as exc:
                raise UsageError(f"--capture: {exc}") from None
            return await command(args, out)

    return run
