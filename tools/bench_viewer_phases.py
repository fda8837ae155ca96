"""Where a demo stream frame's CPU goes in ``spice view``: decode, window copy, present, the rest.

``bench_viewer_calls.py`` counts Python calls; this measures time, with the thread CPU clock
(``CLOCK_THREAD_CPUTIME_ID``: only what the thread ran, never its waits).  It starts Xvfb and
``spice serve --source demo``, runs ``spice view`` on it with four of its functions wrapped,
and after ``--warmup`` seconds (past trio's start-up worker thread, which exits ~10.5 s
after start) adds up, for ``--seconds``, the main thread's CPU inside each of them and in
all.  Frames are the JPEGs decoded meanwhile.  Each wrapped call reads the clock twice
(~1 us).  Prints ms a frame per phase for each of ``--runs`` runs; asserts nothing.

    python tools/bench_viewer_phases.py [--seconds 10] [--warmup 12] [--runs 3]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_viewer import (
    SPICE,
    XVFB_SIZE,
    free_port,
    instrumented_viewer,
    listening,
    run_instrumented_viewer,
    start,
    stop,
    wait_for,
    xvfb_display,
)

#: (module, class, method, label) of the phases timed, in the order printed.
PHASES = (
    ("spice_session._video", "MjpegDecoder", "decode", "JPEG decode (simplejpeg)"),
    ("spice_cli._sdl_window", "Window", "put", "frame into the window's framebuffer"),
    ("spice_cli._sdl_window", "Window", "present", "present (SDL updates the window)"),
    ("spice_cli._sdl_window", "Window", "events_queued", "SDL and Xlib event-queue checks"),
)
FRAMES_LABEL = PHASES[0][3]


def measured(uri: str, warmup: float, seconds: float, out: Path) -> None:
    """In the viewer's process: run ``spice view uri`` with the phases wrapped, write the
    main thread's CPU (ns) in each and in all to ``out``, exit."""
    import importlib

    spent: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    on = False
    main = threading.get_ident()

    def wrapped(original: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not on or threading.get_ident() != main:
                return original(*args, **kwargs)
            started = time.thread_time_ns()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += time.thread_time_ns() - started
                calls[label] += 1

        return timed

    for module, cls_name, method, label in PHASES:
        cls = getattr(importlib.import_module(module), cls_name)
        setattr(cls, method, wrapped(getattr(cls, method), label))

    cpu_clock = time.pthread_getcpuclockid(main)
    before = 0

    def begin() -> None:
        nonlocal on, before
        before = time.clock_gettime_ns(cpu_clock)
        on = True

    def end() -> dict[str, object]:
        nonlocal on
        on = False
        return {"total": time.clock_gettime_ns(cpu_clock) - before, "spent": spent, "calls": calls}

    instrumented_viewer(uri, warmup, seconds, begin, end, out)


def bench(seconds: float, warmup: float, runs: int) -> None:
    print(f"\nspice view: main thread CPU per demo stream frame by phase, Xvfb {XVFB_SIZE}")
    print(f"({seconds:g} s measured after {warmup:g} s, {runs} viewers one after the other)")
    if shutil.which("Xvfb") is None:
        print("skipped: missing Xvfb")
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-phases-") as tmp, xvfb_display(Path(tmp)) as env:
        logs = Path(tmp)
        port = free_port()
        server = start([SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"], logs, "serve")
        try:
            wait_for("spice serve", lambda: listening(port), server)
            uri = f"spice://127.0.0.1:{port}"
            for run in range(runs):
                results.append(
                    run_instrumented_viewer(__file__, uri, warmup, seconds, env, logs, f"view{run}")
                )
        finally:
            stop(server)
    header = "".join(f"{'run ' + str(i + 1):>9}" for i in range(runs))
    print(f"{'ms a frame':<44}{header}")
    rows: list[tuple[str, list[float]]] = []
    for result in results:
        if not result["calls"].get(FRAMES_LABEL):
            raise RuntimeError("no JPEG was decoded while measuring")
    for _, _, _, label in PHASES:
        rows.append((label, [r["spent"].get(label, 0) / 1e6 / r["calls"][FRAMES_LABEL] for r in results]))
    rest = [(r["total"] - sum(r["spent"].values())) / 1e6 / r["calls"][FRAMES_LABEL] for r in results]
    rows.append(("everything else: trio, our layers, syscalls", rest))
    rows.append(("main thread", [r["total"] / 1e6 / r["calls"][FRAMES_LABEL] for r in results]))
    for label, values in rows:
        print(f"{label:<44}" + "".join(f"{v:>9.3f}" for v in values))
    print("frames: " + ", ".join(str(r["calls"][FRAMES_LABEL]) for r in results))


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        measured(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time (default 10)")
    parser.add_argument("--warmup", type=float, default=12.0, help="seconds before measuring (default 12)")
    parser.add_argument("--runs", type=int, default=3, help="viewers run one after the other (default 3)")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    bench(args.seconds, args.warmup, args.runs)


if __name__ == "__main__":
    main()
