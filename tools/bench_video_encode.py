"""spice_server's VP8, VP9 and H.264 stream encoders: CPU per frame, alone (no server).

The tile of ``bench_scale.py`` (480x270, photo-like, moving) sits in a 1920x1080 frame;
``AvStreamEncoder`` encodes the box at quality 70 frame after frame.  Per codec: process CPU
per frame (all threads: conversion to 4:2:0 and the encoder), bytes per frame and the mean
absolute difference of the decoded pictures against the tile (frames after the first 30), with
the server's settings and with FFmpeg's default thread count (one per core), the setting before
libvpx ran on one thread.  Then the conversion alone, as done before (a copy of the box and a
new swscale context per frame) and now.  Asserts nothing.

    python tools/bench_video_encode.py [--frames 150]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter
from bench_scale import TILE_H, TILE_W, tile_picture
from spice_proto import Rect, VideoCodecType
from spice_server import _video_encode
from spice_server._video_encode import AvStreamEncoder, encodable_codecs

BOX = Rect(0, 400, TILE_W, 400 + TILE_H)


def frames(count: int) -> list[npt.NDArray[np.uint8]]:
    """``count`` 1920x1080 BGRX frames with the tile's pictures in ``BOX`` (60 distinct)."""
    out = []
    for i in range(min(count, 60)):
        frame = np.zeros((1080, 1920, 4), np.uint8)
        frame[BOX.top : BOX.bottom, BOX.left : BOX.right] = tile_picture(i)
        out.append(frame)
    return out


def run(codec: VideoCodecType, count: int, default_threads: bool) -> tuple[float, float, float]:
    """CPU ms a frame, kB a frame and mean error of ``count`` frames through one encoder."""
    name, options = _video_encode._AV[codec]
    if default_threads:
        _video_encode._AV[codec] = (name, {k: v for k, v in options.items() if k != "threads"})
    try:
        encoder = AvStreamEncoder(codec, 30)
        decoder: Any = av.CodecContext.create(codec.name.lower(), "r")
        pictures = frames(count)
        cpu, size, errors = 0.0, 0, []
        for i in range(count):
            frame = pictures[i % len(pictures)]
            start = time.process_time()
            data = encoder.encode(frame, BOX, 70)
            cpu += time.process_time() - start
            size += len(data)
            for shown in decoder.decode(av.Packet(data)):
                if i >= 30:
                    want = frame[BOX.top : BOX.bottom, BOX.left : BOX.right, :3].astype(int)
                    errors.append(np.abs(shown.to_ndarray(format="bgra")[:, :, :3] - want).mean())
    finally:
        _video_encode._AV[codec] = (name, options)
    return 1000 * cpu / count, size / count / 1000, float(np.mean(errors)) if errors else float("nan")


def conversion(count: int) -> tuple[float, float]:
    """CPU ms of the box to yuv420p: before (a copy, a new swscale context) and now."""
    frame = frames(1)[0]
    box = frame[BOX.top : BOX.bottom, BOX.left : BOX.right]
    start = time.process_time()
    for _ in range(count):
        av.VideoFrame.from_ndarray(np.ascontiguousarray(box), format="bgra").reformat(format="yuv420p")
    before = time.process_time() - start
    reformatter = VideoReformatter()
    start = time.process_time()
    for _ in range(count):
        reformatter.reformat(av.VideoFrame.from_numpy_buffer(box, format="bgra"), format="yuv420p")
    now = time.process_time() - start
    return 1000 * before / count, 1000 * now / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    size = f"{TILE_W}x{TILE_H}"
    print(f"\nstream encoders, a {size} box of a 1920x1080 frame, {args.frames} frames, quality 70")
    print(f"{'codec':6} {'threads':>16} {'CPU ms/frame':>13} {'kB/frame':>9} {'mean error':>11}")
    for codec in (VideoCodecType.VP8, VideoCodecType.VP9, VideoCodecType.H264):
        if codec not in encodable_codecs():
            print(f"{codec.name:6} (no encoder in this PyAV)")
            continue
        for default_threads in (False, True):
            if codec is VideoCodecType.H264 and default_threads:
                continue  # libx264 keeps FFmpeg's default
            cpu, kb, err = run(codec, args.frames, default_threads)
            threads = "FFmpeg default" if default_threads else "server"
            print(f"{codec.name:6} {threads:>16} {cpu:>13.2f} {kb:>9.1f} {err:>11.2f}", flush=True)
    before, now = conversion(args.frames)
    print(f"to yuv420p: {before:.2f} ms a frame (copy + new swscale context), {now:.2f} (in place, kept)")


if __name__ == "__main__":
    main()
