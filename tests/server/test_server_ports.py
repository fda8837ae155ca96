"""Port channels offered by our server (``Server(ports=[ServerPort(name)])``), used by our client."""

from __future__ import annotations

import pytest
import spice_proto as sp
import spice_server as srv
import spice_session as ss
import trio
from spice_server import ServerPort


async def _serve(nursery: trio.Nursery, ports: list[ServerPort]) -> str:
    server = srv.Server(srv.Framebuffer(64, 48), ports=ports)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    return f"spice://127.0.0.1:{addr.port}"


async def test_named_ports_carry_bytes_both_ways(nursery: trio.Nursery) -> None:
    echo, webdav = ServerPort("org.example.echo.0"), ServerPort("org.spice-space.webdav.0")
    assert (echo.channel_type, webdav.channel_type) == (sp.ChannelType.PORT, sp.ChannelType.WEBDAV)
    uri = await _serve(nursery, [echo, webdav])
    payload = bytes(range(256)) * 1000  # 256000 bytes: several messages each way

    async def app() -> None:
        got = bytearray()
        while not got:  # names() linked and closed the channel once: that connection ends at once
            conn = await echo.accept()
            got += await conn.receive()
        while len(got) < len(payload):
            data = await conn.receive()
            assert data, "the client left early"
            got += data
        await conn.send(bytes(got[::-1]))
        assert await conn.receive() == b""  # the client closed the port
        assert conn.events == [sp.PortEvent.OPENED, sp.PortEvent.CLOSED]

    with trio.fail_after(20):
        async with ss.connect(uri) as session:
            kinds = sorted(
                (int(c.type), int(c.id)) for c in session.channels if c.type >= sp.ChannelType.PORT
            )
            assert kinds == [(sp.ChannelType.PORT, 0), (sp.ChannelType.WEBDAV, 0)]
            assert sorted(await session.ports.names()) == ["org.example.echo.0", "org.spice-space.webdav.0"]
            async with trio.open_nursery() as inner:
                inner.start_soon(app)
                async with session.ports.open("org.example.echo.0") as port:
                    assert port.peer_opened  # PORT_INIT says the server side is open
                    await port.send(payload)
                    assert await port.receive_exactly(len(payload)) == payload[::-1]


def test_port_names_are_checked() -> None:
    with pytest.raises(ValueError, match="without NUL"):
        ServerPort("a\0b")
    with pytest.raises(ValueError, match="share a name"):
        srv.Server(srv.Framebuffer(8, 8), ports=[ServerPort("x"), ServerPort("x")])
