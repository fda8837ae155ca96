"""The spice command with .vv files, spice+unix:// URIs, --proxy and ``spice serve --unix``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import trio
from peers.http_proxy import ProxyLog, serve_proxy
from peers.pki import Pki

TICKET = "cli-t1cket-0815"


async def spice(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(timeout):
        return await trio.run_process(
            [sys.executable, "-m", "spice_cli", *args],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=env,
        )


@pytest.fixture
def unix_server(tmp_path: Path) -> Iterator[str]:
    """``spice serve --unix PATH --password TICKET`` (demo scene), stopped by pid."""
    path = str(tmp_path / "serve.sock")
    proc = subprocess.Popen(
        [sys.executable, "-m", "spice_cli", "serve", "--unix", path, "--password", TICKET],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"serving 1024x768 on spice+unix://{path} (password required"), line
        yield path
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_screenshot_over_unix_socket(unix_server: str, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    result = await spice("screenshot", f"spice+unix://{unix_server}", str(out), "--password", TICKET)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000


async def test_connect_with_vv_file_deleted_after(unix_server: str, tmp_path: Path) -> None:
    vv = tmp_path / "console.vv"
    vv.write_text(
        f"[virt-viewer]\ntype=spice\nunix-path={unix_server}\npassword={TICKET}\ndelete-this-file=1\n"
        "title=demo\n[ovirt]\nhost=https://engine\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRT_VIEWER_KEEP_FILE"}
    result = await spice("connect", str(vv), "--seconds", "0.3", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith(f"connected to spice+unix://{unix_server} (Unix socket)")
    assert TICKET.encode() not in result.stdout + result.stderr
    assert not vv.exists()


async def test_broken_vv_file_is_one_usage_line(tmp_path: Path) -> None:
    vv = tmp_path / "broken.vv"
    vv.write_text(f"[virt-viewer]\ntype=spice\nhost=h\nport=59x0\npassword={TICKET}\n")
    result = await spice("screenshot", str(vv), str(tmp_path / "x.png"))
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err == f"spice: invalid URI: {vv}: line 4: key 'port' is not an integer '59x0'\n"
    assert TICKET not in err


async def test_password_in_uri_warns_without_showing_it() -> None:
    result = await spice(
        "connect", f"spice+unix:///nonexistent/spice.sock?password={TICKET}", "--timeout", "5"
    )
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert "a password in the URI may be visible in process listings" in err
    assert TICKET not in err


async def test_proxy_option() -> None:
    """--proxy with credentials: a refusing proxy is a connection failure naming it, credentials hidden."""
    log = ProxyLog()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_proxy, log=log, mode="refuse"))
        result = await spice(
            "connect", "spice://127.0.0.1:5999", "--proxy", f"http://bob:{TICKET}@127.0.0.1:{port}"
        )
        nursery.cancel_scope.cancel()
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert (
        err
        == f"spice: connection failed: proxy http://***@127.0.0.1:{port} refused the tunnel: 403 Forbidden\n"
    )
    assert log.targets == ["127.0.0.1:5999"] and log.authorizations[0] is not None
    bad = await spice("connect", "spice://127.0.0.1:5999", "--proxy", f"ftp://bob:{TICKET}@h")
    assert bad.returncode == 2 and TICKET not in bad.stderr.decode()
    assert "only http:// proxies" in bad.stderr.decode()


async def test_serve_with_sasl_user(pki: Pki, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            *[sys.executable, "-m", "spice_cli", "serve", "--listen", "127.0.0.1:0"],
            *["--sasl-user", "alice", "--password", TICKET],
            *[
                "--tls-cert",
                str(pki.directory / "server-cert.pem"),
                "--tls-key",
                str(pki.directory / "server-key.pem"),
            ],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "(SASL: user alice with the password from --password)" in line and TICKET not in line, line
        found = re.search(r"tls-port=(\d+)", line)
        assert found, line
        uri = f"spice://alice@127.0.0.1?tls-port={found.group(1)}"
        out = tmp_path / "sasl.png"
        ok = await spice("screenshot", uri, str(out), "--password", TICKET, "--ca-file", str(pki.ca_file))
        assert ok.returncode == 0, ok.stderr
        assert out.stat().st_size > 1000
        bad = await spice("screenshot", uri, str(out), "--password", "nope", "--ca-file", str(pki.ca_file))
        assert bad.returncode == 4, bad.stderr
        assert (
            bad.stderr.decode().startswith("spice: authentication failed: ") and "SASL" in bad.stderr.decode()
        )
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
