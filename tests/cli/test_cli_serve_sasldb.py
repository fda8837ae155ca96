"""``spice serve --sasldb PATH``: SASL logins through libsasl2, DIGEST-MD5 (encrypted) on the
plain port and SCRAM inside TLS; a wrong password is exit code 4, a missing file a usage error."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import trio
from peers.pki import Pki
from peers.sasl import make_sasldb

SECRET = "s4sldb-pw"


async def spice(*args: str) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(60):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args], capture_stdout=True, capture_stderr=True, check=False
        )


async def test_serve_with_a_sasldb(pki: Pki, tmp_path: Path) -> None:
    db = make_sasldb(tmp_path / "users.db", "carol", SECRET)
    tls = [
        "--tls-cert",
        str(pki.directory / "server-cert.pem"),
        "--tls-key",
        str(pki.directory / "server-key.pem"),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "spice_cli", "serve", "--listen", "127.0.0.1:0", "--sasldb", str(db), *tls],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"(SASL: the users of {db})" in line, line
        found = re.search(r"port=(\d+)&tls-port=(\d+)", line)
        assert found, line
        port, tls_port = found.groups()
        for uri, extra in [
            (f"spice://carol@127.0.0.1:{port}", []),
            (f"spice://carol@127.0.0.1?tls-port={tls_port}", ["--ca-file", str(pki.ca_file)]),
        ]:
            out = tmp_path / "shot.png"
            ok = await spice("screenshot", uri, str(out), "--password", SECRET, *extra)
            assert ok.returncode == 0, ok.stderr
            assert out.stat().st_size > 1000
            out.unlink()
        bad = await spice("screenshot", f"spice://carol@127.0.0.1:{port}", str(out), "--password", "nope")
        assert bad.returncode == 4 and "SASL" in bad.stderr.decode(), bad.stderr
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    missing = await spice("serve", "--listen", "127.0.0.1:0", "--sasldb", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "saslpasswd2" in missing.stderr.decode()
