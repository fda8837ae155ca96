"""The session's inputs: held-back motion sent by the session's own pump, the mouse mode followed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import spice_net
import spice_proto as sp
import spice_server
import spice_session as ss
import trio
from test_session_fake_server import Script, fake_server

DEADLINE = 10.0


async def test_held_back_motion_goes_out_after_the_ack_without_a_caller_pump() -> None:
    motions: list[sp.InputsMouseMotion] = []
    inputs_channel: list[spice_net.ServerChannel] = []

    async def inputs(chan: spice_net.ServerChannel) -> None:
        inputs_channel.append(chan)
        async for message in chan:
            if isinstance(message, sp.InputsMouseMotion):
                motions.append(message)

    async def until(condition: Callable[[], bool]) -> None:
        with trio.fail_after(DEADLINE):
            while not condition():
                await trio.sleep(0.01)

    async with fake_server(Script(inputs=inputs)) as uri, ss.connect(uri) as session:
        session.events().close()
        pointer = session.inputs
        window = pointer.pacer.limit  # 2 bunches of 4: the server acknowledges nothing yet
        for _ in range(window + 3):
            await pointer.mouse_motion(1, 2)
        await until(lambda: len(motions) == window)
        assert pointer.pacer.pending
        await trio.sleep(0.1)
        assert len(motions) == window  # held back while the window is full
        await inputs_channel[0].send(sp.InputsMouseMotionAck())
        # no call from us: the session's pump sends the summed delta once the ack opened the window
        await until(lambda: len(motions) == window + 1)
        assert (motions[-1].dx, motions[-1].dy) == (3, 6)
        assert not pointer.pacer.pending and pointer.pacer.unacked == window - sp.INPUT_MOTION_ACK_BUNCH + 1


@asynccontextmanager
async def served(mode: sp.MouseMode) -> AsyncIterator[ss.Session]:
    server = spice_server.Server(spice_server.Framebuffer(64, 48), initial_mouse_mode=mode)
    async with trio.open_nursery() as nursery:
        addr: spice_server.ServerAddress = await nursery.start(server.serve, "127.0.0.1", 0)
        async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
            yield session
        nursery.cancel_scope.cancel()


async def test_inputs_follow_the_servers_mouse_mode() -> None:
    async with served(sp.MouseMode.CLIENT) as session:
        assert session.inputs.mouse_mode == sp.MouseMode.CLIENT
        await session.request_mouse_mode(sp.MouseMode.SERVER)
        with trio.fail_after(DEADLINE):
            async for event in session.events():
                if isinstance(event, ss.events.MouseModeChanged):
                    break
        assert session.mouse_mode == sp.MouseMode.SERVER
        assert session.inputs.mouse_mode == sp.MouseMode.SERVER
