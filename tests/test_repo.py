"""Repository invariants: every distribution is complete and the build hooks stay in step."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if p.is_dir())
CODECS = {"spice-quic", "spice-lz", "spice-glz"}


def test_eight_distributions() -> None:
    assert [p.name for p in PACKAGES] == sorted(
        [
            "spice-proto",
            "spice-quic",
            "spice-lz",
            "spice-glz",
            "spice-net",
            "spice-session",
            "spice-server",
            "spice-cli",
        ]
    )


def test_each_distribution_is_complete() -> None:
    for pkg in PACKAGES:
        module = pkg.name.replace("-", "_")
        meta = tomllib.loads((pkg / "pyproject.toml").read_text())
        assert meta["project"]["name"] == pkg.name
        assert meta["build-system"]["build-backend"] == "hatchling.build"
        assert meta["project"]["requires-python"] == ">=3.10"
        for name in ("README.md", "CHANGELOG.md", "LICENSE-MIT", "LICENSE-APACHE", f"src/{module}/py.typed"):
            assert (pkg / name).is_file(), f"{pkg.name} lacks {name}"
        init = (pkg / "src" / module / "__init__.py").read_text()
        assert f'__version__ = "{meta["project"]["version"]}"' in init


def test_local_dependencies_have_ranges() -> None:
    names = {p.name for p in PACKAGES}
    for pkg in PACKAGES:
        meta = tomllib.loads((pkg / "pyproject.toml").read_text())
        for dep in meta["project"]["dependencies"]:
            base = dep.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
            if base in names:
                assert ">=" in dep and "<" in dep, f"{pkg.name}: {dep} needs a version range"
        if pkg.name in CODECS:
            deps = [d.split(">")[0] for d in meta["project"]["dependencies"]]
            assert deps == ["cffi"], f"{pkg.name} must depend on cffi only"


def test_build_hook_copies_are_identical() -> None:
    canonical = (ROOT / "tools" / "hatch_cffi_hook.py").read_text()
    for name in CODECS:
        assert (ROOT / "packages" / name / "hatch_build.py").read_text() == canonical, name


def test_test_module_basenames_are_unique() -> None:
    """tests/ has no __init__.py files, so two test modules with one basename break collection."""
    seen: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        seen.setdefault(path.name, []).append(path.relative_to(ROOT).as_posix())
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
