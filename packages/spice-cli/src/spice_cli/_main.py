"""The ``spice`` entry point: the command line run, and Ctrl+C at any point made exit code 130.

Light on purpose: everything a command needs is imported inside :func:`main`, so an interrupt
while it loads (the first second of ``spice view``) ends like one while it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._exitcodes import ExitCode, fail

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Ctrl+C gives 130 and one line, no traceback; output into a pipe closed early ends quietly
    with 141, whatever the command.
    """
    try:
        from ._cli import run_command_line

        return run_command_line(argv)
    except KeyboardInterrupt:
        return fail(ExitCode.INTERRUPTED, "interrupted", sys.stderr)
