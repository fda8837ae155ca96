"""The README example runs and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "packages" / "spice-glz" / "README.md"


def test_readme_example_runs() -> None:
    match = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert match, "README has no python example"
    code = match.group(1)
    assert len(code.strip().splitlines()) <= 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    lines = [line.split() for line in out.getvalue().splitlines()]
    assert [line[0] for line in lines] == ["0", "1", "2"]
    assert all(line[2:] == ["160", "120", "bgrx32"] for line in lines)
    assert int(lines[1][1]) < int(lines[0][1]), "the moved copy should be cheaper than the first frame"
