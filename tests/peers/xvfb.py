"""Xvfb: a virtual X display for running SPICE clients (remote-viewer, spicy, our viewer)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import ports, procs
from .require import require_binary
from .x11 import XDisplay


class Xvfb:
    """A running Xvfb on ``display``."""

    def __init__(self, proc: procs.Proc, display: XDisplay) -> None:
        self.proc = proc
        self.display = display

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.display.stop_clients()
        procs.stop(self.proc)


def start_xvfb(size: str = "1280x900x24", log_dir: Path | None = None, attempts: int = 3) -> Xvfb:
    """Start Xvfb on a free display with one screen of ``size`` (WxHxDEPTH); wait until it answers."""
    require_binary("Xvfb")
    require_binary("xdpyinfo")
    logs = log_dir or Path(tempfile.mkdtemp(prefix="xvfb-"))
    last: Exception | None = None
    for _ in range(attempts):
        display = XDisplay(ports.free_display(), logs)
        argv = ["Xvfb", display.name, "-screen", "0", size, "-nolisten", "tcp", "-noreset"]
        proc = procs.start(f"xvfb{display.number}", argv, logs)
        try:
            display.wait_ready(proc)
        except procs.PeerError as exc:
            procs.stop(proc)
            last = exc
            continue
        return Xvfb(proc, display)
    raise procs.PeerError(f"Xvfb did not start in {attempts} attempts: {last}")
