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


#: Runs ``python -m spice_cli ARGS`` and, at exit, writes the process's own VmHWM (KiB) to
#: ``argv[1]``.  wait4's ru_maxrss cannot be used: Linux carries the parent's RSS at fork over
#: the exec, so a child of a large pytest (an xdist worker) reports the worker's size.
_MEASURED = """
import atexit, runpy, sys

def _peak(path=sys.argv[1]):
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(path, "w") as out:
        out.write(kib)

atexit.register(_peak)
sys.argv = ["spice", *sys.argv[2:]]
runpy.run_module("spice_cli", run_name="__main__", alter_sys=True)
"""


def run_spice(script: Script, command: str, *args: str, tmp_path: Path, timeout: float = 120) -> Outcome:
    """``spice COMMAND URI ARGS...`` against ``script``; for ``screenshot`` the PNG goes to tmp_path."""
    with EvilServerThread(script) as server:
        peak_file = tmp_path / "peak-kib"
        peak_file.unlink(missing_ok=True)
        argv = [sys.executable, "-c", _MEASURED, str(peak_file), command, server.uri, *args]
        if command == "screenshot":
            argv.insert(6, str(tmp_path / "shot.png"))
            # The default 10 s (connecting included) is about machine speed, not the scenario: a
            # loaded machine took 17 s to link four channels filling 2 GiB.  The tests bound time.
            argv += [] if "--timeout" in args else ["--timeout", str(timeout / 2)]
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
    # A process that died without running atexit (a crash, a kill) falls back to ru_maxrss (KiB),
    # which can only overstate its peak.
    peak_kib = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
    return Outcome(
        proc.returncode, peak_kib / 1024, seconds, out.read_text(), err.read_text(errors="replace")
    )
