"""HTTP CONNECT proxies: URL parsing, tunnels (plain, Basic credentials, Proxmox pseudo hosts,
TLS inside with the host subject pinned), and clear errors for refusing, 407 and garbage proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import spice_net
import trio
import trustme
from peers.http_proxy import ProxyLog, serve_proxy
from spice_net._client import open_unix_channel
from spice_net._proxy import (
    MAX_REPLY_HEADER,
    HttpProxy,
    InvalidProxy,
    ProxyAuthRequired,
    ProxyFailed,
    parse_proxy,
)
from spice_proto import ChannelType, Ping

SECRET = "pr0xy-s3cret"
PSEUDO = "pvespiceproxy:6571a2b3:100:node1::0f1e2d3c4b5a"


def test_parse_proxy_forms() -> None:
    assert parse_proxy("http://proxy.example:8080") == HttpProxy("proxy.example", 8080)
    assert parse_proxy("proxy.example") == HttpProxy("proxy.example", 3128)
    assert parse_proxy("http://[::1]:3129/") == HttpProxy("::1", 3129)
    p = parse_proxy(f"http://al%40ice:{SECRET}@10.0.0.1:3128")
    assert (p.username, p.password, p.host, p.port) == ("al@ice", SECRET, "10.0.0.1", 3128)
    assert SECRET not in repr(p) and SECRET not in str(p) and "al@ice" not in repr(p)
    assert str(p) == "http://***@10.0.0.1:3128"
    assert p.authorization() == "Basic YWxAaWNlOnByMHh5LXMzY3JldA=="


@pytest.mark.parametrize(
    "url",
    [
        "",
        "socks5://u:" + SECRET + "@host:1080",
        "http://u:" + SECRET + "@host:99999",
        "http://u:" + SECRET + "@host:port",
        "http://u:" + SECRET + "@host/path",
        "http://u:" + SECRET + "@:3128",
        "http://u:" + SECRET + "@ho st:3128",
        "http://u:" + SECRET + "@host:0",
        "http://u:" + SECRET + "@" + "h" * 5000,
    ],
)
def test_bad_proxy_urls_name_the_fault_not_the_secret(url: str) -> None:
    with pytest.raises(InvalidProxy) as info:
        parse_proxy(url)
    assert SECRET not in str(info.value)
    assert isinstance(info.value, ValueError)


async def _serve_spice(stream: trio.abc.Stream) -> None:
    try:
        channel = await spice_net.accept_channel(stream, password="pw")
    except spice_net.SpiceNetError:
        return
    async with channel:
        await channel.send(Ping(7, 8))
        try:
            await channel.receive()
        except spice_net.SpiceNetError:
            pass


@pytest.fixture
async def spice_port() -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, _serve_spice, 0, host="127.0.0.1"))
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def _start_proxy(nursery: trio.Nursery, log: ProxyLog, **kw: object) -> HttpProxy:
    port = await nursery.start(partial(serve_proxy, log=log, **kw))  # type: ignore[arg-type]
    return HttpProxy("127.0.0.1", port)


async def test_plain_tunnel(spice_port: int) -> None:
    log = ProxyLog()
    async with trio.open_nursery() as nursery:
        proxy = await _start_proxy(nursery, log)
        channel = await spice_net.open_channel(
            "127.0.0.1", spice_port, channel_type=ChannelType.MAIN, password="pw", proxy=proxy
        )
        async with channel:
            assert await channel.receive() == Ping(7, 8)
        nursery.cancel_scope.cancel()
    assert log.targets == [f"127.0.0.1:{spice_port}"]
    assert log.authorizations == [None]


async def test_basic_credentials(spice_port: int) -> None:
    log = ProxyLog()
    async with trio.open_nursery() as nursery:
        proxy = await _start_proxy(nursery, log, credentials=("alice", SECRET))
        with pytest.raises(ProxyAuthRequired, match="asks for credentials") as info:
            await spice_net.open_channel("127.0.0.1", spice_port, channel_type=ChannelType.MAIN, proxy=proxy)
        assert isinstance(info.value, spice_net.ConnectFailed)
        wrong = HttpProxy(proxy.host, proxy.port, "alice", "nope")
        with pytest.raises(ProxyAuthRequired, match="refused our credentials") as info2:
            await spice_net.open_channel("127.0.0.1", spice_port, channel_type=ChannelType.MAIN, proxy=wrong)
        assert "nope" not in str(info2.value)
        good = HttpProxy(proxy.host, proxy.port, "alice", SECRET)
        channel = await spice_net.open_channel(
            "127.0.0.1", spice_port, channel_type=ChannelType.MAIN, password="pw", proxy=good
        )
        async with channel:
            assert await channel.receive() == Ping(7, 8)
        nursery.cancel_scope.cancel()
    assert log.authorizations[-1] == good.authorization()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA(organization_name="proxy test CA")
    leaf = ca.issue_cert(
        "node1.example",
        common_name="node1.example",
        organization_name="Proxmox Virtual Environment",
        organization_unit_name="PVE Cluster Node",
    )
    d = tmp_path_factory.mktemp("proxy-pki")
    leaf.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    return ca, d / "cert.pem", d / "key.pem"


async def test_proxmox_pseudo_host_with_tls_and_host_subject(pki: tuple[trustme.CA, Path, Path]) -> None:
    """Like a Proxmox .vv: CONNECT to a pseudo host the proxy maps; TLS inside; subject pinned."""
    ca, cert, key = pki
    server_ctx = spice_net.server_ssl_context(str(cert), str(key))
    log = ProxyLog()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, _serve_spice, 0, server_ctx, host="127.0.0.1")
        )
        tls_port = listeners[0].transport_listener.socket.getsockname()[1]
        proxy = await _start_proxy(nursery, log, routes={PSEUDO: ("127.0.0.1", tls_port)})
        ca_pem = ca.cert_pem.bytes().decode()
        ctx = spice_net.client_ssl_context(
            ca_data=ca_pem,
            host_subject="CN=node1.example, OU=PVE Cluster Node, O=Proxmox Virtual Environment",
        )
        with pytest.raises(spice_net.TLSVerificationFailed):
            await spice_net.open_channel(
                PSEUDO, 61000, channel_type=ChannelType.MAIN, password="pw", ssl_context=ctx, proxy=proxy
            )
        ctx = spice_net.client_ssl_context(
            ca_data=ca_pem,
            host_subject="O=Proxmox Virtual Environment, OU=PVE Cluster Node, CN=node1.example",
        )
        channel = await spice_net.open_channel(
            PSEUDO, 61000, channel_type=ChannelType.MAIN, password="pw", ssl_context=ctx, proxy=proxy
        )
        async with channel:
            assert isinstance(channel.stream, trio.SSLStream)
            assert await channel.receive() == Ping(7, 8)
        with pytest.raises(ProxyFailed, match="401 invalid ticket"):
            await spice_net.open_channel(
                "pvespiceproxy:bad", 61000, channel_type=ChannelType.MAIN, ssl_context=ctx, proxy=proxy
            )
        nursery.cancel_scope.cancel()
    assert log.targets[:2] == [f"{PSEUDO}:61000"] * 2


@pytest.mark.parametrize(
    ("mode", "match"),
    [("refuse", "refused the tunnel: 403 Forbidden"), ("garbage", "not HTTP")],
)
async def test_refusing_and_garbage_proxies(spice_port: int, mode: str, match: str) -> None:
    async with trio.open_nursery() as nursery:
        proxy = await _start_proxy(nursery, ProxyLog(), mode=mode)
        with trio.fail_after(10), pytest.raises(ProxyFailed, match=match):
            await spice_net.open_channel("127.0.0.1", spice_port, channel_type=ChannelType.MAIN, proxy=proxy)
        nursery.cancel_scope.cancel()


async def _fake_proxy(reply: bytes, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    async def handle(stream: trio.SocketStream) -> None:
        async with stream:
            await stream.receive_some(4096)
            await stream.send_all(reply)
            await trio.sleep(30)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        task_status.started(listeners[0].socket.getsockname()[1])


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * (MAX_REPLY_HEADER + 10), "longer than"),
        (b"HTTP/1.1 200 OK\r\n\r\nREDQ", "4 bytes after its reply"),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", "not HTTP"),
        (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", "502 Bad Gateway"),
        (b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n<html>login</html>", "asks for credentials"),
    ],
)
async def test_hostile_proxy_replies(reply: bytes, match: str) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_fake_proxy, reply)
        with trio.fail_after(10), pytest.raises(ProxyFailed, match=match):
            await spice_net.open_channel(
                "127.0.0.1", 1, channel_type=ChannelType.MAIN, proxy=HttpProxy("127.0.0.1", port), timeout=5
            )
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("host", ["evil\r\nX-Injected: 1", "two words", "", "tab\there", "nul\0"])
async def test_a_host_that_would_break_the_connect_request_never_reaches_the_proxy(host: str) -> None:
    """A migration destination's host comes from the server: CR/LF in it would add header
    lines to our CONNECT request (its Proxy-Authorization travels in the same request)."""
    log = ProxyLog()
    async with trio.open_nursery() as nursery:
        proxy = await _start_proxy(nursery, log)
        with trio.fail_after(10), pytest.raises(spice_net.ConnectFailed, match="not a host name"):
            await spice_net.open_channel(host, 5900, channel_type=ChannelType.MAIN, proxy=proxy, timeout=5)
        nursery.cancel_scope.cancel()
    assert log.targets == []


async def test_silent_proxy_times_out() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_fake_proxy, b"HTTP/1.1 200")
        with trio.fail_after(10), pytest.raises(spice_net.ConnectTimeout):
            await spice_net.open_channel(
                "127.0.0.1", 1, channel_type=ChannelType.MAIN, proxy=HttpProxy("127.0.0.1", port), timeout=0.5
            )
        nursery.cancel_scope.cancel()


async def test_unreachable_proxy() -> None:
    with trio.socket.socket() as s:
        await s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProxyFailed, match="cannot connect to proxy"):
        await spice_net.open_channel(
            "127.0.0.1", 1, channel_type=ChannelType.MAIN, proxy=HttpProxy("127.0.0.1", port)
        )


async def test_unix_channel(tmp_path: Path) -> None:
    path = str(tmp_path / "spice.sock")
    sock = trio.socket.socket(trio.socket.AF_UNIX)
    await sock.bind(path)
    sock.listen()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, _serve_spice, [trio.SocketListener(sock)])
        channel = await open_unix_channel(path, channel_type=ChannelType.MAIN, password="pw")
        async with channel:
            assert await channel.receive() == Ping(7, 8)
        nursery.cancel_scope.cancel()
    with pytest.raises(spice_net.ConnectFailed, match="unix:"):
        await open_unix_channel(str(tmp_path / "none.sock"), channel_type=ChannelType.MAIN)
