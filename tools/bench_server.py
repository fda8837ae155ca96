"""spice_server throughput: full-screen 1080p updates per image compression, and our server
against Xspice serving the same scripted animation to the same headless client.

Each server runs in its own process; its CPU time comes from /proc/<pid>/stat (utime + stime).

1. Per compression path (off, quic, lz, glz, auto_glz): a 1920x1080 source whose whole frame
   changes continuously (it cycles through pre-rendered demo frames); one client reads
   as fast as it can (ACKing, not decoding).  Prints full frames/s and server CPU ms per frame.
2. The same animation (pre-rendered 640x480 plasma frames at 25 frames/s, on a 1024x768
   screen) served by our server (the frames go into a Framebuffer) and by Xspice (a Tk window
   puts the frames on its X screen); the same spice_session client, decoding everything,
   watches each for the same time.  Prints each server's CPU seconds side by side (Xspice:
   the Xorg process; the Tk client drawing into it is listed apart) and their ratio.
3. Without I/O (in this process): the 1080p source of 1. through one client's display pipeline
   (messages and their wire bytes) per compression; CPU ms per frame and the codecs' share of it.

Prints tables; asserts nothing about speed.

    python tools/bench_server.py [--seconds 5] [--skip-xspice]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import spice_glz
import spice_lz
import spice_quic
import spice_session as ss
import trio
from spice_net import open_channel
from spice_proto import (
    ChannelType,
    DisplayDrawCopy,
    DisplayInit,
    MainAttachChannels,
    MainChannelsList,
    MainInit,
)
from spice_server import Compression, DemoSource, Framebuffer, FrameSource, Server
from spice_server.lowlevel import DisplayPipeline, ImageEncoder

FULL_W, FULL_H = 1920, 1080
ANIM_W, ANIM_H, ANIM_FPS = 640, 480, 25
SCREEN_W, SCREEN_H = 1024, 768
MODES = ("off", "quic", "lz", "glz", "auto_glz")
XORG = "/usr/lib/xorg/Xorg"
XSPICE_CONFIG = "/etc/X11/spiceqxl.xorg.conf"


# --- what the server processes run ------------------------------------------------------------


class CyclingSource(FrameSource):
    """Whole-frame damage all the time: every 5 ms the next of a few pre-rendered frames, each
    time with a new first column so that no band of it was ever sent before (no cache hits)."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__(frames[0].shape[1], frames[0].shape[0])
        self._frames = frames
        self._set_frame(frames[0])

    async def run(self) -> None:
        i = 0
        while True:
            await trio.sleep(0.005)
            i += 1
            frame = self._frames[i % len(self._frames)]
            frame[:, 0, 0] = i & 0xFF
            frame[:, 0, 1] = (i >> 8) & 0xFF
            self._set_frame(frame)


def demo_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    demo = DemoSource(width, height, clock=lambda: 0.0)
    frames = []
    for i in range(count):
        demo.step(i * 0.2)
        frames.append(demo.frame.copy())
    return frames


def plasma_frames(count: int) -> np.ndarray:
    """The scripted animation: (count, ANIM_H, ANIM_W, 3) RGB, no two frames alike."""
    lut = DemoSource(320, 200, clock=lambda: 0.0)._lut  # the demo's palette, B G R X
    out = np.empty((count, ANIM_H, ANIM_W, 3), np.uint8)
    y, x = np.mgrid[0:ANIM_H, 0:ANIM_W].astype(np.float32)
    for i in range(count):
        t = i / ANIM_FPS
        v = np.sin(x * 0.031 + t) + np.sin(y * 0.043 - t * 1.3) + np.sin((x + y) * 0.021 + t * 0.7)
        index = ((v + 3) * 42 + t * 40).astype(np.int32) & 255
        out[i] = lut[index][:, :, 2::-1]
    return out


async def serve_child(kind: str, arg: str) -> None:
    """The server process: prints its port, serves until killed."""
    source: FrameSource
    if kind == "full":
        source = CyclingSource(demo_frames(FULL_W, FULL_H, 6))
        server = Server(source, image_compression=arg)
    else:
        frames = np.load(arg)
        fb = Framebuffer(SCREEN_W, SCREEN_H)
        server = Server(fb)

    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        print(addr.port, flush=True)
        if kind == "anim":
            period = 1 / ANIM_FPS
            deadline = trio.current_time()
            for i in range(10**9):
                fb.update(frames[i % len(frames)], _Box(0, 0, ANIM_W, ANIM_H), format="rgb")
                deadline += period
                await trio.sleep_until(max(deadline, trio.current_time()))


class _Box:
    def __init__(self, left: int, top: int, right: int, bottom: int) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom


# --- measuring --------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the benchmark process ends, however it ends (Linux)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_server_child(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-child", *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"server child {args} did not start")
    return proc, int(line)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


