"""Time to find a 64x64 needle anywhere in a 1920x1080 frame (exact and tolerant), and a miss.

Run: ``python tools/bench_match.py``.  The target is at most 10 ms for the exact case.
"""

from __future__ import annotations

import time

import numpy as np
from spice_session.lowlevel import find


def _frame(rng: np.random.Generator) -> np.ndarray:
    """A desktop-like frame: flat panels, some gradient, blocks of text-like noise."""
    frame = np.full((1080, 1920, 3), (48, 52, 60), np.uint8)
    frame[:, :, 0] += (np.arange(1920) // 16 % 8).astype(np.uint8)[None, :]
    for _ in range(60):
        y, x = int(rng.integers(0, 1000)), int(rng.integers(0, 1800))
        frame[y : y + 60, x : x + 100] = rng.integers(0, 255, (60, 100, 3), np.uint8) // 64 * 64
    return frame


def _time(fn, repeat: int = 20) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    needle = rng.integers(0, 255, (64, 64, 3), np.uint8)
    frame[700:764, 1500:1564] = needle
    noisy = frame.copy()
    noisy[700:764, 1500:1564] = np.clip(needle.astype(int) + rng.integers(-6, 7, needle.shape), 0, 255)
    for name, fr, threshold in (("exact", frame, 0.96), ("tolerant", noisy, 0.96)):
        match, best = find(fr, needle, threshold=threshold)
        assert match is not None and (match.x, match.y) == (1500, 700), (name, best)
        ms = _time(lambda fr=fr, t=threshold: find(fr, needle, threshold=t))
        print(f"{name:9} 64x64 in 1920x1080: {ms:6.2f} ms")
    other = rng.integers(0, 255, (64, 64, 3), np.uint8)
    print(f"{'miss':9} 64x64 in 1920x1080: {_time(lambda: find(frame, other)):6.2f} ms")


if __name__ == "__main__":
    main()
