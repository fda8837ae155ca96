"""Hostile agent traffic to our server's GuestAgent: a stream that cannot be trusted ends the
client at once (nothing announced as 2 GiB is waited for); a malformed message is skipped and
the client stays.  (A flood ignoring tokens is read at the server's pace: it returns tokens
only for chunks it has consumed, and reassembly is bounded.)"""

from __future__ import annotations

import struct

import pytest
import spice_net
import spice_server
import trio
from spice_proto import (
    AGENT_PROTOCOL,
    AgentMessage,
    AgentMessageType,
    ChannelType,
    MainAgentStart,
    MainAttachChannels,
    MainChannelsList,
    MainClientAgentData,
    MainInit,
)

pytestmark = pytest.mark.timeout(60)


async def _main_channel(port: int) -> tuple[spice_net.Channel, MainInit]:
    channel = await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN)
    while not isinstance(message := await channel.receive(), MainInit):
        pass
    return channel, message


async def _closed_by_server(channel: spice_net.Channel, seconds: float = 10.0) -> bool:
    with trio.move_on_after(seconds):
        try:
            while True:
                await channel.receive()
        except (spice_net.ChannelClosed, spice_net.SpiceNetError):
            return True
    return False


async def _serve(nursery: trio.Nursery, server: spice_server.Server) -> int:
    addr: spice_server.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    assert addr.port is not None
    return addr.port


@pytest.mark.parametrize(
    "attack",
    ["huge-size", "bad-protocol"],
)
async def test_a_lying_client_is_dropped_without_buffering(attack: str) -> None:
    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=agent)
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, server)
        channel, init = await _main_channel(port)
        assert init.agent_connected and init.agent_tokens == 10
        await channel.send(MainAgentStart(10))
        if attack == "huge-size":  # a header announcing 2 GiB: refused at once, not awaited
            await channel.send(MainClientAgentData(struct.pack("<IIQI", AGENT_PROTOCOL, 4, 0, 1 << 31)))
        else:
            await channel.send(MainClientAgentData(struct.pack("<IIQI", 7, 4, 0, 0)))
        try:
            assert await _closed_by_server(channel)
        finally:
            await channel.aclose()
        with trio.fail_after(5):
            while server.clients:
                await trio.sleep(0.02)
        assert agent._clients == {}
        nursery.cancel_scope.cancel()


async def test_malformed_messages_are_skipped_and_the_client_stays() -> None:
    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=agent)
    async with trio.open_nursery() as nursery:
        port = await _serve(nursery, server)
        channel, _ = await _main_channel(port)
        await channel.send(MainAgentStart(10))
        for kind, data in (
            (AgentMessageType.CLIPBOARD_GRAB, b"\x00\x00\x00"),  # types not whole u32s
            (AgentMessageType.MONITORS_CONFIG, struct.pack("<II", 1000, 0)),  # 1000 monitors, no data
            (AgentMessageType.FILE_XFER_START, b"\x01\x00\x00\x00no key file"),
            (AgentMessageType.ANNOUNCE_CAPABILITIES, b"\x01"),
        ):
            await channel.send(MainClientAgentData(AgentMessage(kind, data).encode()))
        await channel.send(MainAttachChannels())  # the main channel still answers
        with trio.fail_after(10):
            while not isinstance(await channel.receive(), MainChannelsList):
                pass
        assert len(server.clients) == 1
        await channel.aclose()
        nursery.cancel_scope.cancel()
