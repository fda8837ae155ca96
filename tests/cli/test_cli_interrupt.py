"""Ctrl+C at any point of ``spice`` exits 130 with one line, no traceback.

A server that accepts and never answers keeps the command waiting.  The interrupt comes
while the command's modules are loading (when ``-X importtime`` reports the first of them:
before the fix, the package's own import loaded them all, outside any handling) or once
the command has connected.  Not earlier: a signal before Python's handler is installed
kills the process the default way, and one during the interpreter's own startup (site)
is Python's to report; neither is ours.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from spice_cli._cli import _loading, build_parser

#: an ``-X importtime`` line for a module that only a command needs
COMMAND_MODULE = re.compile(rb"^import time:.*\| +(?:spice_(?:proto|net|session|server)|trio|numpy)\b", re.M)


def _spice_script() -> str:
    script = shutil.which("spice", path=str(Path(sys.executable).parent))
    assert script is not None, "the spice-cli entry point is not installed next to this Python"
    return script


def _interrupted(entry: list[str], argv: list[str], when: str, tmp_path: Path) -> tuple[int, bytes]:
    """Run ``entry ARGV`` against a server that never answers, Ctrl+C it at ``when``:
    the exit code and stderr without the import-time lines."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    words = [w.replace("PORT", str(port)).replace("TMP", str(tmp_path)) for w in argv]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *entry, *words],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    accepted: list[socket.socket] = []
    seen = b""
    try:
        end = time.monotonic() + 60
        while not (COMMAND_MODULE.search(seen) if when == "loading" else accepted):
            left = end - time.monotonic()
            assert left > 0, f"no {when} within 60 s: {seen[-2000:]!r}"
            assert proc.poll() is None, f"ended early ({proc.returncode}): {seen[-2000:]!r}"
            ready, _, _ = select.select([proc.stderr, listener], [], [], min(left, 1.0))
            if proc.stderr in ready:
                seen += os.read(proc.stderr.fileno(), 65536)  # drained: importtime fills a pipe
            if listener in ready:
                accepted.append(listener.accept()[0])
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for sock in [listener, *accepted]:
            sock.close()
    err = b"\n".join(
        line for line in (seen + rest).splitlines() if line.strip() and not line.startswith(b"import time:")
    )
    return proc.returncode, err


@pytest.mark.parametrize("when", ["loading", "connecting"])
@pytest.mark.parametrize(
    ("entry", "argv"),
    [
        (["-m", "spice_cli"], ["view", "spice://127.0.0.1:PORT", "--no-audio", "--timeout", "120"]),
        ([], ["screenshot", "spice://127.0.0.1:PORT", "TMP/shot.png", "--timeout", "120"]),
    ],
    ids=["python-m-spice_cli-view", "spice-screenshot"],
)
def test_ctrl_c_exits_130_with_one_line(entry: list[str], argv: list[str], when: str, tmp_path: Path) -> None:
    code, err = _interrupted(entry or [_spice_script()], argv, when, tmp_path)
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert (code, err) == (130, b"spice: interrupted")
    assert not (tmp_path / "shot.png").exists()


@pytest.fixture
def python_sigint_handler() -> Iterator[None]:
    """Python's own SIGINT handler in place for the test (as in ``spice``), then what was there."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("python_sigint_handler")
def test_an_import_failure_a_ctrl_c_caused_is_the_interrupt() -> None:
    """Ctrl+C while an extension module imports, which turns it into an ImportError of its own
    (numpy's "PyCapsule_Import could not import module datetime", seen in CI): the interrupt."""
    with pytest.raises(KeyboardInterrupt), _loading():
        _import_failing_on_ctrl_c()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def _import_failing_on_ctrl_c() -> None:
    """Ctrl+C, as an extension module's import makes it into an ImportError."""
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        raise ImportError('PyCapsule_Import could not import module "datetime"') from None


@pytest.mark.usefixtures("python_sigint_handler")
def test_an_import_failure_without_ctrl_c_stays_what_it_is() -> None:
    with pytest.raises(ImportError, match="no such thing"), _loading():
        raise ImportError("no such thing")
    with pytest.raises(KeyboardInterrupt), _loading():  # a plain interrupt passes as it is
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_callers_own_sigint_handler_is_left_alone() -> None:
    def handler(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(ImportError, match="of its own"), _loading():
            _ctrl_c_then_a_failed_import()
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_then_a_failed_import() -> None:
    """Ctrl+C (the caller's handler takes it), then an import failing for a reason of its own."""
    signal.raise_signal(signal.SIGINT)
    raise ImportError("a failure of its own")


def test_help_imports_no_command() -> None:
    """``spice --help`` lists every command without loading any (it is fast, and has nothing
    for Ctrl+C to interrupt)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", _spice_script(), "--help"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("connect", "screenshot", "view", "demo", "serve", "record", "report"):
        assert re.search(rb"^    %s +\S" % command.encode(), result.stdout, re.M), command
    assert COMMAND_MODULE.search(result.stderr) is None
    assert b"spice_cli._view" not in result.stderr


def test_help_without_the_commands_is_the_help_with_them() -> None:
    assert build_parser([]).format_help() == build_parser().format_help()


def test_ctrl_c_with_the_errors_it_caused_is_still_an_interruption() -> None:
    """KeyboardInterrupt in one task (the demo's own server) and ChannelClosed in another (its
    viewer, whose server went away): exit 130, not 1 with a traceback (CI saw the latter)."""
    import argparse
    import io

    import spice_net
    import trio
    from spice_cli._run import execute

    async def command(args: argparse.Namespace, out: object) -> int:
        async def interrupted() -> None:
            raise KeyboardInterrupt

        async def lost() -> None:
            raise spice_net.ChannelClosed("the server closed the display channel")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(interrupted)
            nursery.start_soon(lost)
        return 0

    err = io.StringIO()
    assert execute(command, argparse.Namespace(), io.StringIO(), err) == 130
    assert err.getvalue() == "spice: interrupted\n"
