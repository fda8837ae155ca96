"""Key press to changed pixels on the screen: our server's demo through ``spice view`` and
through ``remote-viewer``, in the same run.

An Xvfb display shows the viewer; the demo (``spice_server.DemoSource`` served in this
process) types each key into its text panel.  The viewer's picture is found on the screen
by an exact match of the demo's title row, so the text panel's place on the screen is known.
Each sample: XTEST presses and releases a letter (libXtst, no subprocess in between), then
the panel's pixels are read (XGetImage) every 0.5 ms until they change.  Prints the median
and 90th percentile in ms per viewer.  Asserts nothing about speed.

    python tools/bench_latency.py [--samples 20]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import trio
from spice_server import DemoSource, Server

XVFB_SIZE = (1280, 900)
SPICE = str(Path(sys.executable).with_name("spice"))
KEYS = "abcdefghijklmnopqrstuvwxyz"


class _XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
    ]


class X:
    """The few Xlib/XTEST calls the measurement needs."""

    def __init__(self, display: str) -> None:
        self.xlib = ctypes.CDLL("libX11.so.6")
        self.xtst = ctypes.CDLL("libXtst.so.6")
        self.xlib.XOpenDisplay.restype = ctypes.c_void_p
        self.xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.xlib.XDefaultRootWindow.restype = ctypes.c_ulong
        self.xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.xlib.XGetImage.restype = ctypes.POINTER(_XImage)
        self.xlib.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.c_int] * 2
        self.xlib.XGetImage.argtypes += [ctypes.c_uint] * 2 + [ctypes.c_ulong, ctypes.c_int]
        self.xlib.XFree.argtypes = [ctypes.c_void_p]
        self.xlib.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.xlib.XStringToKeysym.restype = ctypes.c_ulong
        self.xlib.XStringToKeysym.argtypes = [ctypes.c_char_p]
        self.xlib.XFlush.argtypes = [ctypes.c_void_p]
        self.xlib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.xtst.XTestFakeMotionEvent.argtypes += [ctypes.c_ulong]
        self.xtst.XTestFakeButtonEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_ulong,
        ]
        self.dpy = self.xlib.XOpenDisplay(display.encode())
        if not self.dpy:
            raise RuntimeError(f"cannot open X display {display}")
        self.root = self.xlib.XDefaultRootWindow(self.dpy)

    def grab(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """(h, w, 3) B, G, R of the screen area."""
        img = self.xlib.XGetImage(self.dpy, self.root, x, y, w, h, 0xFFFFFFFF, 2)  # ZPixmap
        if not img:
            raise RuntimeError("XGetImage failed")
        i = img.contents
        raw = np.ctypeslib.as_array(i.data, (i.bytes_per_line * h,)).reshape(h, i.bytes_per_line)
        out = raw[:, : 4 * w].reshape(h, w, 4)[:, :, :3].copy()
        self.xlib.XFree(i.data)
        self.xlib.XFree(img)
        return out

    def click(self, x: int, y: int) -> None:
        """Move the pointer there and click (the viewer then has the keyboard: no window manager runs)."""
        self.xtst.XTestFakeMotionEvent(self.dpy, -1, x, y, 0)
        self.xtst.XTestFakeButtonEvent(self.dpy, 1, 1, 0)
        self.xtst.XTestFakeButtonEvent(self.dpy, 1, 0, 0)
        self.xlib.XFlush(self.dpy)

    def key(self, name: str) -> None:
        code = self.xlib.XKeysymToKeycode(self.dpy, self.xlib.XStringToKeysym(name.encode()))
        self.xtst.XTestFakeKeyEvent(self.dpy, code, 1, 0)
        self.xtst.XTestFakeKeyEvent(self.dpy, code, 0, 0)
        self.xlib.XFlush(self.dpy)


def find(screen: np.ndarray, row: np.ndarray) -> tuple[int, int] | None:
    """Where ``row`` (1, w, 3) appears exactly on ``screen`` (its left end), if anywhere."""
    needle = row.tobytes()
    for y in range(screen.shape[0]):
        line = screen[y].tobytes()
        at = line.find(needle)
        while at >= 0 and at % 3:
            at = line.find(needle, at + 1)
        if at >= 0:
            return at // 3, y
    return None


def focus(window_class: str, env: dict[str, str]) -> None:
    """Give the viewer's window the keyboard focus (there is no window manager to do it)."""
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--class", window_class],
        env=env,
        capture_output=True,
        text=True,
    )
    for wid in found.stdout.split():
        subprocess.run(["xdotool", "windowfocus", wid], env=env, capture_output=True, timeout=5)


