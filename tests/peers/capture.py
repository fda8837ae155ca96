"""Packet captures with tshark on the loopback interface, and checking them with its SPICE dissector."""

from __future__ import annotations

import re
import socket
import struct
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
    """Capture TCP ``port`` on lo into ``log_dir/capture-PORT.pcap``; returns once packets
    are really being captured (tshark says "Capturing on" a little before: a session started
    right after lost its first packets, and the dissector then misread every channel)."""
    require_binary("tshark")
    path = log_dir / f"capture-{port}.pcap"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))  # ours while the capture starts: nothing else gets them
        probe_port = probe.getsockname()[1]
        # a 64 MiB capture buffer: uncompressed pictures arrive in bursts faster than a busy
        # dumpcap writes them
        bpf = f"tcp port {port} or (udp and dst port {probe_port})"
        argv = ["tshark", "-i", "lo", "-B", "64", "-f", bpf, "-w", str(path)]
        proc = procs.start(f"tshark-{port}", argv, log_dir)
        procs.wait_until("tshark capturing", lambda: "Capturing on" in proc.log_tail(), proc, timeout=20)

        def probe_captured() -> bool:
            probe.sendto(b"capture probe", ("127.0.0.1", probe_port))
            return _packets_written(path) > 0

        procs.wait_until("the capture's first probe", probe_captured, proc, timeout=30, poll=0.02)
    return Capture(proc, path, port)


def _packets_written(path: Path) -> int:
    """Packet blocks dumpcap has written to the pcapng file so far (a partial last block aside)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    count = offset = 0
    while offset + 12 <= len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        if length < 12 or offset + length > len(data):
            break
        count += kind in (3, 6)  # simple and enhanced packet blocks
        offset += length
    return count


def tshark_read(path: Path, port: int, *args: str) -> str:
    """``tshark -r path -d tcp.port==PORT,spice ARGS`` and its standard output."""
    argv = ["tshark", "-r", str(path), "-d", f"tcp.port=={port},spice", *args]
    result = subprocess.run(argv, capture_output=True, timeout=120, check=True, stdin=subprocess.DEVNULL)
    return result.stdout.decode(errors="replace")
