"""accept_channel(max_message_size=...): the linked server channel refuses larger client messages."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from spice_net import Channel, ProtocolViolation, ServerChannel, accept_channel, link_channel
from spice_proto import ChannelType, Direction, UnknownMessage


async def linked(limit: int | None) -> tuple[Channel, ServerChannel]:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    got: list[ServerChannel] = []

    async def serve() -> None:
        got.append(await accept_channel(server_stream, password=None, max_message_size=limit))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        client = await link_channel(
            client_stream, channel_type=ChannelType.DISPLAY, channel_id=0, connection_id=1, password=None
        )
    return client, got[0]


def message(size: int) -> UnknownMessage:
    return UnknownMessage(ChannelType.DISPLAY, Direction.CLIENT_TO_SERVER, 5001, bytes(size))


async def test_messages_up_to_the_limit_pass_and_larger_ones_are_a_violation() -> None:
    client, server = await linked(1024)
    await client.send(message(1024))
    got = await server.receive()
    assert isinstance(got, UnknownMessage) and len(got.body) == 1024
    await client.send(message(1025))
    with pytest.raises(ProtocolViolation, match="1025 bytes, limit is 1024"):
        await server.receive()


async def test_without_a_limit_the_connection_default_applies() -> None:
    client, server = await linked(None)
    await client.send(message(300_000))  # above spice_server's limit, far below the default
    got = await server.receive()
    assert isinstance(got, UnknownMessage) and len(got.body) == 300_000
