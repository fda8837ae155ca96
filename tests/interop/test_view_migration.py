"""``spice view`` through a seamless live migration: the same window shows the destination VM.

Two QEMUs with ``seamless-migration=on``; the viewer is on the source; after the migration
a key typed into the viewer's window (ESC, which opens SeaBIOS's boot menu) changes the
destination's screen, the window shows exactly that screen, and the viewer never
reconnected (no banner, nothing about a lost connection in its log).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
from peers.migration import migrate, wait_text_screen
from peers.ports import free_tcp_port
from peers.qemu import Qemu
from peers.spice_view import SpiceView, _find_window, start_spice_view
from peers.xvfb import Xvfb

pytestmark = pytest.mark.interop

_SEAMLESS = ",seamless-migration=on"
_BOOT_MENU = ("-boot", "menu=on,splash-time=60000")


def _wait_same(view: SpiceView, vm: Qemu, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not np.array_equal(shown := view.screenshot(), vm.screendump()):
        if time.monotonic() > end:
            raise AssertionError(f"the viewer never showed the VM's screen ({shown.shape})")
        time.sleep(0.2)


def test_view_follows_a_seamless_migration(qemu_factory: Callable[..., Qemu], xvfb: Xvfb) -> None:
    source = qemu_factory(password="mig-pw", extra_spice=_SEAMLESS, extra_args=_BOOT_MENU)
    migration_port = free_tcp_port()
    target = qemu_factory(
        password="mig-pw",
        extra_spice=_SEAMLESS,
        extra_args=(*_BOOT_MENU, "-incoming", f"tcp:127.0.0.1:{migration_port}"),
    )
    wait_text_screen(source)
    view = start_spice_view(xvfb.display, f"spice://127.0.0.1:{source.port}?password=mig-pw")
    view.wait_title("click to grab")
    _wait_same(view, source)
    migrate(source, target, migration_port, True, 400_000)
    before = target.screendump()
    # ESC until the destination reacts (a key still sent to the paused source does nothing)
    end = time.monotonic() + 60
    while np.array_equal(target.screendump(), before):
        assert time.monotonic() < end, "no key typed into the viewer reached the destination"
        xvfb.display.run(["xdotool", "windowfocus", "--sync", view.window])
        xvfb.display.run(["xdotool", "key", "Escape"])
        time.sleep(1.0)
    _wait_same(view, target)
    assert _find_window(xvfb.display) == view.window and view.proc.alive()
    log = view.proc.log.read_text(errors="replace")
    assert "connection lost" not in log and "the VM moved" not in log, log[-2000:]
    assert "reconnecting" not in view.title()
