"""The README's automation script runs as printed against ``spice demo --serve``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from peers.spice_cli_proc import demo_server
from PIL import Image

README = Path(__file__).resolve().parents[2] / "README.md"


def _script() -> str:
    section = README.read_text()[README.read_text().index("## Automation") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    return code.group(1)


@pytest.fixture
def demo_uri() -> Iterator[str]:
    with demo_server("640x400") as uri:
        yield uri


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
