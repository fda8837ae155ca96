"""Python function calls ``spice view`` makes per demo stream frame, by package and function.

CPU time per frame on this stream is noisy (10-15 % between 10 s rounds), and what our layers
add to a frame is about a third of it; the number of Python calls a frame costs is steady
from run to run and follows that part (about 1.6 us a call here, with the body it runs).  This
counts them.  It starts Xvfb and ``spice serve --source demo``, runs ``spice view`` on it with
a profile hook on every thread, and after 4 s (``WARMUP``) counts each function entered
(a coroutine resumed counts again: that is a frame entered too) for ``--seconds``.  Frames
are the stream frames the session handled in that time.  Prints the calls per frame, the
share of each package, and the ``--top`` functions.  Asserts nothing.

    python tools/bench_viewer_calls.py [--seconds 10] [--top 25] [--callers NAME]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
from pathlib import Path

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

#: Seconds the viewer runs before the count starts.
WARMUP = 4.0
#: Where a stream frame is handled once (one DISPLAY_STREAM_DATA): the frame count.
FRAME_FUNCTION = ("_streams.py", "frame")


def _where(filename: str) -> str:
    """A code object's file as ``package/module.py`` (``<string>`` and the like as they are)."""
    parts = Path(filename).parts
    for i, part in enumerate(parts):
        if part in ("site-packages", "src") and i + 2 < len(parts):
            return "/".join(parts[i + 1 :])
    if "python3" in filename:
        return "stdlib/" + parts[-1]
    return parts[-1] if parts else filename


def counted(uri: str, warmup: float, seconds: float, out: Path, callers_of: str = "") -> None:
    """In the viewer's process: run ``spice view uri``, count calls, write them to ``out``, exit.

    With ``callers_of``, also count who called each function whose ``file:name`` contains it.
    """
    import threading
    import types

    calls: collections.Counter[types.CodeType] = collections.Counter()
    pairs: collections.Counter[tuple[types.CodeType, types.CodeType]] = collections.Counter()
    on = False

    def name(code: types.CodeType) -> str:
        return f"{_where(code.co_filename)}:{code.co_name}"

    def hook(frame: types.FrameType, event: str, arg: object) -> None:
        if on and event == "call":
            calls[frame.f_code] += 1
            if callers_of and frame.f_back is not None:
                pairs[(frame.f_back.f_code, frame.f_code)] += 1

    def begin() -> None:
        nonlocal on
        on = True

    def end() -> dict[str, object]:
        nonlocal on
        on = False
        by_function: collections.Counter[str] = collections.Counter()
        frames = 0
        for code, n in calls.items():
            where = _where(code.co_filename)
            by_function[f"{where}:{code.co_name}"] += n
            if where.endswith(FRAME_FUNCTION[0]) and code.co_name == FRAME_FUNCTION[1]:
                frames += n
        by_pair: collections.Counter[str] = collections.Counter()
        for (caller, callee), n in pairs.items():
            if callers_of in name(callee):
                by_pair[f"{name(callee)} <- {name(caller)}"] += n
        return {"frames": frames, "calls": dict(by_function), "callers": dict(by_pair)}

    sys.setprofile(hook)
    threading.setprofile(hook)
    instrumented_viewer(uri, warmup, seconds, begin, end, out)


def bench(seconds: float, top: int, callers_of: str = "") -> None:
    print(f"\nspice view: Python calls per demo stream frame, over {seconds:g} s, Xvfb {XVFB_SIZE}")
    if shutil.which("Xvfb") is None:
        print("skipped: missing Xvfb")
        return
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp, xvfb_display(Path(tmp)) as env:
        logs = Path(tmp)
        port = free_port()
        serve = [SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"]
        server = start(serve, logs, "serve")
        try:
            wait_for("spice serve", lambda: listening(port), server)
            uri = f"spice://127.0.0.1:{port}"
            extra = [callers_of] if callers_of else []
            counts = run_instrumented_viewer(__file__, uri, WARMUP, seconds, env, logs, "view", extra)
        finally:
            stop(server)
    frames, calls = counts["frames"], collections.Counter(counts["calls"])
    if not frames:
        raise RuntimeError("no stream frame was handled while counting")
    total = sum(calls.values())
    print(f"{frames} frames, {total} calls: {total / frames:.0f} calls a frame")
    packages: collections.Counter[str] = collections.Counter()
    for name, n in calls.items():
        packages[name.split("/")[0] if "/" in name.split(":")[0] else "other"] += n
    print(f"{'package':<20} {'calls a frame':>14}")
    for package, n in packages.most_common():
        print(f"{package:<20} {n / frames:>14.1f}")
    print(f"{'function':<60} {'calls a frame':>14}")
    for name, n in calls.most_common(top):
        print(f"{name:<60} {n / frames:>14.1f}")
    if callers_of:
        print(f"{'callers of *' + callers_of + '*':<60} {'calls a frame':>14}")
        for pair, n in collections.Counter(counts["callers"]).most_common(top):
            print(f"{pair:<60} {n / frames:>14.1f}")


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        callers_of = sys.argv[6] if len(sys.argv) > 6 else ""
        counted(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]), callers_of)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="counted time (default 10)")
    parser.add_argument("--top", type=int, default=25, help="functions listed (default 25)")
    parser.add_argument(
        "--callers", default="", help="also list the callers of the functions whose file:name contains this"
    )
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    bench(args.seconds, args.top, args.callers)


if __name__ == "__main__":
    main()
