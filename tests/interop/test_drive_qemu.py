"""Driving QEMU's SeaBIOS screen: a key opens the boot menu, seen by OCR and by a needle; relative mouse."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import spice_proto as sp
import spice_session as ss
from peers.qemu import Qemu
from peers.require import require_binary
from spice_session import Driver, MatchError

pytestmark = pytest.mark.interop


async def test_boot_menu_by_ocr_and_by_needle(qemu_factory: Callable[..., Qemu]) -> None:
    require_binary("tesseract")
    vm = qemu_factory(extra_args=("-boot", "menu=on,splash-time=15000"))
    async with ss.connect(vm.uri) as session:
        drive = Driver(session)
        await drive.expect_text(r"Press ESC for boot menu", timeout=30)
        before = await drive.screenshot()
        await drive.key("Escape")
        found = await drive.expect_text(r"Select boot device", timeout=30)
        assert found.group(0) == "Select boot device"
        menu = await drive.screenshot()
    truth = vm.screendump()
    # what was searched is what QEMU shows, but for SeaBIOS's blinking text cursor (one
    # 9x16 character cell; CI caught a screendump taken in the other blink phase)
    assert menu.shape == truth.shape
    ys, xs = np.nonzero(np.any(menu != truth, axis=2))
    assert not len(ys) or (ys.max() - ys.min() < 16 and xs.max() - xs.min() < 9), (ys, xs)
    # a needle cut from this machine's menu is found on a second machine's menu
    rows = np.flatnonzero(np.any(menu != before, axis=(1, 2)))  # the menu's own lines
    needle = menu[rows[0] : rows[0] + 16, 0:200].copy()
    other = qemu_factory(extra_args=("-boot", "menu=on,splash-time=15000"))
    async with ss.connect(other.uri) as session:
        drive = Driver(session)
        await drive.expect_text(r"Press ESC for boot menu", timeout=30)
        with pytest.raises(MatchError, match="best score"):  # not there before the key
            await drive.expect(needle, timeout=0.5)
        await drive.key("esc")
        match = await drive.expect(needle, timeout=30)
        # (the text cursor may blink inside the cut: a tolerant match)
        assert (match.x, match.y) == (0, int(rows[0])) and match.score >= 0.96


async def test_relative_mouse_without_an_agent(qemu: Qemu) -> None:
    """No agent, no tablet: server mouse mode, so moves are relative motion paced by the motion acks."""
    async with ss.connect(qemu.uri) as session:
        assert session.mouse_mode == sp.MouseMode.SERVER
        drive = Driver(session)
        await drive.move(100, 50)
        await drive.move(120, 80)
        await drive.click(button="left")
        assert drive.pointer == (120, 80)
        assert session.inputs.pacer.unacked <= 2 * sp.INPUT_MOTION_ACK_BUNCH
        assert not session.inputs.buttons
