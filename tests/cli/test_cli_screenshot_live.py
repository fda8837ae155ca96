"""``spice screenshot`` of a screen that never stops changing (our own demo): complete pictures only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from peers.spice_cli_proc import demo_server, spice
from PIL import Image


@pytest.fixture
def demo_uri() -> Iterator[str]:
    """``spice demo --serve`` (a clock and an animation: never still) in a subprocess."""
    with demo_server("640x400") as uri:
        yield uri


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
