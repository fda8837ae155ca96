"""Our webdav mux against spice-gtk's phodav: spicy with ``--spice-shared-dir`` opens our
server's org.spice-space.webdav.0 port; the test speaks as spice-webdavd would (mux frames
carrying HTTP) and spicy's WebDAV server answers from the shared folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import spice_server as srv
import trio
from peers.require import require_binary
from peers.xvfb import Xvfb
from spice_session.lowlevel import WebdavMux

pytestmark = [pytest.mark.interop, pytest.mark.timeout(150)]


async def exchange(conn: srv.PortConnection, mux: WebdavMux, client: int, request: bytes) -> bytes:
    """Send one HTTP request as mux client ``client``; its whole answer (until spicy closes it)."""
    await conn.send(mux.send(client, request))
    answer = bytearray()
    with trio.fail_after(30):
        while True:
            data = await conn.receive()
            assert data, "spicy closed the port"
            for event in mux.receive_data(data):
                if event.client != client:  # an earlier client being closed
                    continue
                if hasattr(event, "data"):
                    answer += event.data
                else:
                    return bytes(answer)
            if b"\r\n\r\n" in answer:
                head, _, body = bytes(answer).partition(b"\r\n\r\n")
                length = [
                    int(v)
                    for k, _, v in (ln.partition(b":") for ln in head.split(b"\r\n"))
                    if k.lower() == b"content-length"
                ]
                if length and len(body) >= length[0]:
                    return bytes(answer)


async def test_spicy_phodav_answers_through_our_mux(xvfb: Xvfb, tmp_path: Path) -> None:
    require_binary("spicy")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from spicy's folder\n")
    port = srv.ServerPort("org.spice-space.webdav.0")
    server = srv.Server(srv.Framebuffer(64, 48), ports=[port])
    async with trio.open_nursery() as nursery:
        addr: srv.ServerAddress = await nursery.start(
            lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
        )  # type: ignore[arg-type]
        xvfb.display.start_client(
            "spicy", ["spicy", "-h", "127.0.0.1", "-p", str(addr.port), f"--spice-shared-dir={shared}"]
        )
        with trio.fail_after(60):
            conn = await port.accept()
        mux = WebdavMux()
        get = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
        answer = await exchange(conn, mux, 7, get)
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"from spicy's folder\n"), answer[:300]
        put = b"PUT /from-server.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
        answer = await exchange(conn, mux, -3, put)
        assert answer.split(b"\r\n")[0] in (b"HTTP/1.1 201 Created", b"HTTP/1.1 204 No Content"), answer[:300]
        assert (shared / "from-server.txt").read_bytes() == b"hello"
        nursery.cancel_scope.cancel()
