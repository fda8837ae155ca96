"""The README examples type-check with ``mypy --strict`` against our packages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]

#: READMEs whose examples do not type-check yet.  Fixing one means deleting it here (the
#: test fails while a listed README is clean).
KNOWN_UNTYPED = {"packages/spice-proto/README.md", "packages/spice-net/README.md"}


def test_readme_examples_type_check(tmp_path: Path) -> None:
    sources: dict[str, str] = {}  # example file -> README it comes from
    for readme in READMES:
        name = readme.relative_to(ROOT).as_posix()
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)):
            path = tmp_path / f"{re.sub(r'[^a-z0-9]', '_', name.lower())}_{i}.py"
            path.write_text(block)
            sources[path.name] = name
    assert "packages/spice-server/README.md" in sources.values()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            *sorted(sources),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    failing = {sources[line.partition(":")[0]] for line in errors}
    assert failing == KNOWN_UNTYPED, "\n".join(errors)
