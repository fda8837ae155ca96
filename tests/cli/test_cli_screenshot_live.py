"""``spice screenshot`` of a screen that never stops changing (our own demo): complete pictures only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import trio
from PIL import Image


async def spice(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(timeout):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args], capture_stdout=True, capture_stderr=True, check=False
        )


@pytest.fixture
async def demo_uri(nursery: trio.Nursery) -> AsyncIterator[str]:
    """``spice demo --serve`` (a clock and an animation: never still) in a subprocess."""
    argv = [
        sys.executable,
        "-m",
        "spice_cli",
        "demo",
        "--serve",
        "--listen",
        "127.0.0.1:0",
        "--size",
        "640x400",
    ]
    proc = await trio.lowlevel.open_process(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    seen = b""
    with trio.fail_after(30):
        while b"spice://" not in seen or not seen.split(b"spice://", 1)[1].split()[0:1]:
            seen += await proc.stdout.receive_some(4096)
    uri = "spice://" + seen.split(b"spice://", 1)[1].split()[0].decode().rstrip(")")
    try:
        yield uri
    finally:
        proc.terminate()
        with trio.move_on_after(5):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _rows_drawn(path: Path) -> float:
    """The fraction of rows that are not entirely black."""
    with Image.open(path) as image:
        pixels = np.array(image.convert("RGB"))
    return float((pixels.reshape(pixels.shape[0], -1).max(axis=1) > 0).mean())


async def test_never_still_screen_gives_the_newest_complete_picture(demo_uri: str, tmp_path: Path) -> None:
    out = tmp_path / "live.png"
    result = await spice("screenshot", demo_uri, str(out), "--settle", "1", "--still", "0.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{out}: 640x400\n"
    assert (
        "never stayed still" in result.stderr.decode() and "newest complete picture" in result.stderr.decode()
    )
    assert _rows_drawn(out) == 1.0


async def test_settle_zero_is_still_a_complete_picture(demo_uri: str, tmp_path: Path) -> None:
    for attempt in range(3):
        out = tmp_path / f"first{attempt}.png"
        result = await spice("screenshot", demo_uri, str(out), "--settle", "0")
        assert result.returncode == 0, result.stderr
        assert result.stderr == b""
        assert _rows_drawn(out) == 1.0


async def test_wait_still_on_a_live_screen_times_out_with_7(demo_uri: str, tmp_path: Path) -> None:
    out = tmp_path / "never.png"
    result = await spice("screenshot", demo_uri, str(out), "--wait-still", "--still", "1.5", "--timeout", "3")
    assert result.returncode == 7
    assert "the screen kept changing" in result.stderr.decode()
    assert not out.exists()
