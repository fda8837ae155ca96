"""QEMU without a guest OS: an agent port nobody answers, and two QXL devices."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.qemu import Qemu

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]


async def test_agent_port_without_a_guest_agent_is_disconnected_and_nothing_hangs(
    qemu_factory: Callable[..., Qemu],
) -> None:
    vm = qemu_factory(agent=True)
    async with ss.connect(vm.uri) as session:
        assert not session.agent.connected and session.agent.caps is None
        with trio.fail_after(10):
            with pytest.raises(ss.AgentError, match="not connected"):
                await session.clipboard.set_text("nobody reads this", timeout=1.0)
            with pytest.raises(ss.AgentError, match="not connected"):
                await session.set_monitors([(800, 600)], timeout=1.0)
            assert await session.clipboard.get_text() is None  # the guest offers nothing
        shot = await session.screenshot(timeout=30)  # the session goes on
        assert shot.width > 0


async def test_two_qxl_devices_give_two_display_channels(qemu_factory: Callable[..., Qemu]) -> None:
    vm = qemu_factory(qxl_devices=2)
    async with ss.connect(vm.uri) as session:
        listed = {(c.type, c.id) for c in session.channels if c.type == sp.ChannelType.DISPLAY}
        assert listed == {(sp.ChannelType.DISPLAY, 0), (sp.ChannelType.DISPLAY, 1)}
        assert {(sp.ChannelType.DISPLAY, 0), (sp.ChannelType.DISPLAY, 1)} <= set(session.opened)
        shot = await session.screenshot(timeout=30)  # SeaBIOS draws on the first (VGA) device
        assert shot.width > 0
        with trio.fail_after(10):
            while 1 not in session.display.channels:
                await trio.sleep(0.05)
