"""spice_server with SASL logins: PLAIN inside TLS checked by sasl_users, and libsasl2's
mechanisms (sasl_options) on both ports; our client logs in, wrong or missing credentials and
plain TCP without a security layer are refused with one clear error each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_server as ss
import spice_session
import trio
from peers.pki import Pki
from peers.sasl import make_sasldb
from peers.viewers import pattern_frame
from spice_proto import ChannelType, MainInit

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


async def test_libsasl2_logins_on_both_ports(nursery: trio.Nursery, pki: Pki, tmp_path: Path) -> None:
    """sasl_options: DIGEST-MD5 with its security layer over plain TCP, SCRAM inside TLS."""
    db = make_sasldb(tmp_path / "passwd.db", "bob", "d1gest-pw")
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H, 5))
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    options = {"mech_list": "digest-md5 scram-sha-256", "sasldb_path": str(db)}
    server = ss.Server(fb, ssl_context=ctx, sasl_options=options)
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, tls_port=0, task_status=task_status)
    )  # type: ignore[arg-type]
    with trio.fail_after(30):
        async with spice_session.connect(
            f"spice://bob@127.0.0.1:{addr.port}", password="d1gest-pw"
        ) as session:
            assert not session.tls
            shot = await session.screenshot(timeout=20)
            assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])
            # every channel logged in; without TLS only a mechanism with a security layer is
            # offered, and neither side could read the other unwrapped
            assert len(session.opened) >= 3
        uri = f"spice://bob@127.0.0.1?tls-port={addr.tls_port}"
        async with spice_session.connect(uri, password="d1gest-pw", ca_file=pki.ca_file) as session:
            assert session.tls
            shot = await session.screenshot(timeout=20)
            assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])
        for target in (f"spice://bob@127.0.0.1:{addr.port}", f"spice://eve@127.0.0.1:{addr.port}"):
            with pytest.raises(spice_net.AuthenticationFailed, match="SASL") as info:
                async with spice_session.connect(target, password="wrong-pw"):
                    pass
            assert "wrong-pw" not in str(info.value)


async def test_libsasl2_login_over_a_unix_socket(nursery: trio.Nursery, tmp_path: Path) -> None:
    """open_unix_channel logs in with a user name like open_channel: DIGEST-MD5, wrapped."""
    db = make_sasldb(tmp_path / "passwd.db", "bob", "d1gest-pw")
    server = ss.Server(ss.Framebuffer(W, H), sasl_options={"mech_list": "digest-md5", "sasldb_path": str(db)})
    path = str(tmp_path / "spice.sock")
    await nursery.start(lambda task_status: server.serve(port=None, unix_path=path, task_status=task_status))
    with trio.fail_after(30):
        channel = await spice_net.open_unix_channel(
            path, channel_type=ChannelType.MAIN, username="bob", password="d1gest-pw"
        )
        async with channel:
            assert isinstance(await channel.receive(), MainInit)  # through the layer
        with pytest.raises(spice_net.AuthenticationFailed, match="SASL"):
            await spice_net.open_unix_channel(
                path, channel_type=ChannelType.MAIN, username="bob", password="wrong-pw"
            )


async def test_vv_file_with_a_username_logs_in_with_sasl(nursery: trio.Nursery, tmp_path: Path) -> None:
    """A .vv file's ``username`` (as Proxmox/oVirt write it) makes the session log in with SASL."""
    db = make_sasldb(tmp_path / "passwd.db", "dave", "vv-d1gest")
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H, 7))
    server = ss.Server(fb, sasl_options={"mech_list": "digest-md5", "sasldb_path": str(db)})
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    vv = tmp_path / "console.vv"
    vv.write_text(
        f"[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport={addr.port}\nusername=dave\npassword=vv-d1gest\n"
    )
    with trio.fail_after(30):
        async with spice_session.connect(vv) as session:  # the path, as `spice view FILE.vv`
            shot = await session.screenshot(timeout=20)
            assert np.array_equal(shot.to_rgb(), fb.frame[:, :, 2::-1])


async def test_garbage_inside_the_layer_drops_only_that_client(nursery: trio.Nursery, tmp_path: Path) -> None:
    """A logged-in client that sends bytes which are no security-layer record is disconnected;
    the server goes on serving the next login."""
    db = make_sasldb(tmp_path / "passwd.db", "bob", "d1gest-pw")
    server = ss.Server(ss.Framebuffer(W, H), sasl_options={"mech_list": "digest-md5", "sasldb_path": str(db)})
    addr: ss.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    with trio.fail_after(30):
        channel = await spice_net.open_channel(
            "127.0.0.1", addr.port, channel_type=ChannelType.MAIN, username="bob", password="d1gest-pw"
        )
        assert isinstance(await channel.receive(), MainInit)
        raw = channel.stream.inner  # type: ignore[attr-defined]  # beneath the security layer
        await raw.send_all(b"\x00\x00\x00\x40" + b"not a record, no MAC" * 4)

        async def drain() -> None:
            while True:
                await channel.receive()

        with pytest.raises(spice_net.ChannelClosed):
            await drain()  # the server closed on the bad record
        await channel.aclose()
        again = await spice_net.open_channel(
            "127.0.0.1", addr.port, channel_type=ChannelType.MAIN, username="bob", password="d1gest-pw"
        )
        async with again:
            assert isinstance(await again.receive(), MainInit)
