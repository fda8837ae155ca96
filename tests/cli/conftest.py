"""Fixtures of the spice_cli tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peers.xvfb import Xvfb
from spice_cli._sdl_window import sdl_video


@pytest.fixture
def sdl(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SDL video on its dummy driver (no display needed), for viewers and windows made in the test."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_RENDER_DRIVER", "software")
    with sdl_video():
        yield


@pytest.fixture
def x11_sdl(xvfb: Xvfb, monkeypatch: pytest.MonkeyPatch) -> Iterator[Xvfb]:
    """SDL video on its X11 driver, on a fresh Xvfb."""
    monkeypatch.setenv("DISPLAY", xvfb.display.name)
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    with sdl_video():
        yield xvfb
