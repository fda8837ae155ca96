"""QUIC codec throughput: decode and encode megapixels/s on the 1080p vectors, plus per-call overhead.

Prints a table and asserts nothing.  Every rate is the median of --runs calls
(after one warm-up), shown as wall clock / CPU time of the calling thread (the
C core runs on it); the CPU figure stays meaningful when other processes share
the cores.  The 1080p frames come from ../shared/vectors; without them only the
per-call overhead is printed.

    python tools/bench_quic.py [--runs 9]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import spice_quic
from benchlib import load_cases, median_wall_cpu, mp_rates

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ["quic/desktop_1920x1080_rgb32", "quic/photo_1920x1080_rgb32"]
# The reference C codec (spice-common quic.c) on the project machine, from the brief: (decode, encode) MP/s.
REFERENCE = {
    "quic/desktop_1920x1080_rgb32": (157.0, 100.0),
    "quic/photo_1920x1080_rgb32": (63.0, 57.0),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed calls per figure (at least 7)")
    args = parser.parse_args()
    runs = max(7, args.runs)
    print(f"spice_quic {spice_quic.__version__}: median of {runs} runs, MP/s as wall / thread-CPU")
    print(
        f"{'image':<22}{'decode':>14}{'decode_into':>14}{'ref dec':>9}"
        f"{'encode':>14}{'ref enc':>9}{'size/ref':>10}"
    )
    frames = load_cases(FRAMES)
    for name, blob, pixels, width, height in frames:
        mp = width * height / 1e6
        target = bytearray(width * height * 4)
        dec = median_wall_cpu(lambda b=blob: spice_quic.decode(b), runs)
        into = median_wall_cpu(lambda b=blob, t=target, s=width * 4: spice_quic.decode_into(b, t, s), runs)
        enc = median_wall_cpu(lambda p=pixels, w=width, h=height: spice_quic.encode(p, w, h, "RGB32"), runs)
        size = len(spice_quic.encode(pixels, width, height, "RGB32")) / len(blob)
        ref_dec, ref_enc = REFERENCE[name]
        print(
            f"{name.split('/', 1)[1]:<22}{mp_rates(mp, dec):>14}{mp_rates(mp, into):>14}{ref_dec:>9.0f}"
            f"{mp_rates(mp, enc):>14}{ref_enc:>9.0f}{size:>10.3f}"
        )
    if not frames:
        print("(1080p vectors not found in ../shared/vectors or $SPICE_VECTORS_DIR: throughput rows skipped)")

    pixel = b"\x10\x20\x30\x00"
    tiny = spice_quic.encode(pixel, 1, 1, "RGB32")
    out = bytearray(4)
    calls = 20000

    def repeat(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                fn()

        return run

    costs = []
    for label, fn in [
        ("decode", lambda: spice_quic.decode(tiny)),
        ("decode_into", lambda: spice_quic.decode_into(tiny, out, 4)),
        ("encode", lambda: spice_quic.encode(pixel, 1, 1, spice_quic.ImageType.RGB32)),
    ]:
        costs.append(f"{label} {median_wall_cpu(repeat(fn), 7)[1] / calls * 1e6:.2f} us")
    print("per-call overhead on 1x1 (thread-CPU): " + ", ".join(costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
