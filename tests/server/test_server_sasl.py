"""spice_server with SASL logins (PLAIN inside TLS): our client logs in, wrong or missing
credentials and plain TCP are refused with one clear error each."""

from __future__ import annotations

import numpy as np
import pytest
import spice_net
import spice_server as ss
import spice_session
import trio
from peers.pki import Pki
from peers.viewers import pattern_frame

W, H = 80, 60


async def _serve(nursery: trio.Nursery, pki: Pki) -> tuple[ss.ServerAddress, ss.Framebuffer]:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H, 3))
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    server = ss.Server(fb, ssl_context=ctx, sasl_users={"alice": "s3cret-pw"})
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, tls_port=0, task_status=task_status)
    )  # type: ignore[arg-type]
    return addr, fb


async def test_sasl_login_over_tls(nursery: trio.Nursery, pki: Pki) -> None:
    addr, fb = await _serve(nursery, pki)
    uri = f"spice://alice@127.0.0.1?tls-port={addr.tls_port}&password=s3cret-pw"
    async with spice_session.connect(uri, ca_file=pki.ca_file) as session:
        assert session.tls
        shot = await session.screenshot(timeout=20)
        assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])
        assert session.main.server_common_caps.isdisjoint({1})  # no ticket offered


async def test_sasl_refusals(nursery: trio.Nursery, pki: Pki) -> None:
    addr, _ = await _serve(nursery, pki)
    with trio.fail_after(20):
        with pytest.raises(spice_net.AuthenticationFailed, match="SASL") as info:
            async with spice_session.connect(
                f"spice://alice@127.0.0.1?tls-port={addr.tls_port}", password="wrong-pw", ca_file=pki.ca_file
            ):
                pass
        assert "wrong-pw" not in str(info.value)
        with pytest.raises(spice_net.AuthenticationFailed, match="SASL"):
            async with spice_session.connect(
                f"spice://mallory@127.0.0.1?tls-port={addr.tls_port}",
                password="s3cret-pw",
                ca_file=pki.ca_file,
            ):
                pass
        with pytest.raises(spice_net.AuthenticationFailed, match="give a user name"):
            async with spice_session.connect(
                f"spice://127.0.0.1?tls-port={addr.tls_port}", password="s3cret-pw", ca_file=pki.ca_file
            ):
                pass
        with pytest.raises(spice_net.SpiceNetError, match="over plain TCP"):
            async with spice_session.connect(f"spice://alice@127.0.0.1:{addr.port}", password="s3cret-pw"):
                pass
