"""Packet captures with tshark on the loopback interface, and checking them with its SPICE dissector."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from . import procs
from .require import require_binary


class Capture:
    """A running ``tshark -i lo`` writing the packets of one TCP port to ``path``."""

    def __init__(self, proc: procs.Proc, path: Path, port: int) -> None:
        self.proc = proc
        self.path = path
        self.port = port

    def stop(self) -> None:
        """End the capture; a capture the kernel dropped packets from is refused (its
        dissection would blame our bytes for the holes)."""
        procs.stop(self.proc)
        dropped = re.search(r"(\d+) packets? dropped", self.proc.log_tail())
        if dropped and int(dropped.group(1)) > 0:
            raise RuntimeError(f"capture {self.path} is incomplete: {dropped.group(0)} (capture buffer)")


def start_capture(port: int, log_dir: Path) -> Capture:
    """Capture TCP ``port`` on lo into ``log_dir/capture-PORT.pcap``; returns once tshark captures."""
    require_binary("tshark")
    path = log_dir / f"capture-{port}.pcap"
    # a 64 MiB capture buffer: uncompressed pictures arrive in bursts faster than a busy
    # dumpcap writes them, and the default 2 MiB dropped the link of a channel once in CI
    argv = ["tshark", "-i", "lo", "-B", "64", "-f", f"tcp port {port}", "-w", str(path)]
    proc = procs.start(f"tshark-{port}", argv, log_dir)
    procs.wait_until("tshark capturing", lambda: "Capturing on" in proc.log_tail(), proc, timeout=20)
    return Capture(proc, path, port)


def tshark_read(path: Path, port: int, *args: str) -> str:
    """``tshark -r path -d tcp.port==PORT,spice ARGS`` and its standard output."""
    argv = ["tshark", "-r", str(path), "-d", f"tcp.port=={port},spice", *args]
    result = subprocess.run(argv, capture_output=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    return result.stdout.decode(errors="replace")
