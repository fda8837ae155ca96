"""The least a Python viewer spends on a demo frame, beside ``spice view`` and remote-viewer.

``spice view`` uses more CPU than remote-viewer on the demo's MJPEG stream.  This measures how
much of that any viewer written in Python pays, and how much is ours.  The demo's own frames
are recorded from a live session (their JPEGs and the stream's place on the screen).  A pacing
process then sends them over TCP at the stream's rate.  Two floor loops receive them and do
only what every viewer must do per frame:

- receive the bytes;
- decode the JPEG (simplejpeg, with the settings ``spice view`` uses);
- write the frame into an SDL window's surface at the stream's place, 10 frames after it
  came (as ``spice view`` holds frames for the media clock);
- show that rectangle and take SDL's events.

``floor (trio)`` does this in a trio task on trio's socket, and ``floor (plain)`` on a blocking
socket.  ``spice view`` and remote-viewer watch the live demo.  All four run in turn on one
Xvfb, in ``--rounds`` rounds.  Printed: each one's CPU in ``--seconds`` (all threads, from
/proc schedstat) and per frame.  Then ``spice view``, ``floor (trio)`` and a ``headless
session`` (``spice_session`` reading the demo's events, drawing nothing: the session's layers
without the viewer's) each run beside remote-viewer, both at once (two viewers' load on two
cores): their CPU over remote-viewer's.
Asserts nothing about speed.

    python tools/bench_viewer_floor.py [--seconds 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import itertools
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_viewer import (
    SPICE,
    XVFB_SIZE,
    free_port,
    listening,
    run_together,
    start,
    stop,
    wait_for,
    xvfb_display,
)

HOLD = 10  # frames kept decoded before shown (spice view holds ~400 ms of a 25 frames/s stream)
_LENGTH = struct.Struct("<I")


def record(
    seconds: float, directory: Path
) -> tuple[list[bytes], tuple[int, int, int, int], tuple[int, int], float]:
    """The demo stream's JPEGs, its destination (x, y, w, h), the primary surface's size and the
    frame interval in seconds."""
    from bench_session_replay import display_bytes, linked, watch_captured
    from spice_proto import (
        DisplayStreamCreate,
        DisplayStreamData,
        DisplaySurfaceCreate,
        MessageReceived,
        NeedData,
        VideoCodecType,
    )

    logs = directory / "record"
    port = free_port()
    server = start([SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"], directory, "serve")
    try:
        wait_for("spice serve", lambda: listening(port), server)
        watch_captured(f"spice://127.0.0.1:{port}", seconds, logs)
    finally:
        stop(server)
    conn, rest = linked(display_bytes(logs))
    conn.receive_data(rest)
    frames: list[bytes] = []
    times: list[int] = []
    dest = None
    size = (0, 0)
    while not isinstance(event := conn.next_event(), NeedData):
        if not isinstance(event, MessageReceived):
            continue
        message = event.message
        if isinstance(message, DisplaySurfaceCreate) and message.surface_id == 0:
            size = (message.width, message.height)
        elif isinstance(message, DisplayStreamCreate) and message.codec_type == VideoCodecType.MJPEG:
            d = message.dest
            dest = (d.left, d.top, d.right - d.left, d.bottom - d.top)
        elif isinstance(message, DisplayStreamData) and dest is not None:
            frames.append(bytes(message.data))
            times.append(message.multi_media_time)
    if dest is None or len(frames) < 2 * HOLD:
        raise SystemExit(f"the recording holds no MJPEG stream ({len(frames)} frames)")
    interval = statistics.median(b - a for a, b in itertools.pairwise(times)) / 1000
    return frames, dest, size, interval


def send(port: int, frames_file: Path, interval: float) -> None:
    """Serve the frames of ``frames_file`` in a loop, one every ``interval`` seconds."""
    frames = _read_frames(frames_file)
    with socket.create_server(("127.0.0.1", port)) as server:
        peer, _ = server.accept()
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    due = time.monotonic()
    for n in range(sys.maxsize):
        frame = frames[n % len(frames)]
        try:
            peer.sendall(_LENGTH.pack(len(frame)) + frame)
        except OSError:
            return
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))


def _read_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    frames, pos = [], 0
    while pos < len(data):
        (size,) = _LENGTH.unpack_from(data, pos)
        frames.append(data[pos + 4 : pos + 4 + size])
        pos += 4 + size
    return frames


def floor(mode: str, port: int, dest: tuple[int, int, int, int], size: tuple[int, int]) -> None:
    """The floor loop (``trio`` or ``plain``): receive, decode, hold, draw, show, pump events."""
    import numpy as np
    import sdl2
    import simplejpeg

    sdl2.SDL_SetHint(sdl2.SDL_HINT_FRAMEBUFFER_ACCELERATION, b"0")  # the X11 framebuffer, as spice view
    if sdl2.SDL_Init(sdl2.SDL_INIT_VIDEO) != 0:
        raise SystemExit(f"SDL_Init: {sdl2.SDL_GetError().decode()}")
    window = sdl2.SDL_CreateWindow(b"floor", 0, 0, size[0], size[1], sdl2.SDL_WINDOW_SHOWN)
    x, y, w, h = dest
    rect = sdl2.SDL_Rect(x, y, w, h)
    event = sdl2.SDL_Event()
    held: collections.deque[object] = collections.deque()
    pending = bytearray()

    def show(frame: np.ndarray) -> None:  # type: ignore[type-arg]
        surface = sdl2.SDL_GetWindowSurface(window).contents
        memory = (ctypes.c_uint8 * (surface.pitch * surface.h)).from_address(surface.pixels)
        pixels = np.frombuffer(memory, np.uint8).reshape(surface.h, surface.pitch // 4, 4)
        pixels[y : y + h, x : x + w] = frame
        sdl2.SDL_UpdateWindowSurfaceRects(window, ctypes.byref(rect), 1)

    def received(data: bytes) -> None:
        pending.extend(data)
        while len(pending) >= 4:
            (n,) = _LENGTH.unpack_from(pending)
            if len(pending) < 4 + n:
                break
            with memoryview(pending) as view:
                jpeg = bytes(view[4 : 4 + n])
            del pending[: 4 + n]
            held.append(simplejpeg.decode_jpeg(jpeg, colorspace="BGRX", fastdct=True, fastupsample=True))
            if len(held) > HOLD:
                show(held.popleft())  # type: ignore[arg-type]
            while sdl2.SDL_PollEvent(ctypes.byref(event)):
                pass

    if mode == "plain":
        with connected(port) as sock:
            while data := sock.recv(256 * 1024):
                received(data)
        return
    import trio

    async def main() -> None:
        sock = trio.socket.from_stdlib_socket(connected(port))
        while data := await sock.recv(256 * 1024):
            received(data)

    trio.run(main)


def headless(uri: str) -> None:
    """A ``spice_session`` client that reads every event and draws nothing (stream frames
    kept back from the surface, as for ``spice view``): the session's layers alone."""
    import spice_session
    import trio

    async def run() -> None:
        async with spice_session.connect(uri) as session:
            session.defer_stream_frames = True
            async for _ in session.events():
                pass

    trio.run(run)


