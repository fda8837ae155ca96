"""Shared pytest configuration for the monorepo's tests."""

from __future__ import annotations

import enum
import signal
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
# tools/ holds the header parser used by the proto constant test.
sys.path.insert(0, str(ROOT / "tools"))
pytest_plugins = ["peers.fixtures"]

# Hypothesis checks what a property does, not how fast: on CI's two loaded cores one example
# took 291 ms against the default 200 ms deadline and failed a correct test.
settings.register_profile("spice", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("spice")

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