async def raw_reader(
    port: int, pid: int, seconds: float, warmup: float = 1.0
) -> tuple[float, float, int, int]:
    """Read the display channel (ACKing, not decoding) for ``warmup + seconds``; after the warm-up:
    (seconds, server CPU seconds, pixels drawn, image bytes)."""
    main = await open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN)
    init = await main.receive()
    assert isinstance(init, MainInit)
    await main.send(MainAttachChannels())
    while not isinstance(await main.receive(), MainChannelsList):
        pass
    display = await open_channel(
        "127.0.0.1", port, channel_type=ChannelType.DISPLAY, connection_id=init.session_id
    )
    await display.send(DisplayInit(1, 20 * 1024 * 1024, 1, 4 * 1024 * 1024))
    pixels = wire = 0
    async with main, display:
        start = trio.current_time() + warmup
        with trio.move_on_at(start):
            while True:
                await display.receive()
        cpu0 = cpu_seconds(pid)
        with trio.move_on_at(start + seconds):
            while True:
                msg = await display.receive()
                if isinstance(msg, DisplayDrawCopy):
                    pixels += msg.box.width * msg.box.height
                    wire += len(getattr(msg.src_bitmap, "data", b""))
        cpu = cpu_seconds(pid) - cpu0
    return trio.current_time() - start, cpu, pixels, wire


async def bench_modes(seconds: float) -> None:
    print(
        f"\nfull-screen {FULL_W}x{FULL_H} updates, one client reading as fast as it can ({seconds:g} s each)"
    )
    print(f"{'compression':<12} {'frames/s':>9} {'server CPU ms/frame':>20} {'KB/frame on the wire':>21}")
    for mode in MODES:
        proc, port = start_server_child("full", mode)
        try:
            elapsed, cpu, pixels, wire = await raw_reader(port, proc.pid, seconds)
        finally:
            stop(proc)
        frames = pixels / (FULL_W * FULL_H)
        per_frame = 1000 * cpu / frames if frames else float("inf")
        kb = wire / 1024 / frames if frames else 0.0
        print(f"{mode:<12} {frames / elapsed:>9.1f} {per_frame:>20.1f} {kb:>21.0f}")


# --- our server against Xspice ----------------------------------------------------------------

