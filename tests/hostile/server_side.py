"""What the server-hardening tests share: a served spice_server, TLS files, a timed real client, RSS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import spice_server as ss
import spice_session
import trio
from peers.pki import make_pki
from spice_net import server_ssl_context

TESTS = Path(__file__).resolve().parents[1]
PASSWORD = "sesame"


def attacker_tls() -> ssl.SSLContext:
    """A TLS client context that trusts anything (attackers do not verify)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rss_mb() -> float:
    """This process's resident set size now, in MiB (``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass(frozen=True)
class Served:
    """A running server and how to reach it (``port`` is the TLS port when ``ca_file`` is set)."""

    server: ss.Server
    port: int
    ca_file: Path | None

    def uri(self, password: str | None = PASSWORD) -> str:
        where = (
            f"spice://127.0.0.1?tls-port={self.port}" if self.ca_file else f"spice://127.0.0.1:{self.port}"
        )
        if password is None:
            return where
        return where + ("&" if self.ca_file else "?") + f"password={password}"


@asynccontextmanager
async def serving(tmp_path: Path, *, tls: bool = False, **options: object) -> AsyncIterator[Served]:
    """A :class:`spice_server.Server` (``options`` passed on) on 127.0.0.1, plain or TLS only."""
    ctx: ssl.SSLContext | None = None
    ca_file = None
    if tls:
        pki = make_pki(tmp_path / "pki")
        ctx = server_ssl_context(
            str(pki.directory / "server-cert.pem"), str(pki.directory / "server-key.pem")
        )
        ca_file = pki.ca_file
    server = ss.Server(ss.Framebuffer(64, 48), ssl_context=ctx, **options)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        serve = partial(server.serve, "127.0.0.1", None if tls else 0, tls_port=0 if tls else None)
        addr: ss.ServerAddress = await nursery.start(serve)
        port = addr.tls_port if tls else addr.port
        assert port is not None
        yield Served(server, port, ca_file)
        nursery.cancel_scope.cancel()


async def settle(server: ss.Server, pending: int = 0, timeout: float = 1.0) -> None:
    """Wait until the server counts ``pending`` links (it closes a socket just before it forgets it)."""
    with trio.fail_after(timeout):
        while server.pending_links != pending:
            await trio.sleep(0.01)


async def time_real_client(served: Served, password: str | None = PASSWORD, timeout: float = 10.0) -> float:
    """Seconds a spice_session client needs to link and authenticate every channel (then it leaves)."""
    began = trio.current_time()
    async with spice_session.connect(
        served.uri(password), ca_file=served.ca_file, timeout=timeout
    ) as session:
        took = trio.current_time() - began
        assert session.channels, "the session opened no channel"
    return took


@asynccontextmanager
async def evil_subprocess(port: int, *args: str) -> AsyncIterator[trio.Process]:
    """``python -m hostile.evil_client PORT ARGS`` running (and ready) until the block ends."""
    async with trio.open_nursery() as nursery:
        cmd = [sys.executable, "-m", "hostile.evil_client", str(port), *args]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
        proc: trio.Process = await nursery.start(
            partial(trio.run_process, cmd, stdout=subprocess.PIPE, check=False, cwd=TESTS, env=env)
        )
        assert proc.stdout is not None
        with trio.fail_after(30):
            seen = b""
            while b"ready\n" not in seen:
                chunk = await proc.stdout.receive_some()
                assert chunk, f"the evil client ended before it was ready: {seen!r}"
                seen += chunk
        nursery.start_soon(_drain, proc.stdout)
        try:
            yield proc
        finally:
            nursery.cancel_scope.cancel()


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some():
        pass
