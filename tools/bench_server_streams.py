"""spice_server video streams: MJPEG encode cost and size per frame, and one stream end to end.

Prints tables; asserts nothing about time.  ``python tools/bench_server_streams.py [SECONDS]``.
"""

from __future__ import annotations

import sys
import time
from functools import partial

import numpy as np
import spice_server as ss
import spice_session
import trio
from spice_proto import Rect
from spice_server._compress import encode_mjpeg


def smooth(width: int, height: int, variant: int) -> np.ndarray:
    """A photo-like BGRX picture that moves with ``variant``."""
    y, x = np.mgrid[0:height, 0:width]
    out = np.zeros((height, width, 4), np.uint8)
    out[:, :, 0] = 128 + 100 * np.sin((x + 4 * variant) / 23)
    out[:, :, 1] = 128 + 100 * np.cos((y - 3 * variant) / 17)
    out[:, :, 2] = 128 + 90 * np.sin((x + y + 5 * variant) / 31 + np.sin(y / 13))
    return out


def encode_table() -> None:
    print("MJPEG encode (simplejpeg, 4:2:0, from a strided BGRX view)")
    print(f"{'size':>10} {'quality':>7} {'ms/frame':>9} {'KiB/frame':>9}")
    for w, h in ((320, 240), (640, 480), (1280, 720), (1920, 1080)):
        frame = np.zeros((h + 16, w + 32, 4), np.uint8)
        box = Rect(16, 8, 16 + w, 8 + h)
        for quality in (70, 40):
            sizes, spent = [], 0.0
            for i in range(20):
                frame[box.top : box.bottom, box.left : box.right] = smooth(w, h, i)
                t = time.perf_counter()
                sizes.append(len(encode_mjpeg(frame, box, quality)))
                spent += time.perf_counter() - t
            print(f"{w}x{h:<5} {quality:>7} {spent / 20 * 1000:>9.2f} {np.mean(sizes) / 1024:>9.1f}")


async def handoff_table(frames: int = 60) -> None:
    """Per frame at 25 frames/s: a Framebuffer update (RGB) then its MJPEG encode, run on the
    event loop or in a worker thread; process CPU (every thread) per frame, median of 3."""
    print("\nMJPEG encode on the event loop vs in a worker thread (25 frames/s, CPU ms a frame)")
    print(f"{'size':>10} {'inline':>7} {'thread':>7} {'hand-off':>9}")
    limiter = trio.CapacityLimiter(2)
    for w, h in ((320, 240), (480, 360), (640, 480), (800, 600), (1280, 720)):
        fb = ss.Framebuffer(1920, 1080)
        box = Rect(0, 0, w, h)
        rgb = [smooth(w, h, i)[:, :, 2::-1].copy() for i in range(8)]
        results: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(3):
            for threaded in (False, True):
                start = time.process_time()
                for i in range(frames):
                    fb.update(rgb[i % len(rgb)], box, format="rgb")
                    encode = partial(encode_mjpeg, fb.frame, box, 70)
                    if threaded:
                        await trio.to_thread.run_sync(encode, limiter=limiter)
                    else:
                        encode()
                    await trio.sleep(1 / 25)
                results[threaded].append((time.process_time() - start) / frames * 1000)
        inline, thread = (sorted(results[t])[1] for t in (False, True))
        print(f"{w}x{h:<5} {inline:>7.2f} {thread:>7.2f} {1000 * (thread - inline):>6.0f} us")


async def end_to_end(seconds: float) -> None:
    w, h, fps = 1024, 768, 30.0
    anim = Rect(192, 144, 192 + 640, 144 + 480)
    fb = ss.Framebuffer(w, h)
    server = ss.Server(fb)
    pictures = [smooth(anim.width, anim.height, i) for i in range(60)]
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        async with spice_session.connect(f"spice://127.0.0.1:{addr.port}") as session:
            session.events().close()
            await session.screenshot(settle=0.2)
            cpu0, wall0 = time.process_time(), time.perf_counter()
            frames = int(seconds * fps)
            for i in range(frames):
                fb.update(pictures[i % len(pictures)], anim)
                await trio.sleep(1 / fps)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            pipe = server.clients[0].display
            assert pipe is not None
            streams = list(pipe.streams.values()) + list(pipe.ended)
            sent = sum(s.frames_sent for s in streams)
            size = sum(s.bytes_sent for s in streams)
            print(f"\nend to end: {anim.width}x{anim.height} animation at {fps:g} fps for {wall:.1f} s")
            print(f"  frames in {frames}, stream frames sent {sent} ({sent / wall:.1f} fps)")
            print(f"  JPEG {size / max(1, sent) / 1024:.1f} KiB a frame, {size / wall / 1e6 * 8:.1f} Mbit/s")
            quality = [s.controller.quality for s in streams]
            print(f"  quality now {quality}, CPU (server + client, one process) {100 * cpu / wall:.0f} %")
        nursery.cancel_scope.cancel()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    encode_table()
    trio.run(handoff_table)
    trio.run(end_to_end, seconds)


if __name__ == "__main__":
    main()
