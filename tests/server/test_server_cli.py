"""``spice serve`` as a real process: our client sees the image it serves, exactly."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from miniclient import mini_session
from peers.viewers import pattern_frame
from PIL import Image
from spice_net import AuthenticationFailed

SERVE = [sys.executable, "-m", "spice_cli", "serve", "--listen", "127.0.0.1:0"]


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    frame = pattern_frame(200, 120, variant=2)
    path = tmp_path / "picture.png"
    Image.fromarray(np.ascontiguousarray(frame[:, :, 2::-1])).save(path)
    return path


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int, line: str) -> None:
        self.proc, self.port, self.line = proc, port, line


@pytest.fixture
def serve_cli() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def start(procs: list[subprocess.Popen[str]], *args: str) -> Served:
    proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"port=(\d+)", line)
    assert found, line
    return Served(proc, int(found.group(1)), line)


async def test_serves_an_image_exactly(image_file: Path, serve_cli: list[subprocess.Popen[str]]) -> None:
    served = start(serve_cli, "--source", "image", str(image_file), "--password", "pw")
    assert served.line.startswith("serving 200x120 on spice://127.0.0.1?port=")
    expected = pattern_frame(200, 120, variant=2)
    async with mini_session(served.port, password="pw") as s:
        await s.show(expected)
    with pytest.raises(AuthenticationFailed):
        async with mini_session(served.port, password="nope", kinds=()):
            pass


async def test_serves_the_demo(serve_cli: list[subprocess.Popen[str]]) -> None:
    served = start(serve_cli, "--source", "demo", "--compression", "lz")
    async with mini_session(served.port) as s:
        await s.read_display_until(lambda screen: screen.marked)
        assert s.screen.canvas is not None and s.screen.canvas.shape[2] == 4
        assert set(s.screen.image_types) == {"LzRgbImage"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "image", "/nonexistent.png"], "cannot read image"),
        (["--source", "video"], "--source wants"),
        (["--tls-cert", "x.pem"], "needs both"),
        (["--password-lifetime", "5"], "needs a password"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
