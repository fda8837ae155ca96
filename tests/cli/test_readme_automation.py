"""The README's automation script runs as printed against ``spice demo --serve``."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

README = Path(__file__).resolve().parents[2] / "README.md"


def _script() -> str:
    section = README.read_text()[README.read_text().index("## Automation") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    return code.group(1)


@pytest.fixture
def demo_uri() -> Iterator[str]:
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
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        end = time.monotonic() + 30
        line = ""
        while "spice://" not in line and time.monotonic() < end:
            line = proc.stdout.readline()
        found = re.search(r"spice://[0-9.]+:\d+", line)
        assert found is not None, line
        yield found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_readme_automation_script(
    demo_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script()
    assert len(script.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(script.replace("spice://127.0.0.1:5900", demo_uri), str(README), "exec"), {})
    assert capsys.readouterr().out == "found at (0, 0) score 1.0\n"
    with Image.open(tmp_path / "demo.png") as image:
        assert image.size == (640, 400)
