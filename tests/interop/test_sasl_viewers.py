"""remote-viewer logs in with SASL (spice://user@host) to spice_server: PLAIN inside TLS, and
DIGEST-MD5 with its security layer over plain TCP."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import spice_net
import spice_server as ss
import trio
from peers.pki import Pki
from peers.require import require_binary
from peers.sasl import make_sasldb
from peers.xvfb import Xvfb

pytestmark = pytest.mark.interop

COLOUR = (0x31, 0x9A, 0x5C)


def _shows_colour(xvfb: Xvfb, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        shot = xvfb.display.screenshot()
        if int((shot == np.array(COLOUR, np.uint8)).all(axis=2).sum()) > 0.8 * 640 * 480:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize(("password", "shown"), [("s4sl-pw", True), ("not-it", False)])
async def test_remote_viewer_sasl_login(xvfb: Xvfb, pki: Pki, password: str, shown: bool) -> None:
    require_binary("remote-viewer")
    fb = ss.Framebuffer(640, 480)
    fb.update(np.broadcast_to(np.array([*COLOUR[::-1], 0], np.uint8), (480, 640, 4)).copy())
    ctx = spice_net.server_ssl_context(
        str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
    )
    server = ss.Server(fb, ssl_context=ctx, sasl_users={"alice": "s4sl-pw"})
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(partial(server.serve, "127.0.0.1", None, tls_port=0))
        uri = f"spice://alice@127.0.0.1?tls-port={addr.tls_port}&password={password}"
        xvfb.display.start_client("remote-viewer", ["remote-viewer", f"--spice-ca-file={pki.ca_file}", uri])
        seen = await trio.to_thread.run_sync(_shows_colour, xvfb, 30.0 if shown else 5.0)
        assert seen == shown
        assert bool(server.clients) == shown
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(("password", "shown"), [("d1gest-pw", True), ("not-it", False)])
async def test_remote_viewer_digest_md5_over_plain_tcp(
    xvfb: Xvfb, tmp_path: Path, password: str, shown: bool
) -> None:
    """Through libsasl2 on both sides' ends: DIGEST-MD5 with its security layer, no TLS."""
    require_binary("remote-viewer")
    db = make_sasldb(tmp_path / "passwd.db", "alice", "d1gest-pw")
    fb = ss.Framebuffer(640, 480)
    fb.update(np.broadcast_to(np.array([*COLOUR[::-1], 0], np.uint8), (480, 640, 4)).copy())
    server = ss.Server(fb, sasl_options={"mech_list": "digest-md5", "sasldb_path": str(db)})
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(partial(server.serve, "127.0.0.1", 0))
        uri = f"spice://alice@127.0.0.1:{addr.port}?password={password}"
        xvfb.display.start_client("remote-viewer", ["remote-viewer", uri])
        seen = await trio.to_thread.run_sync(_shows_colour, xvfb, 30.0 if shown else 5.0)
        assert seen == shown
        assert bool(server.clients) == shown
        nursery.cancel_scope.cancel()
