"""LZ codec throughput: decode and encode megapixels/s on the 1080p vectors, plus per-call overhead.

Prints a table (median of --runs timings each); asserts nothing. Each figure
is given twice: wall clock, and CPU time of the calling thread (the C core runs
on it), which stays meaningful when other processes share the cores. The 1080p
frames come from ../shared/vectors; without them only the overhead is shown.

    python tools/bench_lz.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import spice_lz

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "vectors"
RGB32 = spice_lz.LzImageType.RGB32
FRAMES = ["lz/desktop_1920x1080_rgb32", "lz/photo_1920x1080_rgb32"]
# Reference C decoder / encoder figures from the project brief (MP/s).
REFERENCE = {
    "lz/desktop_1920x1080_rgb32": (870.0, 130.0),
    "lz/photo_1920x1080_rgb32": (415.0, 67.0),
}


def medians(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and thread-CPU seconds of ``runs`` calls (after one warm-up call)."""
    fn()
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


def frames() -> list[tuple[str, bytes, bytes, int, int]]:
    manifest = SHARED / "manifest.json"
    if not manifest.exists():
        return []
    out = []
    for case in json.loads(manifest.read_text())["cases"]:
        if case["name"] in FRAMES:
            blob = (SHARED / case["encoded"]["path"]).read_bytes()
            pixels = (SHARED / case["expected"][0]["path"]).read_bytes()
            out.append((case["name"], blob, pixels, case["width"], case["height"]))
    return out


def rate(mp: float, seconds: tuple[float, float]) -> str:
    wall, cpu = seconds
    return f"{mp / wall:>6.0f} /{mp / cpu:>5.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per figure (median is shown)")
    args = parser.parse_args()
    runs = max(7, args.runs)
    print(f"spice_lz {spice_lz.__version__}: median of {runs} runs; MP/s as wall / thread-CPU")
    print(
        f"{'image':<26}{'decode':>14}{'decode_into':>14}{'ref dec':>9}"
        f"{'encode':>14}{'ref enc':>9}{'size/ref':>10}"
    )
    found = frames()
    for name, blob, pixels, width, height in found:
        mp = width * height / 1e6
        dec = medians(lambda b=blob: spice_lz.decode(b), runs)
        buf = bytearray(width * height * 4)
        into = medians(lambda b=blob, o=buf, w=width: spice_lz.decode_into(b, o, w * 4), runs)
        enc = medians(lambda p=pixels, w=width, h=height: spice_lz.encode(p, w, h, RGB32), runs)
        ours = spice_lz.encode(pixels, width, height, RGB32)
        ref_dec, ref_enc = REFERENCE[name]
        print(
            f"{name.split('/', 1)[1]:<26}{rate(mp, dec):>14}{rate(mp, into):>14}{ref_dec:>9.0f}"
            f"{rate(mp, enc):>14}{ref_enc:>9.0f}{len(ours) / len(blob):>10.3f}"
        )
    if not found:
        print(f"(1080p vectors not found under {SHARED}; throughput rows skipped)")

    pixel = b"\x01\x02\x03\x00"
    one = spice_lz.encode(pixel, 1, 1, spice_lz.LzImageType.RGB32)
    out = bytearray(4)
    calls = 20000

    def many(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                fn()

        return run

    over = [
        (label, medians(many(fn), 7)[1] / calls * 1e6)
        for label, fn in [
            ("decode", lambda: spice_lz.decode(one)),
            ("decode_into", lambda: spice_lz.decode_into(one, out, 4)),
            ("encode", lambda: spice_lz.encode(pixel, 1, 1, 8)),
        ]
    ]
    print("per-call overhead on 1x1 (thread-CPU): " + ", ".join(f"{k} {v:.2f} us" for k, v in over))
    return 0


if __name__ == "__main__":
    sys.exit(main())