def connected(port: int) -> socket.socket:
    """A connection to the frame sender, once it listens (it serves the first that comes)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def measure(argvs: dict[str, list[str]], env: dict[str, str], logs: Path, seconds: float) -> dict[str, float]:
    """CPU seconds of the processes ``argvs`` start (by name), running at the same time, over
    ``seconds`` after a 4 s warm-up (run time of their threads, each from its own start value:
    see ``bench_viewer.CpuMeter``)."""
    used = run_together({name: (argv, env) for name, argv in argvs.items()}, logs, "measured", 4.0, seconds)
    return {name: cpu[0] for name, cpu in used.items()}


def bench(seconds: float, rounds: int) -> None:
    print(f"\nviewer floor: CPU on the demo stream, {seconds:g} s each, {rounds} rounds, Xvfb {XVFB_SIZE}")
    if shutil.which("Xvfb") is None:
        print("skipped: missing Xvfb")
        return
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        logs = Path(tmp)
        frames, dest, size, interval = record(5.0, logs)
        frames_file = logs / "frames.bin"
        frames_file.write_bytes(b"".join(_LENGTH.pack(len(f)) + f for f in frames))
        rate = 1 / interval
        print(
            f"recorded: {len(frames)} frames of {statistics.mean(map(len, frames)) / 1024:.1f} KiB, "
            f"{dest[2]}x{dest[3]} at ({dest[0]}, {dest[1]}) of {size[0]}x{size[1]}, {rate:.1f} frames/s"
        )
        results: dict[str, list[float]] = collections.defaultdict(list)
        beside: dict[str, list[float]] = collections.defaultdict(list)
        with xvfb_display(logs) as env:
            port = free_port()
            server = start(
                [SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"], logs, "serve"
            )
            try:
                wait_for("spice serve", lambda: listening(port), server)
                uri = f"spice://127.0.0.1:{port}"
                viewers = {"spice view": [SPICE, "view", "--no-audio", uri]}
                rv = ["remote-viewer", uri] if shutil.which("remote-viewer") else None
                if rv is not None:
                    viewers["remote-viewer"] = rv
                for _ in range(rounds):
                    for name, argv in viewers.items():
                        results[name] += measure({name: argv}, env, logs, seconds).values()
                    for mode in ("trio", "plain"):
                        with _sender(frames_file, interval, env, logs) as sender:
                            argv = _floor_argv(mode, sender, dest, size)
                            results[f"floor ({mode})"] += measure(
                                {"floor": argv}, env, logs, seconds
                            ).values()
                    if rv is None:
                        continue
                    # beside remote-viewer, both at once (the load of two viewers on two cores)
                    used = measure({"ours": viewers["spice view"], "rv": rv}, env, logs, seconds)
                    beside["spice view"].append(used["ours"] / used["rv"])
                    with _sender(frames_file, interval, env, logs) as sender:
                        argv = _floor_argv("trio", sender, dest, size)
                        used = measure({"ours": argv, "rv": rv}, env, logs, seconds)
                    beside["floor (trio)"].append(used["ours"] / used["rv"])
                    used = measure(
                        {"ours": [sys.executable, __file__, "--headless", uri], "rv": rv}, env, logs, seconds
                    )
                    beside["headless session"].append(used["ours"] / used["rv"])
            finally:
                stop(server)
    frames_seen = seconds * rate
    print(f"{'viewer':<16} {'CPU s, each round':<28} {'ms a frame (median)':>20}")
    for name, cpus in results.items():
        each = " / ".join(f"{c:.3f}" for c in cpus)
        print(f"{name:<16} {each:<28} {1000 * statistics.median(cpus) / frames_seen:>20.3f}")
    if beside:
        print("beside remote-viewer (both watching at once), CPU over remote-viewer's:")
        for name, ratios in beside.items():
            each = " / ".join(f"{r:.2f}" for r in ratios)
            print(f"{name:<16} {each:<28} {statistics.median(ratios):>20.2f}")
    if "remote-viewer" not in results:
        print("remote-viewer skipped: missing remote-viewer")


@contextmanager
def _sender(frames_file: Path, interval: float, env: dict[str, str], logs: Path) -> Iterator[int]:
    """A pacing process sending the recorded frames; yields its port."""
    port = free_port()
    argv = [sys.executable, __file__, "--send", str(port), str(frames_file), str(interval)]
    sender = start(argv, logs, "sender", env)
    try:
        yield port
    finally:
        stop(sender)


def _floor_argv(mode: str, port: int, dest: tuple[int, int, int, int], size: tuple[int, int]) -> list[str]:
    where = ",".join(map(str, dest))
    return [sys.executable, __file__, "--floor", mode, str(port), where, f"{size[0]},{size[1]}"]


def main() -> None:
    if sys.argv[1:2] == ["--send"]:
        send(int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))
        return
    if sys.argv[1:2] == ["--headless"]:
        headless(sys.argv[2])
        return
    if sys.argv[1:2] == ["--floor"]:
        x, y, w, h = (int(n) for n in sys.argv[4].split(","))
        width, height = (int(n) for n in sys.argv[5].split(","))
        floor(sys.argv[2], int(sys.argv[3]), (x, y, w, h), (width, height))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per viewer (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the viewers in turn (default 2)")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    bench(args.seconds, args.rounds)


if __name__ == "__main__":
    main()
