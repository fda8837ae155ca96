"""QEMU with a qxl-vga card and no disk (SeaBIOS "No bootable device" screen), SPICE on 127.0.0.1.

Options add the devices whose SPICE channels a client should see: the agent
port (spicevmc ``vdagent``), audio (playback + record) and USB redirection.
A small QMP client over the unix socket takes ``screendump`` ground truth.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import ports, procs
from .pki import Pki
from .require import require_binary
from .x11 import RGBImage

QEMU = "qemu-system-x86_64"


@dataclass(frozen=True)
class QemuOptions:
    password: str | None = None
    image_compression: str | None = None
    streaming_video: str | None = None
    pki: Pki | None = None
    agent: bool = False
    audio: bool = False
    usbredir: bool = False
    #: QXL devices: the first is qxl-vga, each further one a secondary ``qxl`` (its own display channel).
    qxl_devices: int = 1
    #: Appended to the -spice option, e.g. ",tls-channel=main" (needs ``pki``).
    extra_spice: str = ""
    #: More QEMU arguments, e.g. ("-boot", "menu=on").
    extra_args: tuple[str, ...] = ()
    #: More environment variables, e.g. (("SPICE_DEBUG_ALLOW_MC", "1"),).
    env: tuple[tuple[str, str], ...] = ()


class Qmp:
    """A blocking QMP client (one command at a time; events are skipped)."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(path))
        self._file = self._sock.makefile("rwb")
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        line = self._file.readline()
        if not line:
            raise procs.PeerError("QMP socket closed")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def execute(self, command: str, **arguments: Any) -> Any:
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self._file.write(json.dumps(request).encode() + b"\n")
        self._file.flush()
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise procs.PeerError(f"QMP {command}: {reply['error']}")
            return reply.get("return")

    def close(self) -> None:
        self._file.close()
        self._sock.close()


class Qemu:
    """A running QEMU: SPICE on ``port`` (and ``tls_port``), QMP on ``qmp_path``."""

    def __init__(self, proc: procs.Proc, port: int, tls_port: int | None, qmp_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.tls_port = tls_port
        self.qmp_path = qmp_path
        self.host = ports.HOST

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def uri(self) -> str:
        uri = f"spice://{self.host}:{self.port}"
        return uri + (f"?tls-port={self.tls_port}" if self.tls_port else "")

    def qmp(self, command: str, **arguments: Any) -> Any:
        """Run one QMP command on a fresh connection."""
        client = Qmp(self.qmp_path)
        try:
            return client.execute(command, **arguments)
        finally:
            client.close()

    def screendump(self) -> RGBImage:
        """The guest screen as an (height, width, 3) RGB array (QMP ``screendump`` as PNG)."""
        with tempfile.TemporaryDirectory(prefix="qemu-shot-") as tmp:
            path = Path(tmp, "screen.png")
            for _ in range(3):  # a QXL screendump during a mode switch may write nothing (CI saw it once)
                self.qmp("screendump", filename=str(path), format="png")
                for _ in range(50):
                    if path.exists() and path.stat().st_size:
                        break
                    time.sleep(0.1)
                else:
                    continue
                break
            with Image.open(io.BytesIO(path.read_bytes())) as image:
                pixels: RGBImage = np.array(image.convert("RGB"), dtype=np.uint8)
                return pixels

    def stop(self) -> None:
        procs.stop(self.proc)
        shutil.rmtree(self.qmp_path.parent, ignore_errors=True)


def qemu_argv(opts: QemuOptions, port: int, tls_port: int | None, qmp_path: Path) -> list[str]:
    spice = f"port={port},addr={ports.HOST}"
    argv = [QEMU, "-name", "spice-test", "-machine", "pc", "-accel", "tcg", "-m", "128"]
    argv += ["-nodefaults", "-no-user-config", "-display", "none", "-device", "qxl-vga"]
    if opts.password is None:
        spice += ",disable-ticketing=on"
    else:
        argv += ["-object", f"secret,id=spicepw,data={opts.password}"]
        spice += ",password-secret=spicepw"
    if opts.image_compression is not None:
        spice += f",image-compression={opts.image_compression}"
    if opts.streaming_video is not None:
        spice += f",streaming-video={opts.streaming_video}"
    if opts.pki is not None and tls_port is not None:
        spice += f",tls-port={tls_port},x509-dir={opts.pki.directory}"
    argv += ["-spice", spice + opts.extra_spice]
    for _ in range(opts.qxl_devices - 1):
        argv += ["-device", "qxl"]
    if opts.agent:
        argv += ["-device", "virtio-serial", "-chardev", "spicevmc,id=vdagent,name=vdagent"]
        argv += ["-device", "virtserialport,chardev=vdagent,name=com.redhat.spice.0"]
    if opts.audio:
        argv += ["-audiodev", "spice,id=snd0", "-device", "intel-hda", "-device", "hda-duplex,audiodev=snd0"]
    if opts.usbredir:
        argv += ["-chardev", "spicevmc,id=usbredir0,name=usbredir"]
        argv += ["-device", "qemu-xhci", "-device", "usb-redir,chardev=usbredir0"]
    argv += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    return argv + list(opts.extra_args)


def start_qemu(options: QemuOptions | None = None, log_dir: Path | None = None, attempts: int = 3) -> Qemu:
    """Start QEMU on free ports; return once SPICE listens and the QMP socket exists."""
    require_binary(QEMU)
    opts = options or QemuOptions()
    logs = log_dir or Path(tempfile.mkdtemp(prefix="qemu-"))
    # unix socket paths are limited to 108 bytes: keep the socket in a short private dir
    sock_dir = Path(tempfile.mkdtemp(prefix="qmp-", dir="/tmp"))
    last: Exception | None = None
    for attempt in range(attempts):
        port = ports.free_tcp_port()
        tls_port = ports.free_tcp_port() if opts.pki is not None else None
        qmp_path = sock_dir / f"qmp{attempt}.sock"
        proc = procs.start(f"qemu{port}", qemu_argv(opts, port, tls_port, qmp_path), logs, env=dict(opts.env))
        try:
            procs.wait_until(f"QEMU listening on {port}", partial(ports.listening, port), proc)
            if tls_port is not None:
                procs.wait_until(f"QEMU TLS on {tls_port}", partial(ports.listening, tls_port), proc)
            procs.wait_until(f"QMP socket {qmp_path}", qmp_path.exists, proc)
        except procs.PeerError as exc:
            procs.stop(proc)
            last = exc
            continue
        return Qemu(proc, port, tls_port, qmp_path)
    raise procs.PeerError(f"QEMU did not start in {attempts} attempts: {last}")
