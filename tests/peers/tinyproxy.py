"""Debian's tinyproxy as a real HTTP CONNECT proxy on 127.0.0.1 (foreground, stopped by pid)."""

from __future__ import annotations

from pathlib import Path

from . import ports, procs
from .require import require_binary


class Tinyproxy:
    """A running tinyproxy on ``port``; ``credentials`` (user, password) when it asks for Basic auth."""

    def __init__(self, proc: procs.Proc, port: int, credentials: tuple[str, str] | None) -> None:
        self.proc = proc
        self.port = port
        self.credentials = credentials

    @property
    def url(self) -> str:
        """The proxy URL, with the credentials when there are any."""
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"http://{auth}{ports.HOST}:{self.port}"

    def stop(self) -> None:
        procs.stop(self.proc)


def start_tinyproxy(log_dir: Path, credentials: tuple[str, str] | None = None) -> Tinyproxy:
    """Start tinyproxy allowing CONNECT from 127.0.0.1 to any port (``BasicAuth`` with ``credentials``)."""
    binary = require_binary("tinyproxy")
    log_dir.mkdir(parents=True, exist_ok=True)
    port = ports.free_tcp_port()
    conf = log_dir / f"tinyproxy-{port}.conf"
    lines = [
        f"Port {port}",
        f"Listen {ports.HOST}",
        "Timeout 60",
        "MaxClients 20",
        "LogLevel Info",
        f"Allow {ports.HOST}",
        # no ConnectPort line: CONNECT to every port is allowed
    ]
    if credentials is not None:
        lines.append(f"BasicAuth {credentials[0]} {credentials[1]}")
    conf.write_text("\n".join(lines) + "\n")
    proc = procs.start(f"tinyproxy-{port}", [binary, "-d", "-c", str(conf)], log_dir)
    try:
        procs.wait_until(f"tinyproxy listening on {port}", lambda: ports.listening(port), proc)
    except BaseException:
        procs.stop(proc)
        raise
    return Tinyproxy(proc, port, credentials)
