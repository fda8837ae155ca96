"""connect() to spice_server the ways real deployments do: through an HTTP proxy
($SPICE_PROXY too), from a .vv file with an inline CA and host subject, over a Unix socket,
with secure-channels forcing TLS."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_server as ss
import spice_session
import trio
from peers.http_proxy import ProxyLog, serve_proxy
from peers.pki import Pki
from peers.viewers import pattern_frame
from spice_proto import ChannelType
from spice_session._connector import PROXY_ENV
from spice_session._vv import KEEP_FILE_ENV

W, H = 160, 120
TICKET = "t1ck3t-0ne-time"


def _server(**kw: object) -> tuple[ss.Server, ss.Framebuffer]:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    return ss.Server(fb, **kw), fb  # type: ignore[arg-type]


async def _serve(
    nursery: trio.Nursery, server: ss.Server, port: int | None = 0, **kw: object
) -> ss.ServerAddress:
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", port, task_status=task_status, **kw)
    )  # type: ignore[arg-type]
    return addr


async def _check_picture(session: spice_session.Session, fb: ss.Framebuffer) -> None:
    shot = await session.screenshot(timeout=20)
    assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])


async def test_through_proxy_every_channel(nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROXY_ENV, raising=False)
    server, fb = _server()
    addr = await _serve(nursery, server)
    log = ProxyLog()
    proxy_port = await nursery.start(partial(serve_proxy, log=log))
    async with spice_session.connect(
        f"spice://127.0.0.1:{addr.port}", proxy=f"http://127.0.0.1:{proxy_port}"
    ) as session:
        await _check_picture(session, fb)
        opened = len(session.opened)
    assert opened >= 3 and log.targets == [f"127.0.0.1:{addr.port}"] * opened


async def test_spice_proxy_environment(nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch) -> None:
    server, fb = _server()
    addr = await _serve(nursery, server)
    log = ProxyLog()
    proxy_port = await nursery.start(partial(serve_proxy, log=log, credentials=("bob", "pw")))
    monkeypatch.setenv(PROXY_ENV, f"http://bob:pw@127.0.0.1:{proxy_port}")
    async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
        await _check_picture(session, fb)
    assert log.targets and log.authorizations[0] is not None
    seen = len(log.targets)
    async with spice_session.connect(f"spice://127.0.0.1:{addr.port}", proxy="") as session:
        await _check_picture(session, fb)
    assert len(log.targets) == seen  # proxy="" went direct
    monkeypatch.setenv(PROXY_ENV, "http://bob:s3cr3t@127.0.0.1:99999")
    with pytest.raises(spice_session.InvalidURI, match=r"\$SPICE_PROXY") as info:
        async with spice_session.connect(f"spice://127.0.0.1:{addr.port}"):
            pass
    assert "s3cr3t" not in str(info.value)


def _vv(pki: Pki, host: str, **keys: object) -> str:
    ca = pki.ca_file.read_text().strip().replace("\n", "\\n")
    lines = ["[virt-viewer]", "type=spice", f"host={host}", f"ca={ca}", f"host-subject={pki.host_subject}"]
    lines += [f"{k.replace('_', '-')}={v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


async def test_vv_file_tls_inline_ca_host_subject_proxy(
    nursery: trio.Nursery, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Proxmox-like file: pseudo host, proxy, tls-port only, inline CA, subject, one-time ticket."""
    monkeypatch.delenv(KEEP_FILE_ENV, raising=False)
    monkeypatch.delenv(PROXY_ENV, raising=False)
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    server, fb = _server(password=TICKET, ssl_context=ctx, secure_only=True)
    addr = await _serve(nursery, server, port=None, tls_port=0)
    pseudo = "pvespiceproxy:6571a2b3:100:node1::0f1e2d3c"
    log = ProxyLog()
    proxy_port = await nursery.start(
        partial(serve_proxy, log=log, routes={pseudo: ("127.0.0.1", addr.tls_port)})
    )
    path = tmp_path / "pve-spice.vv"
    path.write_text(
        _vv(
            pki,
            pseudo,
            tls_port=61000,
            password=TICKET,
            proxy=f"http://127.0.0.1:{proxy_port}",
            delete_this_file=1,
        )
    )
    async with spice_session.connect(str(path)) as session:
        assert session.tls
        await _check_picture(session, fb)
        assert all(isinstance(ch.stream, trio.SSLStream) for ch in session.opened.values())
    assert not path.exists()
    assert set(log.targets) == {f"{pseudo}:61000"}
    assert TICKET not in repr(session.uri) and TICKET not in str(session.uri)


async def test_vv_wrong_subject_is_refused(nursery: trio.Nursery, pki: Pki) -> None:
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    server, _ = _server(ssl_context=ctx)
    addr = await _serve(nursery, server, port=None, tls_port=0)
    vv = spice_session.lowlevel.parse_vv(
        _vv(pki, "127.0.0.1", tls_port=addr.tls_port).replace(pki.host_subject, "CN=someone else")
    )
    with pytest.raises(spice_net.TLSVerificationFailed, match="someone else"):
        async with spice_session.connect(vv):
            pass


async def test_secure_channels_force_tls(nursery: trio.Nursery, pki: Pki) -> None:
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    server, fb = _server(ssl_context=ctx)
    addr = await _serve(nursery, server, tls_port=0)
    text = _vv(pki, "127.0.0.1", port=addr.port, tls_port=addr.tls_port, secure_channels="display")
    async with spice_session.connect(spice_session.lowlevel.parse_vv(text)) as session:
        await _check_picture(session, fb)
        kinds = {key[0]: isinstance(ch.stream, trio.SSLStream) for key, ch in session.opened.items()}
    assert kinds[ChannelType.DISPLAY] and not kinds[ChannelType.MAIN] and not kinds[ChannelType.INPUTS]


async def test_unix_socket(nursery: trio.Nursery, tmp_path: Path) -> None:
    server, fb = _server(password="pw")
    path = str(tmp_path / "spice.sock")
    addr = await _serve(nursery, server, port=None, unix_path=path)
    assert addr.unix_path == path and addr.port is None
    async with spice_session.connect(
        f"spice+unix://{path}?password=pw", proxy="http://127.0.0.1:1"
    ) as session:
        await _check_picture(session, fb)
        assert not session.tls and str(session.uri) == f"spice+unix://{path}"
