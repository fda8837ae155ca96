"""LZ codec throughput: decode and encode megapixels/s on the 1080p vectors, plus per-call overhead.

Prints a table (median of --runs timings each); asserts nothing. Each figure
is given twice: wall clock, and CPU time of the calling thread (the C core runs
on it), which stays meaningful when other processes share the cores. The 1080p
frames come from ../shared/vectors; without them only the overhead is shown.

    python tools/bench_lz.py [--runs 9]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import spice_lz
from benchlib import load_cases, median_wall_cpu, mp_rates

ROOT = Path(__file__).resolve().parents[1]
RGB32 = spice_lz.ImageType.RGB32
FRAMES = ["lz/desktop_1920x1080_rgb32", "lz/photo_1920x1080_rgb32"]
# Reference C decoder / encoder figures from the project brief (MP/s).
REFERENCE = {
    "lz/desktop_1920x1080_rgb32": (870.0, 130.0),
    "lz/photo_1920x1080_rgb32": (415.0, 67.0),
}


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
    found = load_cases(FRAMES)
    for name, blob, pixels, width, height in found:
        mp = width * height / 1e6
        dec = median_wall_cpu(lambda b=blob: spice_lz.decode(b), runs)
        buf = bytearray(width * height * 4)
        into = median_wall_cpu(lambda b=blob, o=buf, w=width: spice_lz.decode_into(b, o, w * 4), runs)
        enc = median_wall_cpu(lambda p=pixels, w=width, h=height: spice_lz.encode(p, w, h, RGB32), runs)
        ours = spice_lz.encode(pixels, width, height, RGB32)
        ref_dec, ref_enc = REFERENCE[name]
        print(
            f"{name.split('/', 1)[1]:<26}{mp_rates(mp, dec):>14}{mp_rates(mp, into):>14}{ref_dec:>9.0f}"
            f"{mp_rates(mp, enc):>14}{ref_enc:>9.0f}{len(ours) / len(blob):>10.3f}"
        )
    if not found:
        print("(1080p vectors not found in ../shared/vectors or $SPICE_VECTORS_DIR; throughput rows skipped)")

    pixel = b"\x01\x02\x03\x00"
    one = spice_lz.encode(pixel, 1, 1, spice_lz.ImageType.RGB32)
    out = bytearray(4)
    calls = 20000

    def many(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                fn()

        return run

    over = [
        (label, median_wall_cpu(many(fn), 7)[1] / calls * 1e6)
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
