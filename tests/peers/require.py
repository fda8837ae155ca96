"""The rule for missing peers: skip, unless SPICE_REQUIRE_INTEROP=1 makes it a failure."""

from __future__ import annotations

import os
import shutil

import pytest

ENV = "SPICE_REQUIRE_INTEROP"


def interop_required() -> bool:
    return os.environ.get(ENV, "") == "1"


def missing(reason: str) -> None:
    """Fail when interop is required, otherwise skip, with ``reason``."""
    if interop_required():
        pytest.fail(f"{reason} ({ENV}=1)", pytrace=False)
    pytest.skip(reason)


def require_binary(name: str) -> str:
    """The path of an executable (a name on PATH or an absolute path), or skip/fail the test."""
    found = shutil.which(name)
    if found is None:
        missing(f"interop peer binary {name!r} not installed")
        raise AssertionError("unreachable")  # pragma: no cover - missing() always raises
    return found


def require_file(path: str) -> str:
    if not os.path.exists(path):
        missing(f"interop peer file {path!r} not installed")
    return path
