"""``spice connect`` as a subprocess: the summary, and each failure's exit code and single line."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import trio
from peers.pki import Pki
from peers.ports import HOST, free_tcp_port
from peers.spice_cli_proc import one_line, spice
from peers.xspice import Xspice

pytestmark = pytest.mark.interop


async def test_summary_against_xspice(xspice: Xspice) -> None:
    xspice.display.start_xterm()
    result = await spice("connect", xspice.uri, "--seconds", "1")
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert out.startswith(f"connected to spice://127.0.0.1:{xspice.port} (plain TCP)\n")
    assert "server common caps: PROTOCOL_AUTH_SELECTION AUTH_SPICE MINI_HEADER" in out
    assert "mouse mode: server (supported: server, client)" in out
    for name in ("display:0", "inputs:0", "cursor:0"):
        assert f"  {name:<12} attached" in out
    assert "  #0 1024x768 FMT_32_xRGB primary (display 0)" in out
    assert "SURFACE_CREATE surface 0\n" in out
    assert "DRAW_" in out.split("first ", 1)[1]


async def test_password_and_tls_summary(xspice_factory: Callable[..., Xspice], pki: Pki) -> None:
    server = xspice_factory(password="sesame", pki=pki)
    uri = f"spice://127.0.0.1?tls-port={server.tls_port}"
    result = await spice(
        "connect", uri, "--password", "sesame", "--ca-file", str(pki.ca_file), "--seconds", "0.5"
    )
    assert result.returncode == 0, result.stderr
    assert "(TLS)" in result.stdout.decode().splitlines()[0]


async def test_refused_port_exit_3() -> None:
    port = free_tcp_port()
    result = await spice("connect", f"spice://127.0.0.1:{port}")
    assert result.returncode == 3
    assert one_line(result).startswith("spice: connection failed: ") and f"127.0.0.1:{port}" in one_line(
        result
    )


async def test_wrong_password_exit_4(xspice_factory: Callable[..., Xspice]) -> None:
    server = xspice_factory(password="sesame")
    result = await spice("connect", server.uri, "--password", "wrong")
    assert result.returncode == 4
    assert one_line(result).startswith("spice: authentication failed: ")
    assert "PERMISSION_DENIED" in one_line(result)


async def test_tls_wrong_ca_exit_5(
    xspice_factory: Callable[..., Xspice], pki_factory: Callable[[], Pki]
) -> None:
    server_pki, other = pki_factory(), pki_factory()
    server = xspice_factory(pki=server_pki)
    result = await spice(
        "connect", f"spice+tls://127.0.0.1:{server.tls_port}", "--ca-file", str(other.ca_file)
    )
    assert result.returncode == 5
    assert one_line(result).startswith("spice: TLS verification failed: ")


async def _serve(handler: Callable[[trio.SocketStream], object], nursery: trio.Nursery) -> int:
    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host=HOST))  # type: ignore[arg-type]
    port: int = listeners[0].socket.getsockname()[1]
    return port


async def test_not_a_spice_server_exit_6() -> None:
    async def http(stream: trio.SocketStream) -> None:
        async with stream:
            try:
                await stream.receive_some(4096)
                await stream.send_all(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except trio.BrokenResourceError:
                pass

    async with trio.open_nursery() as nursery:
        port = await _serve(http, nursery)
        result = await spice("connect", f"spice://127.0.0.1:{port}")
        nursery.cancel_scope.cancel()
    assert result.returncode == 6
    assert one_line(result).startswith("spice: not a SPICE server: ")


async def test_silent_server_times_out_exit_7() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        port = await _serve(silent, nursery)
        start = trio.current_time()
        result = await spice("connect", f"spice://127.0.0.1:{port}", "--timeout", "1")
        elapsed = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert result.returncode == 7
    assert one_line(result).startswith("spice: timed out: ")
    assert elapsed < 30  # it gave up on its own, long before the test's deadline


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["connect", "vnc://127.0.0.1:5900"], "invalid URI: "),
        (["connect", "spice://127.0.0.1"], "invalid URI: "),
        (["connect", "spice://127.0.0.1:1", "--ca-file", "/nonexistent/ca.pem"], "CA file not found"),
        (["connect", "spice://127.0.0.1:1", "--host-subject", "no equals sign"], "invalid host subject"),
    ],
)
async def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = await spice(*args)
    assert result.returncode == 2
    assert one_line(result).startswith("spice: " + message)


async def test_help_documents_the_exit_codes() -> None:
    result = await spice("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    for line in ("3    connection failed", "4    authentication failed", "5    TLS verification failed"):
        assert line in out
    assert "6    the peer is not a SPICE server" in out and "7    timed out" in out
    assert "connect" in out


async def test_no_command_is_a_usage_error() -> None:
    result = await spice()
    assert result.returncode == 2
