"""What a newcomer meets first stays true: the README's Debian list, and where the demo's picture goes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_apt_packages() -> list[str]:
    block = re.search(
        r"apt-get install --no-install-recommends \\\n(.*?)```", (ROOT / "README.md").read_text(), re.S
    )
    assert block is not None, "README: the apt-get install block of the interop section"
    return block.group(1).replace("\\", " ").split()


def ci_packages() -> list[str]:
    found = re.search(r"DEBIAN_PACKAGES=\((.*?)\)", (ROOT / ".ci" / "run").read_text(), re.S)
    assert found is not None
    return found.group(1).split()


def test_readme_lists_the_debian_packages_ci_installs() -> None:
    assert readme_apt_packages() == ci_packages()


def test_readme_says_what_each_debian_package_is_for() -> None:
    text = (ROOT / "README.md").read_text()
    explained = text[text.index("What for:") : text.index("This list is the one")]
    assert [p for p in ci_packages() if f"`{p}`" not in explained] == []


def demo_screenshot() -> str:
    """The path ``nox -s demo`` passes to ``--screenshot``, relative to the repository."""
    found = re.search(
        r"^DEMO_SCREENSHOT = ROOT((?: / \"[^\"]+\")+)$", (ROOT / "noxfile.py").read_text(), re.M
    )
    assert found is not None
    return "/".join(re.findall(r"\"([^\"]+)\"", found.group(1)))


def test_the_demo_picture_is_where_the_readme_says_and_git_ignores_it() -> None:
    path = demo_screenshot()
    assert f"`{path}`" in (ROOT / "README.md").read_text()
    for candidate in (path, "spice-demo.png"):  # nox -s demo, and spice demo run in the root
        ignored = subprocess.run(["git", "check-ignore", "-q", candidate], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{candidate} is not ignored by git"
