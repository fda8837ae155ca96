"""Things shared by every X display the rig runs (Xspice, Xvfb): readiness, clients, screenshots."""

from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from . import procs
from .require import require_binary

RGBImage = npt.NDArray[np.uint8]


class XDisplay:
    """An X display ``:N`` owned by the rig, with a log dir for its clients."""

    def __init__(self, number: int, log_dir: Path) -> None:
        self.number = number
        self.name = f":{number}"
        self.log_dir = log_dir
        self.clients: list[procs.Proc] = []

    @property
    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.name}

    def answers(self) -> bool:
        """Whether ``xdpyinfo`` can talk to the display."""
        result = subprocess.run(
            ["xdpyinfo", "-display", self.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return result.returncode == 0

    def wait_ready(self, server: procs.Proc, timeout: float = 15.0) -> None:
        socket = Path(f"/tmp/.X11-unix/X{self.number}")
        procs.wait_until(f"X socket {socket}", socket.exists, server, timeout)
        procs.wait_until(f"xdpyinfo on {self.name}", self.answers, server, timeout, poll=0.05)

    def run(self, argv: list[str], timeout: float = 10.0) -> subprocess.CompletedProcess[bytes]:
        """Run a short X command (xdotool, xwd...) on this display and wait for it."""
        return subprocess.run(
            argv,
            env={**_base_env(), **self.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=True,
        )

    def start_client(self, name: str, argv: list[str]) -> procs.Proc:
        """Start a long-running X client on this display; it is stopped with the display."""
        proc = procs.start(f"{name}-{len(self.clients)}", argv, self.log_dir, env=self.env)
        self.clients.append(proc)
        return proc

    def start_xterm(
        self, command: str | None = None, *, title: str = "rig-xterm", geometry: str = "80x24+10+10"
    ) -> procs.Proc:
        """An xterm (white background) running ``/bin/sh -c command``, or a sleeping shell."""
        require_binary("xterm")
        shell = command if command is not None else "exec sleep infinity"
        argv = ["xterm", "-geometry", geometry, "-bg", "white", "-fg", "black", "-T", title]
        return self.start_client("xterm", [*argv, "-e", "/bin/sh", "-c", shell])

    def copy_text(self, path: Path) -> procs.Proc:
        """xclip owns CLIPBOARD on this display with the UTF-8 text of ``path`` (until replaced)."""
        require_binary("xclip")
        argv = ["xclip", "-quiet", "-selection", "clipboard", "-t", "UTF8_STRING", "-i", str(path)]
        return self.start_client("xclip", argv)

    def start_xclock(self, geometry: str = "200x200+600+50") -> procs.Proc:
        require_binary("xclock")
        return self.start_client("xclock", ["xclock", "-geometry", geometry, "-update", "1"])

    def window_ids(self, title: str) -> list[str]:
        """Ids of the mapped windows whose name matches ``title`` (xdotool search), maybe empty."""
        result = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title],
            env={**_base_env(), **self.env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
        return result.stdout.decode().split()

    def wait_window(self, title: str, timeout: float = 15.0) -> str:
        """Wait until a window called ``title`` is mapped; its id."""
        require_binary("xdotool")
        found: list[str] = []

        def ready() -> bool:
            found[:] = self.window_ids(title)
            return bool(found)

        procs.wait_until(f"window {title!r} on {self.name}", ready, timeout=timeout, poll=0.05)
        return found[0]

    def screenshot(self) -> RGBImage:
        """The whole root window via ``xwd -root``, as an (height, width, 3) RGB array.

        xwd once exited 1 on a busy Xvfb in a full CI run (its message was not kept): it is
        tried three times, and the last failure says what xwd printed."""
        require_binary("xwd")
        for attempt in range(3):
            try:
                return parse_xwd(self.run(["xwd", "-root", "-silent"]).stdout)
            except subprocess.CalledProcessError as exc:
                if attempt == 2:
                    said = exc.stderr.decode(errors="replace").strip()
                    raise RuntimeError(f"xwd -root on {self.name} failed 3 times: {said}") from exc
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def stop_clients(self) -> None:
        for proc in reversed(self.clients):
            procs.stop(proc)
        self.clients.clear()


def _base_env() -> dict[str, str]:
    return dict(os.environ)


_XWD_HEADER = struct.Struct(">25I")


def parse_xwd(data: bytes) -> RGBImage:
    """Decode an XWD (version 7) ZPixmap of a TrueColor visual, 24 or 32 bits per pixel, into RGB."""
    if len(data) < _XWD_HEADER.size:
        raise ValueError(f"xwd data too short ({len(data)} bytes)")
    h = _XWD_HEADER.unpack_from(data)
    header_size, version, pixmap_format, _depth, width, height = h[:6]
    byte_order, bits_per_pixel, bytes_per_line = h[7], h[11], h[12]
    red_mask, green_mask, blue_mask, ncolors = h[14], h[15], h[16], h[19]
    if version != 7 or pixmap_format != 2:
        raise ValueError(f"unsupported xwd (version {version}, format {pixmap_format})")
    if bits_per_pixel not in (24, 32):
        raise ValueError(f"unsupported xwd bits per pixel {bits_per_pixel}")
    start = header_size + 12 * ncolors
    end = start + bytes_per_line * height
    if len(data) < end:
        raise ValueError(f"xwd pixel data truncated: {len(data)} < {end}")
    rows = np.frombuffer(data, np.uint8, bytes_per_line * height, start).reshape(height, bytes_per_line)
    step = bits_per_pixel // 8
    px = rows[:, : width * step].reshape(height, width, step).astype(np.uint32)
    if byte_order == 0:  # LSBFirst
        value = sum(px[:, :, i] << (8 * i) for i in range(step))
    else:
        value = sum(px[:, :, i] << (8 * (step - 1 - i)) for i in range(step))
    out = np.empty((height, width, 3), np.uint8)
    for channel, mask in enumerate((red_mask, green_mask, blue_mask)):
        shift = (mask & -mask).bit_length() - 1
        out[:, :, channel] = (value & mask) >> shift
    return out
