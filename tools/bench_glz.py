"""GLZ codec throughput: decode and encode megapixels/s (median of N runs), per-call overhead.

Uses the 1080p desktop GLZ vector from ../shared/vectors (or SPICE_VECTORS_DIR) and, as GLZ
has no photo vector, the 1080p photo picture of the QUIC/LZ vectors encoded with our GLZ
encoder. Prints a table; asserts nothing about speed.

    python tools/bench_glz.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import spice_glz
from benchlib import vectors_dir
from spice_glz import ImageType

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DECODE = {"desktop": 600.0}
REFERENCE_ENCODE = {"desktop": 90.0}


BEST: dict[str, float] = {}


def median_seconds(
    fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None, key: str = ""
) -> float:
    """Median wall time of fn over runs (after one warm-up call); the fastest goes to BEST[key]."""
    if setup:
        setup()
    fn()
    times = []
    for _ in range(runs):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    if key:
        BEST[key] = min(times)
    return statistics.median(times)


def measure(name: str, blob: bytes, px: bytes, runs: int) -> str:
    """One table row: decode, decode_into and encode speed for a 1920x1080 RGB32 picture."""
    mp = 1920 * 1080 / 1e6
    window = spice_glz.Window()
    dec = median_seconds(lambda: spice_glz.decode(blob, window=window), runs, key=f"{name} decode")
    buf = bytearray(1920 * 1080 * 4)
    dec_into = median_seconds(
        lambda: spice_glz.decode_into(blob, buf, 1920 * 4, window=window), runs, key=f"{name} decode_into"
    )
    # One encoder emptied before each run: a first image into an empty dictionary, with the
    # buffers a long-lived per-client encoder has warm.
    enc = spice_glz.Encoder(1 << 22)
    out: list[bytes] = []
    enc_t = median_seconds(
        lambda: out.append(enc.encode(px, 1920, 1080, ImageType.RGB32)), runs, enc.reset, key=f"{name} encode"
    )
    # size against the reference encoder's blob (the photo blob is our own: no reference one)
    ratio = f"{len(out[-1]) / len(blob):.3f}" if name in REFERENCE_DECODE else "-"
    ref = f"{REFERENCE_DECODE.get(name, float('nan')):.0f}/{REFERENCE_ENCODE.get(name, float('nan')):.0f}"
    return f"{name:<10}{mp / dec:>13.0f}{mp / dec_into:>13.0f}{mp / enc_t:>13.0f}{ratio:>13}{ref:>13}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    runs = max(7, args.runs)
    vdir = vectors_dir()
    if vdir is None:
        print("bench_glz: ../shared/vectors not found; nothing to measure")
        return 0
    manifest = json.loads((vdir / "manifest.json").read_text())
    by_name = {c["name"]: c for c in manifest["cases"]}

    pictures: dict[str, tuple[bytes, bytes]] = {}  # name -> (glz blob, bgrx32 pixels)
    desk = by_name.get("glz/seq1080_00_desktop_1920x1080_rgb32")
    if desk:
        pictures["desktop"] = (
            (vdir / desk["encoded"]["path"]).read_bytes(),
            (vdir / desk["expected"][0]["path"]).read_bytes(),
        )
    photo = by_name.get("lz/photo_1920x1080_rgb32") or by_name.get("quic/photo_1920x1080_rgb32")
    if photo:
        px = (vdir / photo["expected"][0]["path"]).read_bytes()
        pictures["photo"] = (spice_glz.Encoder(1 << 22).encode(px, 1920, 1080, ImageType.RGB32), px)

    print(f"spice_glz {spice_glz.__version__}: median of {runs} runs, 1920x1080 RGB32")
    head = ["case", "decode MP/s", "decode_into", "encode MP/s", "size ratio", "ref dec/enc"]
    print(f"{head[0]:<10}" + "".join(f"{h:>13}" for h in head[1:]))
    for name, (blob, px) in pictures.items():
        print(measure(name, blob, px, runs))

    if desk:
        crop = by_name.get("glz/seq1080_01_desktop_crop_480x270_rgb32")
        if crop:
            window = spice_glz.Window()
            spice_glz.decode(pictures["desktop"][0], window=window)
            cblob = (vdir / crop["encoded"]["path"]).read_bytes()
            t = median_seconds(lambda: spice_glz.decode(cblob, window=window), runs * 20)
            print(f"{'crop-xref':<10}{480 * 270 / 1e6 / t:>13.0f}   (480x270 copied from the 1080p frame)")

    enc1 = spice_glz.Encoder(1 << 10)
    tiny = enc1.encode(b"\x01\x02\x03\x00", 1, 1, ImageType.RGB32)
    window = spice_glz.Window()
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        spice_glz.decode(tiny, window=window)
    dec_call = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n // 10):
        enc1.encode(b"\x01\x02\x03\x00", 1, 1, ImageType.RGB32)
    enc_call = (time.perf_counter() - t0) / (n // 10)
    print(f"1x1 per call: decode {dec_call * 1e6:.1f} us, encode {enc_call * 1e6:.1f} us")
    mp = 1920 * 1080 / 1e6
    best = ", ".join(f"{k} {mp / v:.0f}" for k, v in BEST.items())
    print(f"fastest single run, MP/s (a loaded machine lowers the medians): {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
