"""Xspice: Xorg with the spiceqxl driver, a real libspice-server, on 127.0.0.1.

The driver takes its settings from ``XSPICE_*``/``QXL_*`` environment variables
(all the ``Xspice`` wrapper script does); Debian's build needs the QXL sizes
given explicitly.  SIGTERM to Xorg shuts it down cleanly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import ports, procs
from .pki import Pki
from .require import require_binary, require_file
from .x11 import XDisplay

XORG = "/usr/lib/xorg/Xorg"
CONFIG = "/etc/X11/spiceqxl.xorg.conf"


@dataclass(frozen=True)
class XspiceOptions:
    """What to enable; ``None`` leaves the server default."""

    password: str | None = None
    image_compression: str | None = None  # off|quic|lz|glz|auto_lz|auto_glz
    streaming_video: str | None = None  # off|all|filter
    jpeg_wan_compression: str | None = None  # auto|never|always
    zlib_glz_wan_compression: str | None = None
    pki: Pki | None = None  # also open a TLS port with these certificates
    extra_env: dict[str, str] = field(default_factory=dict)


class Xspice:
    """A running Xspice: SPICE on ``port`` (and ``tls_port``), X on ``display``."""

    def __init__(self, proc: procs.Proc, display: XDisplay, port: int, tls_port: int | None) -> None:
        self.proc = proc
        self.display = display
        self.port = port
        self.tls_port = tls_port
        self.host = ports.HOST

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def uri(self) -> str:
        """``spice://127.0.0.1:PORT`` (plus ``?tls-port=`` when TLS is on)."""
        uri = f"spice://{self.host}:{self.port}"
        return uri + (f"?tls-port={self.tls_port}" if self.tls_port else "")

    def stop(self) -> None:
        """Stop the X clients, then Xorg (by pid).

        Xorg occasionally hangs on SIGTERM when a SPICE client disconnected a moment
        before; after 2 s it is SIGKILLed and the display's lock and socket removed.
        """
        self.display.stop_clients()
        if procs.stop(self.proc, timeout=2.0) == -signal.SIGKILL:
            for leftover in (f"/tmp/.X{self.display.number}-lock", f"/tmp/.X11-unix/X{self.display.number}"):
                with contextlib.suppress(OSError):
                    os.unlink(leftover)


def _environment(opts: XspiceOptions, port: int, tls_port: int | None) -> dict[str, str]:
    env = {
        "XSPICE_ADDR": ports.HOST,
        "XSPICE_PORT": str(port),
        "QXL_NUM_HEADS": "1",
        "QXL_FRAME_BUFFER_SIZE": "16",
        "QXL_SURFACE_BUFFER_SIZE": "128",
        "QXL_COMMAND_BUFFER_SIZE": "128",
        "QXL_ENABLE_IMAGE_CACHE": "1",
        "QXL_ENABLE_FALLBACK_CACHE": "1",
        "QXL_ENABLE_SURFACES": "1",
        "XSPICE_AGENT_MOUSE": "1",
    }
    if opts.password is None:
        env["XSPICE_DISABLE_TICKETING"] = "1"
    else:
        env["XSPICE_PASSWORD"] = opts.password
    for key, value in (
        ("XSPICE_IMAGE_COMPRESSION", opts.image_compression),
        ("XSPICE_STREAMING_VIDEO", opts.streaming_video),
        ("XSPICE_JPEG_WAN_COMPRESSION", opts.jpeg_wan_compression),
        ("XSPICE_ZLIB_GLZ_WAN_COMPRESSION", opts.zlib_glz_wan_compression),
    ):
        if value is not None:
            env[key] = value
    if opts.pki is not None and tls_port is not None:
        env["XSPICE_TLS_PORT"] = str(tls_port)
        env["XSPICE_X509_DIR"] = str(opts.pki.directory)
    env.update(opts.extra_env)
    return env


def start_xspice(
    options: XspiceOptions | None = None, log_dir: Path | None = None, attempts: int = 3
) -> Xspice:
    """Start Xspice on free ports and a free display; return once SPICE listens and X answers."""
    require_file(XORG)
    require_file(CONFIG)
    require_binary("xdpyinfo")
    opts = options or XspiceOptions()
    logs = log_dir or Path(tempfile.mkdtemp(prefix="xspice-"))
    last: Exception | None = None
    for _ in range(attempts):  # a port or display taken between choosing and binding: try fresh ones
        port = ports.free_tcp_port()
        tls_port = ports.free_tcp_port() if opts.pki is not None else None
        display = XDisplay(ports.free_display(), logs)
        argv = [XORG, "-config", CONFIG, "-noreset", "-nolisten", "tcp"]
        argv += ["-logfile", str(logs / f"Xorg{display.name[1:]}.log"), display.name]
        proc = procs.start(f"xspice{display.name[1:]}", argv, logs, env=_environment(opts, port, tls_port))
        try:
            procs.wait_until(f"Xspice listening on {port}", partial(ports.listening, port), proc)
            if tls_port is not None:
                procs.wait_until(f"Xspice TLS on {tls_port}", partial(ports.listening, tls_port), proc)
            display.wait_ready(proc)
        except procs.PeerError as exc:
            procs.stop(proc)
            last = exc
            continue
        return Xspice(proc, display, port, tls_port)
    raise procs.PeerError(f"Xspice did not start in {attempts} attempts: {last}")
