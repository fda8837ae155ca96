"""Canvas throughput: full-screen 1920x1080 DRAW_COPY through the session's display handler.

For each 1080p vector (QUIC, LZ and GLZ desktop; QUIC and LZ photo) a real DRAW_COPY
message is built around the blob, encoded to its wire body, and then, per frame, decoded
by spice_proto and handed to the display channel handler, which draws it into the
primary surface (the zero-copy path: the codec writes straight into the surface).
Compared with the codec's own ``decode_into`` rate into a plain buffer.  Prints a table;
asserts nothing about speed.

    python tools/bench_canvas.py [--runs 15]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import spice_glz
import spice_lz
import spice_quic
from benchlib import vectors_dir
from spice_proto import (
    Clip,
    DisplayDrawCopy,
    DisplaySurfaceCreate,
    GlzRgbImage,
    Image,
    LzRgbImage,
    QuicImage,
    Rect,
    SurfaceFlags,
    SurfaceFmt,
)
from spice_session import Display

ROOT = Path(__file__).resolve().parents[1]
W, H = 1920, 1080


def median_seconds(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """Median wall time of each fn; the fns take turns so a busy machine slows all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(runs):
        for fn, bucket in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - t0)
    return [statistics.median(bucket) for bucket in times]


def row(name: str, image: Image, codec_decode: Callable[[bytearray], object], runs: int) -> str:
    display = Display(20 * 1024 * 1024, 1 << 25)
    state = display.channel(0)
    state.handle(DisplaySurfaceCreate(0, W, H, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY))
    body = DisplayDrawCopy(0, Rect(0, 0, W, H), Clip(), image, Rect(0, 0, W, H)).encode()

    message = DisplayDrawCopy.decode(body)

    def handled() -> None:
        events = state.handle(message)
        assert events and state.errors == 0, events

    def wire() -> None:
        events = state.handle(DisplayDrawCopy.decode(body))
        assert events and state.errors == 0, events

    buf = bytearray(W * H * 4)
    codec, handler, full = median_seconds([lambda: codec_decode(buf), handled, wire], runs)

    def pct(t: float) -> str:
        return f"{(t / codec - 1) * 100:+.1f}%"

    return (
        f"{name:<14}{1 / codec:>10.1f}{1 / handler:>10.1f}{pct(handler):>9}"
        f"{1 / full:>10.1f}{pct(full):>9}{len(body) / 1e6:>9.2f}"
    )


def _call(decode: Callable[[bytes, bytearray], object], data: bytes, buf: bytearray) -> object:
    return decode(data, buf)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    base = vectors_dir(with_subset=True)
    if base is None:
        print("bench_canvas: no vectors (../shared/vectors or SPICE_VECTORS_DIR)", file=sys.stderr)
        return 1
    cases = {c["name"]: c for c in json.loads((base / "manifest.json").read_text())["cases"]}

    def blob(name: str) -> bytes | None:
        case = cases.get(name)
        return None if case is None else (base / case["encoded"]["path"]).read_bytes()

    print(f"full-screen {W}x{H} DRAW_COPY, frames/s (median of {args.runs})")
    print("codec: the codec's decode_into into a plain buffer; handler: the decoded message through")
    print("the display handler into the primary surface; wire: the same from the message body bytes")
    print("(spice_proto decoding included; the image data stays a read-only view of the body)")
    print(f"{'image':<14}{'codec':>10}{'handler':>10}{'':>9}{'wire':>10}{'':>9}{'body MB':>9}")
    window = spice_glz.Window()
    rows: list[tuple[str, str, Callable[[bytes], Image], Callable[[bytes, bytearray], object]]] = [
        (
            "QUIC desktop",
            "quic/desktop_1920x1080_rgb32",
            lambda b: QuicImage(width=W, height=H, data=b),
            lambda b, buf: spice_quic.decode_into(b, buf, W * 4),
        ),
        (
            "QUIC photo",
            "quic/photo_1920x1080_rgb32",
            lambda b: QuicImage(width=W, height=H, data=b),
            lambda b, buf: spice_quic.decode_into(b, buf, W * 4),
        ),
        (
            "LZ desktop",
            "lz/desktop_1920x1080_rgb32",
            lambda b: LzRgbImage(width=W, height=H, data=b),
            lambda b, buf: spice_lz.decode_into(b, buf, W * 4),
        ),
        (
            "LZ photo",
            "lz/photo_1920x1080_rgb32",
            lambda b: LzRgbImage(width=W, height=H, data=b),
            lambda b, buf: spice_lz.decode_into(b, buf, W * 4),
        ),
        (
            "GLZ desktop",
            "glz/seq1080_00_desktop_1920x1080_rgb32",
            lambda b: GlzRgbImage(width=W, height=H, data=b),
            lambda b, buf: spice_glz.decode_into(b, buf, W * 4, window=window),
        ),
    ]
    for label, name, make, decode in rows:
        data = blob(name)
        if data is None:
            print(f"{label:<14}  (vector missing)")
            continue
        print(row(label, make(data), functools.partial(_call, decode, data), args.runs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
