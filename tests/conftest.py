"""Shared pytest configuration for the monorepo's tests."""

from __future__ import annotations

import enum
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# tools/ holds the header parser used by the proto constant test.
sys.path.insert(0, str(ROOT / "tools"))
pytest_plugins = ["peers.fixtures"]


def pytest_make_parametrize_id(config: object, val: object, argname: str) -> str | None:
    """Parametrised enum values print by name (``[MJPEG]``, ``[OP_OR|INVERS_RES]``), not as ``[1]``."""
    if isinstance(val, enum.Flag):
        return "|".join(m.name for m in type(val) if m.value and m in val and m.name) or repr(val.value)
    if isinstance(val, enum.Enum):
        return val.name
    return None
