"""Output into a pipe whose reader has gone (``spice ... | head``) ends quietly with 141, no traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from spice_cli._cli import build_parser
from spice_cli._exitcodes import ExitCode
from spice_cli._run import execute
from spice_server import Framebuffer, Server

SPICE = [sys.executable, "-m", "spice_cli"]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SPICE_PASSWORD", "DISPLAY", "WAYLAND_DISPLAY")}


@pytest.fixture
async def served() -> AsyncIterator[str]:
    """Our server in-process, showing a still picture; its URI."""
    server = Server(Framebuffer(320, 200))
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        yield f"spice://127.0.0.1:{addr.port}"
        nursery.cancel_scope.cancel()


async def run_into_closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``spice args`` with stdout a pipe whose read end is already closed."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with trio.fail_after(90):
            return await trio.run_process(
                [*SPICE, *args], stdout=write_end, capture_stderr=True, check=False, cwd=cwd, env=env()
            )
    finally:
        os.close(write_end)


async def test_connect_into_head_3(served: str) -> None:
    """``spice connect URI | head -3``: the reader takes three lines and leaves mid-output."""
    proc = await trio.lowlevel.open_process(
        [*SPICE, "connect", served, "--seconds", "1", "--messages", "40"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    got = b""
    with trio.fail_after(60):
        while got.count(b"\n") < 3:
            chunk = await proc.stdout.receive_some()
            assert chunk, got
            got += chunk
        await proc.stdout.aclose()  # as head does after its third line
        err = b""
        while chunk := await proc.stderr.receive_some():
            err += chunk
        code = await proc.wait()
    assert got.startswith(b"connected to spice://127.0.0.1:")
    assert err == b""
    assert code == ExitCode.BROKEN_PIPE


@pytest.mark.parametrize(
    "args",
    [
        ["connect", "{uri}", "--seconds", "0.2"],
        ["screenshot", "{uri}", "shot.png"],
        ["serve", "--listen", "127.0.0.1:0"],  # its announcement fails inside the server's nursery
        ["demo", "--headless", "--listen", "127.0.0.1:0"],  # the same inside the demo's nursery
    ],
    ids=lambda args: " ".join(args),
)
async def test_every_command_into_a_closed_pipe(args: list[str], served: str, tmp_path: Path) -> None:
    result = await run_into_closed_pipe([a.format(uri=served) for a in args], tmp_path)
    assert result.stderr == b""
    assert result.returncode == ExitCode.BROKEN_PIPE
    assert not (tmp_path / "spice-demo.png").exists()  # the demo stopped at its first line


@pytest.mark.parametrize("args", [["--help"], ["connect", "--help"], ["--version"]], ids=" ".join)
async def test_help_into_a_closed_pipe(args: list[str], tmp_path: Path) -> None:
    """argparse prints these itself; it ignores the broken pipe and exits 0, which is fine."""
    result = await run_into_closed_pipe(args, tmp_path)
    assert result.stderr == b""
    assert result.returncode in (0, ExitCode.BROKEN_PIPE)


async def _raises_broken_pipe(args: object, out: object) -> ExitCode:
    raise BrokenPipeError(32, "Broken pipe")


def test_a_broken_pipe_elsewhere_is_not_silenced() -> None:
    """Only stdout's reader going away exits quietly; a BrokenPipeError from anything else is a bug."""
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "w", closefd=False) as out, pytest.raises(BrokenPipeError):
            execute(_raises_broken_pipe, build_parser().parse_args(["serve"]), out, io.StringIO())
        os.close(read_end)
        read_end = -1
        with os.fdopen(write_end, "w", closefd=False) as out:
            code = execute(_raises_broken_pipe, build_parser().parse_args(["serve"]), out, io.StringIO())
        assert code == ExitCode.BROKEN_PIPE
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
