"""The load tests' marker (``-m "not load"`` leaves them out)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "load: many clients against one server for tens of seconds")