TK_CLIENT = r"""
import sys, tkinter
import numpy as np
frames = np.load(sys.argv[1])
n, h, w = frames.shape[:3]
ppm = [b"P6 %d %d 255\n" % (w, h) + f.tobytes() for f in frames]
root = tkinter.Tk()
root.overrideredirect(True)
root.geometry("%dx%d+0+0" % (w, h))
photo = tkinter.PhotoImage(width=w, height=h)
tkinter.Label(root, image=photo, borderwidth=0, highlightthickness=0).pack()
period = 1000 // int(sys.argv[2])
i = 0
def tick():
    global i
    photo.configure(data=ppm[i % n], format="ppm")
    i += 1
    root.after(period, tick)
root.after(period, tick)
root.mainloop()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_display() -> int:
    for n in range(150, 400):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_xspice(logs: Path) -> tuple[subprocess.Popen[bytes], int, int]:
    """Xorg with the spiceqxl driver (what the Xspice wrapper runs), on 127.0.0.1."""
    port, number = free_port(), free_display()
    env = {
        **os.environ,
        "XSPICE_ADDR": "127.0.0.1",
        "XSPICE_PORT": str(port),
        "XSPICE_DISABLE_TICKETING": "1",
        "QXL_NUM_HEADS": "1",
        "QXL_FRAME_BUFFER_SIZE": "16",
        "QXL_SURFACE_BUFFER_SIZE": "128",
        "QXL_COMMAND_BUFFER_SIZE": "128",
    }
    argv = [XORG, "-config", XSPICE_CONFIG, "-noreset", "-nolisten", "tcp"]
    argv += ["-logfile", str(logs / "Xorg.log"), f":{number}"]
    with open(logs / "xspice.out", "wb") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 15
    while not (listening(port) and os.path.exists(f"/tmp/.X11-unix/X{number}")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"Xspice did not start (see {logs})")
        time.sleep(0.05)
    return proc, port, number


async def watch(port: int, seconds: float) -> int:
    """The headless client: connect, decode everything for ``seconds``; how many Damage events."""
    damages = 0
    async with ss.connect(f"spice://127.0.0.1:{port}") as session:
        with trio.move_on_after(seconds):
            async for event in session.events():
                if isinstance(event, ss.events.Damage):
                    damages += 1
    return damages


async def measure(
    server_pid: int, port: int, seconds: float, extra_pid: int | None = None
) -> tuple[float, float, int]:
    """Server CPU seconds (and the extra process's) while the client watches for ``seconds``."""
    await trio.sleep(1.0)  # let the animation start
    cpu0 = cpu_seconds(server_pid)
    extra0 = cpu_seconds(extra_pid) if extra_pid else 0.0
    damages = await watch(port, seconds)
    cpu = cpu_seconds(server_pid) - cpu0
    extra = cpu_seconds(extra_pid) - extra0 if extra_pid else 0.0
    return cpu, extra, damages


async def bench_against_xspice(seconds: float) -> None:
    print(
        f"\nthe same animation ({ANIM_W}x{ANIM_H} at {ANIM_FPS} frames/s on a {SCREEN_W}x{SCREEN_H} screen), "
        f"one headless spice_session client decoding everything, {seconds:g} s"
    )
    missing = [p for p in (XORG, XSPICE_CONFIG) if not os.path.exists(p)]
    try:
        import tkinter  # noqa: F401
    except ImportError:
        missing.append("tkinter")
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        path = Path(tmp, "frames.npy")
        # enough frames for the whole run: a loop would let the servers' image caches help
        np.save(path, plasma_frames(int(ANIM_FPS * (seconds + 3))))
        proc, port = start_server_child("anim", str(path))
        try:
            ours = await measure(proc.pid, port, seconds)
        finally:
            stop(proc)
        print(f"{'server':<26} {'server CPU s':>12} {'client damage events':>21}")
        print(f"{'spice_server (ours)':<26} {ours[0]:>12.2f} {ours[2]:>21}")
        if missing:
            print(f"{'Xspice':<26} skipped: missing {', '.join(missing)}")
            return
        xspice, xport, number = start_xspice(Path(tmp))
        tk = None
        try:
            env = {**os.environ, "DISPLAY": f":{number}"}
            tk = subprocess.Popen(
                [sys.executable, "-c", TK_CLIENT, str(path), str(ANIM_FPS)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            theirs = await measure(xspice.pid, xport, seconds, tk.pid)
        finally:
            if tk is not None:
                tk.kill()
                tk.wait()
            xspice.send_signal(signal.SIGTERM)
            try:
                xspice.wait(5)
            except subprocess.TimeoutExpired:
                xspice.kill()
                xspice.wait()
        print(f"{'Xspice (Xorg process)':<26} {theirs[0]:>12.2f} {theirs[2]:>21}")
        print(f"{'  (its Tk X client)':<26} {theirs[1]:>12.2f}")
        if theirs[0] > 0:
            print(f"ours / Xspice's Xorg: {ours[0] / theirs[0]:.2f} in CPU seconds", end="")
            if ours[2] and theirs[2]:
                per = (ours[0] / ours[2]) / (theirs[0] / theirs[2])
                print(f", {per:.2f} per client damage event", end="")
            print()


# --- the pipeline alone -------------------------------------------------------------------------


class _Held(FrameSource):
    """A source the benchmark hands frames to."""

    def __init__(self, frame: np.ndarray) -> None:
        super().__init__(frame.shape[1], frame.shape[0])
        self._set_frame(frame)

    def show(self, frame: np.ndarray) -> None:
        self._set_frame(frame)


class _CodecClock:
    """Process CPU time spent in the QUIC, LZ and GLZ encoders while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._saved: list[tuple[object, str, object]] = []

    def _timed(self, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - start

        return run

    def __enter__(self) -> _CodecClock:
        for owner, name in ((spice_quic, "encode"), (spice_lz, "encode"), (spice_glz.Encoder, "encode")):
            fn = getattr(owner, name)
            self._saved.append((owner, name, fn))
            setattr(owner, name, self._timed(fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, fn in self._saved:
            setattr(owner, name, fn)


def pipeline_costs(frames: list[np.ndarray], mode: str, count: int) -> tuple[float, float]:
    """CPU seconds per frame of one client's pipeline (with wire bytes), and of its codecs."""
    source = _Held(frames[0])
    pipeline = DisplayPipeline(source, ImageEncoder(Compression(mode)))
    pipeline.attach()
    pipeline.client_init(DisplayInit(1, 20 * 1024 * 1024, 1, 4 * 1024 * 1024))

    def frame(i: int) -> None:
        picture = frames[i % len(frames)]
        picture[:, 0, 0], picture[:, 0, 1] = i & 0xFF, (i >> 8) & 0xFF  # never seen before
        source.show(picture)
        for msg in pipeline.messages():
            msg.encode()

    for i in range(count):  # warm up: the pixmap cache goes to probing as in a long run
        frame(i)
    with _CodecClock() as codecs:
        start = time.process_time()
        for i in range(count, 2 * count):
            frame(i)
        spent = time.process_time() - start
    pipeline.detach()
    return spent / count, codecs.seconds / count


def bench_pipeline(count: int = 60) -> None:
    print(f"\nwithout I/O: {FULL_W}x{FULL_H} frames through one client's pipeline and Message.encode")
    print(f"{'compression':<12} {'CPU ms/frame':>13} {'codecs ms':>10} {'codec share':>12}")
    frames = demo_frames(FULL_W, FULL_H, 6)
    for mode in MODES:
        spent, codecs = pipeline_costs(frames, mode, count)
        share = f"{100 * codecs / spent:.0f} %" if mode != "off" else "-"
        print(f"{mode:<12} {1000 * spent:>13.1f} {1000 * codecs:>10.1f} {share:>12}")


async def bench(args: argparse.Namespace) -> None:
    await bench_modes(args.seconds)
    if not args.skip_xspice:
        await bench_against_xspice(args.seconds)
    bench_pipeline()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        trio.run(serve_child, sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per case (default 5)")
    parser.add_argument("--skip-xspice", action="store_true", help="only our server")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    trio.run(bench, args)


if __name__ == "__main__":
    main()
