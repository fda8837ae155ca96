"""``spice view``'s bug report (Ctrl+Alt+R): the ``spice report`` bundle of the session as it
is, with the newest traffic of the viewer's capture ring, in a file named on stderr."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import spice_net
import spice_session as ss
import trio

from ._report import take_bundle

__all__ = ["bug_report"]


def _target(directory: Path, taken: list[Path]) -> Path:
    """``spice-report-YYYYMMDD-HHMMSS[-N].zip`` in ``directory``, not an existing file."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = directory / f"spice-report-{stamp}.zip"
    n = 1
    while target.exists() or target in taken:
        n += 1
        target = directory / f"spice-report-{stamp}-{n}.zip"
    return target


async def bug_report(
    session: ss.Session, ring: spice_net.CaptureRing | None, directory: Path | None, taken: list[Path]
) -> Path | None:
    """Write the bundle into ``directory`` (default: the current one) and append it to ``taken``;
    one line on stderr says where, or why it could not be written (then ``None``)."""
    target = _target(directory or Path.cwd(), taken)
    write = take_bundle(session)
    captures = ring.pcaps() if ring is not None else {}
    try:
        names = await trio.to_thread.run_sync(write, target, captures)
    except OSError as exc:
        print(f"spice view: cannot write {target}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return None
    taken.append(target)
    print(f"spice view: bug report written to {target} ({len(names)} files)", file=sys.stderr, flush=True)
    return target
