"""Folder sharing: the webdav mux and WsgiDAV behind it, driven in memory like spice-webdavd."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import trio
from spice_session._share import FolderShare
from spice_session._webdav_mux import ClientClosed, ClientData, MuxError, WebdavMux

pytest.importorskip("wsgidav")


def frame(client: int, data: bytes) -> bytes:
    return struct.pack("<qH", client, len(data)) + data


def test_mux_frames_split_and_join() -> None:
    mux = WebdavMux()
    raw = frame(7, b"GET / HTTP/1.1\r\n") + frame(-2, b"x") + frame(7, b"")
    events = []
    for b in raw:  # byte by byte: frames arrive split across SPICEVMC_DATA messages
        events += mux.receive_data(bytes([b]))
    assert events == [ClientData(7, b"GET / HTTP/1.1\r\n"), ClientData(-2, b"x"), ClientClosed(7)]
    big = mux.send(3, bytes(70000))
    assert len(big) == 2 * 10 + 70000 and struct.unpack_from("<qH", big) == (3, 0xFFFF)
    assert mux.close(3) == struct.pack("<qH", 3, 0)
    assert mux.send(3, b"") == b""


def test_mux_bounds_open_clients() -> None:
    mux = WebdavMux(max_clients=2)
    mux.receive_data(frame(1, b"a") + frame(2, b"b"))
    with pytest.raises(MuxError, match="more than 2 open"):
        mux.receive_data(frame(3, b"c"))


class FakePort:
    """What FolderShare needs of a Port: receive() and send(), fed from a script."""

    def __init__(self, incoming: list[bytes]) -> None:
        self.incoming = incoming
        self.sent = bytearray()

    async def receive(self) -> bytes:
        await trio.lowlevel.checkpoint()
        return self.incoming.pop(0) if self.incoming else b""

    async def send(self, data: bytes) -> None:
        self.sent += data


def replies(raw: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    mux = WebdavMux()
    for event in mux.receive_data(raw):
        if isinstance(event, ClientData):
            out[event.client] = out.get(event.client, b"") + event.data
        else:
            out[event.client] = out.get(event.client, b"") + b"<closed>"
    return out


def request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def test_get_put_propfind_through_the_mux(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hi there\n")
    share = FolderShare(tmp_path)
    get = request("GET", "/hello.txt")
    port = FakePort(
        [
            frame(1, get[:10]),
            frame(1, get[10:]) + frame(2, request("PUT", "/new%20file.txt", b"from guest")),
            frame(1, request("PROPFIND", "/", b"", "Depth: 1\r\n")),
            frame(2, request("GET", "/missing", b"", "Connection: close\r\n")),
            frame(1, b""),
        ]
    )
    await share.serve(port)  # type: ignore[arg-type]
    got = replies(bytes(port.sent))
    assert got[1].startswith(b"HTTP/1.1 200") and b"\r\n\r\nhi there\n" in got[1]
    assert b"HTTP/1.1 207" in got[1] and b"new file.txt" in got[1] and b"hello.txt" in got[1]
    assert got[2].startswith(b"HTTP/1.1 201") and b"HTTP/1.1 404" in got[2] and got[2].endswith(b"<closed>")
    assert (tmp_path / "new file.txt").read_bytes() == b"from guest"
    assert [s for _, _, s in share.log] == [200, 201, 207, 404]


async def test_read_only_share_refuses_put_and_garbage_closes_the_client(tmp_path: Path) -> None:
    share = FolderShare(tmp_path, readonly=True)
    port = FakePort([frame(5, request("PUT", "/x.txt", b"nope")), frame(6, b"\x00\x01 not http\r\n\r\n")])
    await share.serve(port)  # type: ignore[arg-type]
    got = replies(bytes(port.sent))
    assert got[5].startswith(b"HTTP/1.1 403")
    assert 6 not in got and bytes(port.sent).endswith(frame(6, b""))  # closed without an answer
    assert not (tmp_path / "x.txt").exists()