def measure(x: X, demo: DemoSource, samples: int) -> list[float] | str:
    frame = demo.frame[:, :, :3]
    title = demo.layout.title
    # a title row with text on it: the most distinct colours
    rows = range(title.top + 2, title.bottom - 2)
    y0 = max(rows, key=lambda y: len(np.unique(frame[y, 16:336].reshape(-1, 3), axis=0)))
    deadline = time.monotonic() + 20
    at = None
    while at is None:
        if time.monotonic() > deadline:
            return "the demo's picture was not found on the screen"
        at = find(x.grab(0, 0, *XVFB_SIZE), frame[y0 : y0 + 1, 16:336])
        time.sleep(0.2)
    ox, oy = at[0] - 16, at[1] - y0
    panel = demo.layout.text
    px, py, pw, ph = ox + panel.left, oy + panel.top, panel.width, panel.height
    x.click(px + pw // 2, py + ph - 4)
    out: list[float] = []
    for i in range(samples + 2):
        time.sleep(0.15)
        before = x.grab(px, py, pw, ph)
        t0 = time.perf_counter()
        x.key(KEYS[i % len(KEYS)])
        while True:
            now = x.grab(px, py, pw, ph)
            if not np.array_equal(now, before):
                break
            if time.perf_counter() - t0 > 2.0:
                return "a key press did not change the text panel within 2 s"
            time.sleep(0.0005)
        if i >= 2:  # the first two warm up the path
            out.append(1000 * (time.perf_counter() - t0))
    return out


async def bench(args: argparse.Namespace) -> None:
    print(f"\nkey press -> changed pixels on the screen (our server's demo, Xvfb), {args.samples} samples")
    if shutil.which("Xvfb") is None:
        print("skipped: no Xvfb")
        return
    demo = DemoSource()
    server = Server(demo)
    number = next(n for n in range(700, 999) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    size = f"{XVFB_SIZE[0]}x{XVFB_SIZE[1]}x24"
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", size, "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
            await trio.sleep(0.05)
        env = {**os.environ, "DISPLAY": f":{number}", "SDL_AUDIODRIVER": "dummy"}
        x = X(f":{number}")
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            nursery.start_soon(demo.consume, server.input_events())  # keys type into the panel
            uri = f"spice://127.0.0.1:{addr.port}"
            viewers = [("spice view", "spice-view", [SPICE, "view", "--no-audio", "--no-resize-guest", uri])]
            if shutil.which("remote-viewer"):
                viewers.append(("remote-viewer", "remote-viewer", ["remote-viewer", uri]))
            print(f"{'viewer':<16} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}")
            for name, window_class, argv in viewers:
                viewer = subprocess.Popen(
                    argv,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    await trio.sleep(3.0)
                    if shutil.which("xdotool"):
                        focus(window_class, env)
                    result = await trio.to_thread.run_sync(measure, x, demo, args.samples)
                finally:
                    viewer.send_signal(signal.SIGTERM)
                    viewer.wait()
                if isinstance(result, str):
                    print(f"{name:<16} failed: {result}")
                    continue
                q = statistics.quantiles(result, n=10)
                print(f"{name:<16} {statistics.median(result):>10.1f} {q[-1]:>8.1f} {min(result):>8.1f}")
            nursery.cancel_scope.cancel()
    finally:
        xvfb.terminate()
        xvfb.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20, help="key presses per viewer (default 20)")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    trio.run(bench, args)


if __name__ == "__main__":
    main()
