"""QEMU's SeaBIOS text screen: our screenshot equals the QMP screendump.

The only thing that moves on that screen is the blinking text cursor.  A capture pair
taken while it blinks may disagree inside the cursor's character cell and nowhere
else; the comparison is retried until one pair agrees exactly (and every disagreement
seen on the way must stay inside one 9x16 character cell).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import spice_session as ss
import trio
from peers.qemu import Qemu

pytestmark = pytest.mark.interop

CELL = (9, 16)  # a VGA text cell, 720x400 screen
ATTEMPTS = 12


@pytest.mark.parametrize("compression", [None, "off", "quic", "lz"], ids=["default", "off", "quic", "lz"])
async def test_screenshot_equals_screendump(
    compression: str | None, qemu_factory: Callable[..., Qemu]
) -> None:
    vm = qemu_factory(image_compression=compression)
    with trio.fail_after(30):  # SeaBIOS boots through a 640x480 mode before its text screen
        while True:
            screen = await trio.to_thread.run_sync(vm.screendump)
            if screen.shape == (400, 720, 3) and len(np.unique(screen.reshape(-1, 3), axis=0)) >= 2:
                break
            await trio.sleep(0.2)
    async with ss.connect(vm.uri) as session:
        session.events().close()
        exact = False
        for _ in range(ATTEMPTS):
            # no settle time: the cursor blinks every few hundred ms
            shot = await session.screenshot(timeout=30)
            truth = await trio.to_thread.run_sync(vm.screendump)
            ours = shot.to_rgb()
            assert ours.shape == truth.shape == (400, 720, 3)
            diff = np.any(ours != truth, axis=2)
            if not diff.any():
                exact = True
                break
            ys, xs = np.nonzero(diff)
            assert xs.max() - xs.min() < CELL[0] and ys.max() - ys.min() < CELL[1], (
                f"pixels differ outside one character cell: "
                f"x {xs.min()}..{xs.max()}, y {ys.min()}..{ys.max()}"
            )
            await trio.sleep(0.13)
        assert exact, f"no exact match in {ATTEMPTS} attempts"
        assert session.display.errors == 0
        # the screen is the SeaBIOS text, not an empty surface
        assert len(np.unique(truth.reshape(-1, 3), axis=0)) >= 2
        assert shot.primary and (shot.width, shot.height) == (720, 400)
