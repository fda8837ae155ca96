"""spice view's clipboard end to end with the real agent: the host's X clipboard (an Xvfb that
SDL's X11 driver shows the window on) <-> spice_cli's Viewer <-> Xspice's spice-vdagent <->
Xspice's X clipboard.  Both sides are read and written with xclip, as a user's programs do."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import spice_session
import trio
from peers.require import require_binary
from peers.vdagent import xspice_with_agent
from peers.x11 import XDisplay
from peers.xspice import Xspice
from peers.xvfb import Xvfb
from spice_cli._sdl_viewer import Viewer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]

TEXT = "Grüße vom Host\nzweite Zeile 💡 ñ\n\ttab"
GUEST_TEXT = "copié dans l'invité\nligne 2 — ✓\n"


def _paste(display: XDisplay) -> bytes | None:
    """What pasting CLIPBOARD as UTF-8 on ``display`` gives now (None: no owner answered)."""
    try:
        return display.run(["xclip", "-o", "-selection", "clipboard", "-t", "UTF8_STRING"], timeout=5).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None


async def _pasted(display: XDisplay, expected: str, seconds: float = 30.0) -> bytes | None:
    """Paste on ``display`` until it gives ``expected`` or ``seconds`` pass; the last paste."""
    got = None
    with trio.move_on_after(seconds):
        while (got := await trio.to_thread.run_sync(_paste, display)) != expected.encode():
            await trio.sleep(0.2)
    return got


@asynccontextmanager
async def _viewing(xspice: Xspice) -> AsyncIterator[Viewer]:
    async with spice_session.connect(xspice.uri) as session:
        await session.agent.ready(timeout=30)
        async with trio.open_nursery() as nursery:
            viewer = Viewer(session, clipboard=True, resize_guest=False)
            nursery.start_soon(viewer.run)
            with trio.fail_after(30):
                while viewer.window is None or viewer.guest is None:
                    await trio.sleep(0.05)
            yield viewer
            nursery.cancel_scope.cancel()


@pytest.fixture
def xspice(xspice_factory: Callable[..., Xspice], peers: object, tmp_path: Path) -> Xspice:
    require_binary("xclip")
    started, _ = xspice_with_agent(xspice_factory, peers.started, tmp_path / "agent")  # type: ignore[attr-defined]
    return started


async def test_host_copy_pastes_in_the_guest(x11_sdl: Xvfb, xspice: Xspice, tmp_path: Path) -> None:
    """Text copied on the host by another program (xclip on the viewer's X display) is what
    pasting in the guest's X session gives, byte for byte."""
    async with _viewing(xspice) as viewer:
        guest = viewer.guest
        assert guest is not None and guest.clipboard is not None
        source = tmp_path / "host.txt"
        source.write_text(TEXT, encoding="utf-8")
        x11_sdl.display.copy_text(source)
        got = await _pasted(xspice.display, TEXT)
        assert got == TEXT.encode(), got
        # a second copy replaces the first in the guest too
        source.write_text("second copy", encoding="utf-8")
        x11_sdl.display.copy_text(source)
        got = await _pasted(xspice.display, "second copy")
        assert got == b"second copy", got


async def test_guest_copy_pastes_on_the_host(x11_sdl: Xvfb, xspice: Xspice, tmp_path: Path) -> None:
    """Text copied in the guest (xclip in Xspice's session; spice-vdagent grabs) is what pasting
    on the host's X display gives: the viewer took the host's CLIPBOARD for it."""
    async with _viewing(xspice):
        source = tmp_path / "guest.txt"
        source.write_text(GUEST_TEXT, encoding="utf-8")
        xspice.display.copy_text(source)
        got = await _pasted(x11_sdl.display, GUEST_TEXT)
        assert got == GUEST_TEXT.encode(), got
