"""A seeded mouse walk for pointer tests and benchmarks, and the PS/2 packets a move takes."""

from __future__ import annotations

import random

#: The most one PS/2 mouse packet carries per axis.
PS2_STEP = 127


def seeded_walk(start: tuple[int, int], count: int, size: tuple[int, int]) -> list[tuple[int, int]]:
    """``count`` points from ``start`` inside a ``size`` screen, each differing from the one
    before: small random steps (seed 10), and every 50th a jump across the screen."""
    rng = random.Random(10)
    x, y = start
    path: list[tuple[int, int]] = []
    while len(path) < count:
        if len(path) % 50 == 49:
            x, y = size[0] - 1 - x, size[1] - 1 - y
        else:
            x = min(max(x + rng.randint(-40, 40), 0), size[0] - 1)
            y = min(max(y + rng.randint(-40, 40), 0), size[1] - 1)
        if (x, y) != (path[-1] if path else start):
            path.append((x, y))
    return path


def ps2_packets(a: tuple[int, int], b: tuple[int, int]) -> int:
    """The fewest PS/2 packets a move from ``a`` to ``b`` takes."""
    return max(-(-abs(b[0] - a[0]) // PS2_STEP), -(-abs(b[1] - a[1]) // PS2_STEP))
