"""Free TCP ports on 127.0.0.1 and free X display numbers."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

HOST = "127.0.0.1"


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def listening(port: int, host: str = HOST) -> bool:
    """Whether some socket LISTENs on ``host:port`` (read from /proc, without connecting)."""
    want_addr = socket.inet_aton(host)[::-1].hex().upper()  # /proc prints the u32 in host (little) order
    want = f"{want_addr}:{port:04X}"
    any_addr = f"00000000:{port:04X}"
    for table in ("/proc/net/tcp",):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A" and fields[1] in (want, any_addr):
                return True
    return False


def client_links(port: int, host: str = HOST) -> int:
    """How many ESTABLISHED TCP connections on this machine go to ``host:port`` (from /proc)."""
    want = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[2:4] == [want, "01"])


def free_display(low: int = 100, high: int = 900) -> int:
    """An X display number with neither a socket nor a lock file (random start, to spread parallel runs)."""
    numbers = list(range(low, high))
    random.shuffle(numbers)
    for n in numbers:
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    raise RuntimeError(f"no free X display number in {low}..{high}")
