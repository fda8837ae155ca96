"""Mouse end to end: the X pointer of Xspice follows the session's mouse messages."""

from __future__ import annotations

import re

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.require import require_binary
from peers.xspice import Xspice

pytestmark = pytest.mark.interop

DEADLINE = 20.0


def _pointer(xspice: Xspice) -> tuple[int, int]:
    out = xspice.display.run(["xdotool", "getmouselocation"]).stdout.decode()
    match = re.search(r"x:(\d+) y:(\d+)", out)
    assert match, out
    return int(match[1]), int(match[2])


async def _wait_pointer(xspice: Xspice, want: tuple[int, int]) -> None:
    with trio.move_on_after(DEADLINE):
        while _pointer(xspice) != want:
            await trio.sleep(0.05)
    assert _pointer(xspice) == want


async def test_client_mode_absolute_position(xspice: Xspice) -> None:
    require_binary("xdotool")
    async with ss.connect(xspice.uri) as session:
        assert sp.MouseMode.CLIENT in session.supported_mouse_modes
        await session.request_mouse_mode(sp.MouseMode.CLIENT)
        with trio.fail_after(DEADLINE):
            async for event in session.events():
                if isinstance(event, ss.events.MouseModeChanged):
                    break
        assert session.mouse_mode == sp.MouseMode.CLIENT
        await session.inputs.mouse_position(300, 200)
        await _wait_pointer(xspice, (300, 200))
        await session.inputs.mouse_position(17, 701)
        await _wait_pointer(xspice, (17, 701))


async def test_server_mode_motion_is_acknowledged(xspice: Xspice) -> None:
    # Xspice's driver ignores relative motion (its handler is empty), so the pointer cannot be
    # checked here; what can be: the server acknowledges every 4 motions, at most two bunches go
    # out unacknowledged, the rest adds up and goes out (as fewer motions) once acks come back.
    async with ss.connect(xspice.uri, event_buffer=100_000) as session:  # acks counted at the end
        assert session.mouse_mode == sp.MouseMode.SERVER
        inputs = session.inputs  # the session itself sends what the ack window held back
        with trio.fail_after(DEADLINE):
            for _ in range(5 * sp.INPUT_MOTION_ACK_BUNCH):
                await inputs.mouse_motion(5, 3)
                assert inputs.pacer.unacked <= 2 * sp.INPUT_MOTION_ACK_BUNCH
            # Done: nothing held back, and every complete bunch acknowledged.
            while inputs.pacer.pending or inputs.pacer.unacked >= sp.INPUT_MOTION_ACK_BUNCH:
                await trio.sleep(0.01)
        events = session.events()
        acks = 0
        while True:
            try:
                event = events.receive_nowait()
            except trio.WouldBlock:
                break
            if isinstance(event, ss.events.InputsEvent):
                acks += isinstance(event.message, sp.InputsMouseMotionAck)
        assert acks >= 2
