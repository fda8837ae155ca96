"""Video stream throughput: frames/s through ``StreamManager`` against the bare decoder.

For MJPEG (and VP8 / H.264 when PyAV is installed) a 1280x720 clip of synthetic
frames is encoded once, then timed three ways: the decoder alone, decode + placement
on a 1920x1080 surface at 1:1, and decode + placement scaled from 640x360 up to
1280x720 (nearest neighbour).  Prints a table of medians; asserts nothing.

    python tools/bench_streams.py [--runs 5] [--frames 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import simplejpeg
import spice_proto as sp
from spice_session import Surface, available_codecs
from spice_session.lowlevel import MediaClock, StreamManager, make_decoder

W, H = 1280, 720


def clip(width: int, height: int, count: int) -> list[npt.NDArray[np.uint8]]:
    """RGB frames: a moving gradient with a block and some noise (video-like, not trivially compressible)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for i in range(count):
        img = np.empty((height, width, 3), np.uint8)
        img[:, :, 0] = (xx + 4 * i) % 256
        img[:, :, 1] = (yy + 2 * i) % 256
        img[:, :, 2] = ((xx + yy) // 4 + i) % 256
        x = (16 * i) % (width - 200)
        img[100:300, x : x + 200] = (250, 200, 20)
        img += rng.integers(0, 8, img.shape, dtype=np.uint8)
        out.append(img)
    return out


def encode(codec: sp.VideoCodecType, frames: list[npt.NDArray[np.uint8]]) -> list[bytes]:
    if codec == sp.VideoCodecType.MJPEG:
        return [simplejpeg.encode_jpeg(f, quality=80, colorspace="RGB") for f in frames]
    import av

    name, options = {
        sp.VideoCodecType.VP8: ("libvpx", {"deadline": "realtime", "lag-in-frames": "0", "cpu-used": "8"}),
        sp.VideoCodecType.H264: ("libx264", {"tune": "zerolatency", "preset": "ultrafast"}),
    }[codec]
    ctx = av.CodecContext.create(name, "w")
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = (
        frames[0].shape[1],
        frames[0].shape[0],
        "yuv420p",
        Fraction(1, 25),
    )
    ctx.options = options
    packets: list[bytes] = []
    for i, rgb in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        vf.pts = i
        packets += [bytes(p) for p in ctx.encode(vf)]
    packets += [bytes(p) for p in ctx.encode(None)]
    return packets


def median_fps(fn: Callable[[], int], runs: int) -> float:
    fn()
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def bench(codec: sp.VideoCodecType, runs: int, count: int) -> None:
    full = encode(codec, clip(W, H, count))
    small = encode(codec, clip(W // 2, H // 2, count))

    def decoder_only() -> int:
        decoder = make_decoder(codec)
        return sum(len(decoder.decode(p)) for p in full)

    def through_manager(packets: list[bytes], size: tuple[int, int]) -> Callable[[], int]:
        def run() -> int:
            surface = Surface(0, 1920, 1080, sp.SurfaceFmt.FMT_32_xRGB, primary=True)
            mgr = StreamManager(MediaClock())
            dest = sp.Rect(100, 100, 100 + W, 100 + H)
            mgr.handle(
                sp.DisplayStreamCreate(0, 1, sp.StreamFlags(0), codec, 0, *size, *size, dest), {0: surface}
            )
            for p in packets:
                mgr.handle(sp.DisplayStreamData(1, 0, p), {0: surface})
            return len(packets)

        return run

    bare = median_fps(decoder_only, runs)
    placed = median_fps(through_manager(full, (W, H)), runs)
    scaled = median_fps(through_manager(small, (W // 2, H // 2)), runs)
    print(
        f"{codec.name:6} {bare:10.1f} {placed:12.1f} ({placed / bare:4.0%}) {scaled:14.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    print(f"stream frames/s, {W}x{H} (median of {args.runs} runs of {args.frames} frames)")
    print(f"{'codec':6} {'decode only':>10} {'decode+place':>12}        {'360p->720p':>14}")
    for codec in (sp.VideoCodecType.MJPEG, sp.VideoCodecType.VP8, sp.VideoCodecType.H264):
        if codec in available_codecs():
            bench(codec, args.runs, args.frames)
        else:
            print(f"{codec.name:6} (no decoder: install spice-session[video])")


if __name__ == "__main__":
    main()
