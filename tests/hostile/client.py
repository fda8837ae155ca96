"""Run the ``spice`` command against an evil server in a subprocess and measure it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .evil_server import EvilServerThread, Script

__all__ = ["Outcome", "run_spice"]


@dataclass(frozen=True)
class Outcome:
    """How a ``spice`` run against an evil server ended."""

    returncode: int
    #: Peak resident set size of the client process (VmHWM), in MiB.
    peak_rss_mib: float
    seconds: float
    stdout: str
    stderr: str


def run_spice(script: Script, command: str, *args: str, tmp_path: Path, timeout: float = 120) -> Outcome:
    """``spice COMMAND URI ARGS...`` against ``script``; for ``screenshot`` the PNG goes to tmp_path."""
    with EvilServerThread(script) as server:
        argv = [sys.executable, "-m", "spice_cli", command, server.uri, *args]
        if command == "screenshot":
            argv.insert(5, str(tmp_path / "shot.png"))
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        start = time.monotonic()
        with out.open("wb") as fout, err.open("wb") as ferr:
            proc = subprocess.Popen(argv, stdout=fout, stderr=ferr)
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
    # ru_maxrss of a waited-for child is its VmHWM, in KiB on Linux
    return Outcome(
        proc.returncode, usage.ru_maxrss / 1024, seconds, out.read_text(), err.read_text(errors="replace")
    )
