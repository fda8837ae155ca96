"""Shared pytest configuration for the monorepo's tests."""

from __future__ import annotations

import enum
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# tools/ holds the header parser used by the proto constant test.
sys.path.insert(0, str(ROOT / "tools"))
pytest_plugins = ["peers.fixtures"]

# A test run started in the background of a non-interactive shell (`nox -s tests &`, some CI
# runners) inherits SIGINT ignored, and an ignored signal stays ignored through exec: every
# `spice` process a test interrupts with Ctrl+C would then never see it.  With a handler here
# instead, children start with SIGINT at its default again (handlers do not survive exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_make_parametrize_id(config: object, val: object, argname: str) -> str | None:
    """Parametrised enum values print by name (``[MJPEG]``, ``[OP_OR|INVERS_RES]``), not as ``[1]``."""
    if isinstance(val, enum.Flag):
        return "|".join(m.name for m in type(val) if m.value and m in val and m.name) or repr(val.value)
    if isinstance(val, enum.Enum):
        return val.name
    return None
