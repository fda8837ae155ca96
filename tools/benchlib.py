"""Helpers shared by the codec benchmarks in tools/bench_*.py (timing and golden vectors)."""

from __future__ import annotations

import compileall
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def vectors_dir(*, with_subset: bool = False) -> Path | None:
    """$SPICE_VECTORS_DIR, else ../shared/vectors (else, with ``with_subset``, tests/vectors)."""
    env = os.environ.get("SPICE_VECTORS_DIR")
    candidates = [Path(env)] if env else [ROOT.parent / "shared" / "vectors"]
    if with_subset and not env:
        candidates.append(ROOT / "tests" / "vectors")
    for d in candidates:
        if (d / "manifest.json").exists():
            return d
    return None


def load_cases(names: list[str]) -> list[tuple[str, bytes, bytes, int, int]]:
    """(name, blob, first expected pixels, width, height) of the named vector cases that exist."""
    base = vectors_dir()
    if base is None:
        return []
    found = []
    for case in json.loads((base / "manifest.json").read_text())["cases"]:
        if case["name"] in names:
            blob = (base / case["encoded"]["path"]).read_bytes()
            pixels = (base / case["expected"][0]["path"]).read_bytes()
            found.append((case["name"], blob, pixels, case["width"], case["height"]))
    return found


def median_wall_cpu(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and thread-CPU seconds of ``runs`` calls (after one warm-up call)."""
    fn()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(wall), statistics.median(cpu)


def mp_rates(megapixels: float, seconds: tuple[float, float]) -> str:
    """``wall / cpu`` megapixels per second, for a table column."""
    return f"{megapixels / seconds[0]:6.0f} /{megapixels / seconds[1]:5.0f}"


def byte_compile(*pythonpaths: str | None) -> None:
    """Write the bytecode of our packages (and of the ``os.pathsep``-joined source trees in
    ``pythonpaths``) as an installed package has it, before a start-up is measured.

    pip compiles a wheel's modules when it installs them; an editable checkout gets its
    ``__pycache__`` on the first import, unless ``PYTHONDONTWRITEBYTECODE`` is set (as on
    the machine these benchmarks ran on).  Without it every start compiles every module of
    ours again (~35 % of the instructions of importing spice_cli._view).
    """
    roots = [str(path) for path in sorted((ROOT / "packages").glob("*/src"))]
    for joined in pythonpaths:
        roots += [part for part in (joined or "").split(os.pathsep) if part]
    for root in roots:
        compileall.compile_dir(root, quiet=1)
