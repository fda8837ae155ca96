"""Shared pytest configuration for the monorepo's tests."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# tools/ holds the header parser used by the proto constant test.
sys.path.insert(0, str(ROOT / "tools"))
pytest_plugins = ["peers.fixtures"]
