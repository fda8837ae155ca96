"""Our own ``spice`` command in a subprocess: a command run to its end (:func:`spice`), or
``spice serve`` / ``spice demo --serve`` for tests that need a server in another process
(the CLI under test connects to it like any client would)."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import trio

URI = re.compile(r"spice://[0-9.]+:\d+")


async def spice(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``spice ARGS`` (``python -m spice_cli``) run to its end within ``timeout`` s, output captured."""
    with trio.fail_after(timeout):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args], capture_stdout=True, capture_stderr=True, check=False
        )


def one_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The one line on stderr (exactly one, no traceback, nothing on stdout)."""
    err: str = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert result.stdout == b""
    return err


@contextmanager
def spice_cli_server(*args: str, timeout: float = 30.0) -> Iterator[str]:
    """Run ``spice ARGS`` (it must announce a ``spice://HOST:PORT`` URI on stdout) and yield
    that URI; the process is terminated (killed if it lingers) when the block ends."""
    argv = [sys.executable, "-m", "spice_cli", *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        seen = b""
        end = time.monotonic() + timeout
        while (found := URI.search(seen.decode(errors="replace"))) is None:
            left = end - time.monotonic()
            assert left > 0, f"spice {' '.join(args)} announced no URI in {timeout} s: {seen!r}"
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = proc.stdout.read1(4096)
                assert chunk, f"spice {' '.join(args)} ended: {seen!r}"
                seen += chunk
        yield found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def demo_server(size: str = "640x400", *extra: str) -> AbstractContextManager[str]:
    """``spice demo --serve`` (a clock and an animation: never still) of ``size`` on a free port."""
    return spice_cli_server("demo", "--serve", "--listen", "127.0.0.1:0", "--size", size, *extra)
