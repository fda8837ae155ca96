"""``spice screenshot`` as a subprocess: the PNG it writes, and each failure's exit code and single line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from peers.ports import HOST, free_tcp_port
from peers.spice_cli_proc import one_line, spice
from peers.xspice import Xspice
from PIL import Image


@pytest.mark.interop
async def test_writes_the_screen(xspice: Xspice, tmp_path: Path) -> None:
    xspice.display.start_xterm("echo screenshot-test; exec sleep infinity")
    xspice.display.wait_window("rig-xterm")
    out = tmp_path / "screen.png"
    for attempt in range(2):  # the xterm may still be drawing its first lines
        result = await spice("screenshot", xspice.uri, str(out), "--settle", "0.5")
        assert result.returncode == 0, result.stderr
        assert result.stderr == b""
        assert result.stdout.decode() == f"{out}: 1024x768\n"
        with Image.open(out) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (1024, 768))
            pixels = np.array(image)
        truth = xspice.display.screenshot()
        if np.array_equal(pixels, truth) or attempt:
            break
    assert np.array_equal(pixels, truth)


async def test_bad_uri(tmp_path: Path) -> None:
    result = await spice("screenshot", "http://example", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert one_line(result).startswith("spice: invalid URI: ")
    assert not (tmp_path / "x.png").exists()


async def test_missing_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "x.png"
    result = await spice("screenshot", f"spice://{HOST}:{free_tcp_port()}", str(out))
    assert result.returncode == 2
    assert one_line(result) == f"spice: output directory does not exist: {out.parent}\n"


async def test_output_is_a_directory(tmp_path: Path) -> None:
    result = await spice("screenshot", f"spice://{HOST}:{free_tcp_port()}", str(tmp_path))
    assert result.returncode == 2
    assert one_line(result) == f"spice: output path is a directory: {tmp_path}\n"


async def test_bad_numbers(tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    for args in (["--timeout", "0"], ["--settle", "-1"]):
        result = await spice("screenshot", f"spice://{HOST}:1", out, *args)
        assert result.returncode == 2
        assert one_line(result) == "spice: --timeout must be > 0 and --settle, --still >= 0\n"


async def test_connection_refused(tmp_path: Path) -> None:
    result = await spice("screenshot", f"spice://{HOST}:{free_tcp_port()}", str(tmp_path / "x.png"))
    assert result.returncode == 3
    assert one_line(result).startswith("spice: connection failed: ")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.interop
async def test_screen_never_settles(xspice: Xspice, tmp_path: Path) -> None:
    # a clock with a seconds hand redraws every second: a 3 s settle time is never reached
    xspice.display.start_client("xclock", ["xclock", "-update", "1"])
    xspice.display.wait_window("xclock")
    out = tmp_path / "x.png"
    # --wait-still: stillness is mandatory, so no picture and exit 7
    result = await spice("screenshot", xspice.uri, str(out), "--wait-still", "--still", "3", "--timeout", "4")
    assert result.returncode == 7
    line = one_line(result)
    assert line.startswith("spice: timed out: ") and "the screen kept changing" in line, line
    assert not out.exists()
    # by default: the newest complete picture, and a note that the screen never settled
    result = await spice("screenshot", xspice.uri, str(out), "--settle", "2", "--still", "1.5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{out}: 1024x768\n"
    assert "never stayed still for 1.5 s within 2 s" in result.stderr.decode()
    with Image.open(out) as image:
        assert image.size == (1024, 768)
