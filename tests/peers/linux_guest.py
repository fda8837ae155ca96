"""A real Linux guest: Debian's kernel and busybox in an initramfs, booted by QEMU/TCG on QXL.

``guest/build-guest.sh`` makes the initramfs from Debian packages alone
(``linux-image-amd64``, ``busybox-static``, ``cpio``); the console is fbcon on
the QXL card (what SPICE shows and the inputs channel types into), and a
second shell runs on the serial port, reached here through a unix socket, to
check results.
"""

from __future__ import annotations

import glob
import re
import shutil
import socket
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from . import ports, procs
from .require import missing, require_binary

BUILD = Path(__file__).with_name("guest") / "build-guest.sh"
_PROMPT_MARK = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def build_guest(work: Path, extra: Path | None = None) -> Path:
    """Build vmlinuz + initramfs.cpio.gz into ``work`` (``extra`` is copied to /extra in the guest)."""
    if not glob.glob("/boot/vmlinuz-*"):
        missing("no /boot/vmlinuz-* (Debian linux-image-amd64)")
    for tool in ("busybox", "cpio", "gzip"):
        require_binary(tool)
    env = {"W": str(work), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    if extra is not None:
        env["EXTRA"] = str(extra)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sh", str(BUILD)], env=env, check=True, capture_output=True, timeout=120)
    return work


class LinuxGuest:
    """A booted guest: SPICE on ``port``, a serial shell on ``serial_path``."""

    def __init__(self, proc: procs.Proc, port: int, work: Path) -> None:
        self.proc = proc
        self.port = port
        self.work = work
        self.serial_path = work / "serial.sock"
        self.serial_log = work / "serial.log"

    @property
    def uri(self) -> str:
        return f"spice://{ports.HOST}:{self.port}"

    def sh(self, command: str, timeout: float = 60.0) -> str:
        """Run ``command`` on the serial shell; its output (ANSI sequences and CRs removed)."""
        tag = str(time.time_ns())
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.serial_path))
            sock.settimeout(0.5)
            # the markers are split by '' so only the output holds them whole
            sock.sendall(f"echo B''{tag}; {command}; echo E''{tag}\n".encode())
            buf, end = b"", time.monotonic() + timeout
            # the end marker may follow output without a final newline (hexdump's)
            while time.monotonic() < end and f"E{tag}\n".encode() not in buf.replace(b"\r", b""):
                try:
                    buf += sock.recv(65536)
                except TimeoutError:
                    pass
        out = _PROMPT_MARK.sub("", buf.decode(errors="replace").replace("\r", ""))
        found = re.search(rf"\nB{tag}\n(.*?)E{tag}\n", out + "\n", re.S)
        if found is None:
            raise procs.PeerError(
                f"serial shell gave no answer to {command!r} in {timeout} s: {out[-500:]!r}"
            )
        return found.group(1)

    def wait_ready(self, timeout: float = 90.0) -> None:
        procs.wait_until(
            "the guest's GUEST-READY line",
            lambda: self.serial_log.exists() and b"GUEST-READY" in self.serial_log.read_bytes(),
            self.proc,
            timeout=timeout,
            poll=0.2,
        )

    def stop(self) -> None:
        procs.stop(self.proc)
        shutil.rmtree(self.work, ignore_errors=True)


def start_guest(log_dir: Path, extra: Path | None = None, qemu_args: tuple[str, ...] = ()) -> LinuxGuest:
    """Build and boot the guest; return once its serial shell is up."""
    require_binary("qemu-system-x86_64")
    # unix socket paths are limited to 108 bytes: keep them in a short private dir
    work = Path(tempfile.mkdtemp(prefix="guest-", dir="/tmp"))
    build_guest(work, extra)
    port = ports.free_tcp_port()
    argv = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "256"]
    argv += ["-nodefaults", "-no-user-config", "-display", "none", "-vga", "qxl"]
    argv += ["-kernel", str(work / "vmlinuz"), "-initrd", str(work / "initramfs.cpio.gz")]
    argv += ["-append", "console=tty1 console=ttyS0 quiet"]
    argv += [
        "-chardev",
        f"socket,id=ser0,path={work}/serial.sock,server=on,wait=off,logfile={work}/serial.log",
    ]
    argv += ["-serial", "chardev:ser0", "-spice", f"port={port},addr={ports.HOST},disable-ticketing=on"]
    argv += list(qemu_args)
    proc = procs.start(f"guest{port}", argv, log_dir)
    guest = LinuxGuest(proc, port, work)
    try:
        procs.wait_until(f"guest QEMU listening on {port}", partial(ports.listening, port), proc)
        guest.wait_ready()
    except BaseException:
        guest.stop()
        raise
    return guest
