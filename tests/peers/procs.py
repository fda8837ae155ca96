"""Start helper processes in their own session and stop them by pid.

Every process logs to a file; :func:`stop` sends SIGTERM to that one pid,
waits, then SIGKILLs.  Nothing is ever killed by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class PeerError(RuntimeError):
    """A peer did not start or did not become ready; the message carries its log tail."""


@dataclass
class Proc:
    """A started process: its name, argv, pid and log file."""

    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def start(
    name: str,
    argv: Sequence[str],
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Proc:
    """Start ``argv`` in a new session, stdin from /dev/null, stdout+stderr into ``log_dir/name.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    return Proc(name, list(argv), log, popen)


def stop(proc: Proc, timeout: float = 5.0) -> int | None:
    """SIGTERM the pid, wait up to ``timeout``, then SIGKILL; returns the exit status."""
    if proc.popen.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.popen.wait(timeout)
    return proc.popen.returncode


def wait_until(
    what: str, ready: Callable[[], bool], proc: Proc | None = None, timeout: float = 15.0, poll: float = 0.02
) -> None:
    """Poll ``ready()`` until true; raise :class:`PeerError` on timeout or if ``proc`` dies first."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if proc is not None and not proc.alive():
            raise PeerError(
                f"{proc.name} (pid {proc.pid}) exited with {proc.popen.returncode} before {what}:\n"
                + proc.log_tail()
            )
        if time.monotonic() > deadline:
            tail = proc.log_tail() if proc is not None else ""
            raise PeerError(f"timed out after {timeout} s waiting for {what}\n{tail}")
        time.sleep(poll)
