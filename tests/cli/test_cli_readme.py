"""The README's first console example runs: ``spice serve`` a picture, ``spice screenshot`` it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import trio
from peers.ports import free_tcp_port
from PIL import Image
from spice_cli._cli import build_parser

README = Path(__file__).resolve().parents[2] / "packages" / "spice-cli" / "README.md"


def _session() -> list[tuple[list[str], list[str]]]:
    """(command words, expected output lines) of the first console block."""
    block = re.search(r"```console\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    steps: list[tuple[list[str], list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            words = shlex.split(line[2:], comments=True)
            steps.append((words, []))
        else:
            steps[-1][1].append(line)
    return steps


async def test_readme_console_example(tmp_path: Path) -> None:
    (serve, serve_out), (shot, shot_out), (view, _) = _session()
    assert serve[:2] == ["spice", "serve"] and serve[-1] == "&"
    assert shot[:2] == ["spice", "screenshot"] and view[:2] == ["spice", "view"]
    port = str(free_tcp_port())
    picture = np.random.default_rng(4).integers(0, 256, (480, 640, 3), np.uint8)

    def local(words: list[str]) -> list[str]:
        """The command on a free port, with the picture and the PNG in tmp_path."""
        out = []
        for word in words:
            word = word.replace("5930", port)
            if word.endswith(".png"):
                word = str(tmp_path / word)
            out.append(word)
        return [sys.executable, "-m", "spice_cli", *out[1:]]

    Image.fromarray(picture).save(tmp_path / "photo.png")
    proc = subprocess.Popen(local(serve[:-1]), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert [proc.stdout.readline().rstrip("\n")] == [line.replace("5930", port) for line in serve_out]
        with trio.fail_after(60):
            result = await trio.run_process(local(shot), capture_stdout=True, check=False)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [f"{tmp_path / 'screen.png'}: 640x480"]
    assert shot_out == ["screen.png: 640x480"]
    with Image.open(tmp_path / "screen.png") as png:
        assert (np.asarray(png.convert("RGB")) == picture).all()
    args = build_parser().parse_args(view[1:])  # needs a display to run; it parses
    assert args.uri == "spice://127.0.0.1:5930"
