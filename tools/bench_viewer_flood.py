"""Viewers on a flooded Xspice (issue 14): time to the first picture and CPU, ours against remote-viewer.

An xterm in Xspice scrolls ``ls -l`` as fast as it can; only then does each viewer
connect (``spice view`` and remote-viewer on the same Xvfb display, one after the other,
each with a fresh Xspice).  The first picture is the moment the viewer's window on Xvfb
shows the xterm (over 150,000 white pixels; the Xvfb root is black).  CPU comes from
/proc/<pid>/stat for the viewer process and for Xspice's Xorg over ``--seconds``.
``spice screenshot`` is timed too (connect to PNG written, ``--settle 0``), and
``spice_session.connect`` alone (from the call to every channel linked, in a fresh process).
Prints a table (medians over ``--rounds``); asserts nothing about speed.  With ``--before
PATH`` (a PYTHONPATH holding another tree's packages, e.g. ``/tmp/old/packages/*/src`` joined
by ``:``) ``spice view`` and ``spice screenshot`` of that tree run too, alternated round by
round with this one's.

    python tools/bench_viewer_flood.py [--seconds 8] [--rounds 3] [--before PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS.parent / "tests"))

from bench_server import XORG, XSPICE_CONFIG, start_xspice  # noqa: E402
from bench_viewer import SPICE, cpu_seconds, free_display, start, stop, wait_for  # noqa: E402
from benchlib import byte_compile  # noqa: E402
from peers.x11 import parse_xwd  # noqa: E402

FLOOD = "while :; do ls -l /usr/lib /usr/share; done"
STILL = "ls -l /usr/lib | head -38; exec sleep infinity"
WHITE_SHOWN = 150_000
FIRST_PICTURE_LIMIT = 60.0


def white_pixels(display: int) -> int:
    out = subprocess.run(
        ["xwd", "-root", "-silent", "-display", f":{display}"], capture_output=True, check=True, timeout=10
    ).stdout
    return int((parse_xwd(out) == 255).all(axis=2).sum())


def flooded_xspice(
    logs: Path, flood: bool = True
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], int]:
    """A fresh Xspice whose xterm floods (or shows still text); (Xorg, xterm, port) 2 s after its start."""
    xspice, port, number = start_xspice(logs)
    script = FLOOD if flood else STILL
    argv = ["xterm", "-geometry", "80x40+0+0", "-bg", "white", "-fg", "black", "-e", "sh", "-c", script]
    xterm = start(argv, logs, "xterm", {**os.environ, "DISPLAY": f":{number}"})
    time.sleep(2.0)
    return xspice, xterm, port


def one_round(
    name: str, argv: list[str], env: dict[str, str], display: int, logs: Path, seconds: float, flood: bool
) -> tuple[float, float, float]:
    """(seconds to the first picture, viewer CPU per s, Xorg CPU per s)."""
    xspice, xterm, port = flooded_xspice(logs, flood)
    viewer = None
    try:
        begin = time.monotonic()
        viewer = start([*argv, f"spice://127.0.0.1:{port}"], logs, name.replace(" ", "-"), env)
        while white_pixels(display) < WHITE_SHOWN:
            if viewer.poll() is not None:
                raise RuntimeError(f"{name} exited early (see {logs})")
            if time.monotonic() - begin > FIRST_PICTURE_LIMIT:
                return float("inf"), float("nan"), float("nan")
            time.sleep(0.05)
        first = time.monotonic() - begin
        time.sleep(1.0)
        v0, s0 = cpu_seconds(viewer.pid), cpu_seconds(xspice.pid)
        time.sleep(seconds)
        return first, (cpu_seconds(viewer.pid) - v0) / seconds, (cpu_seconds(xspice.pid) - s0) / seconds
    finally:
        for proc in (viewer, xterm, xspice):
            if proc is not None:
                stop(proc)


def screenshot_round(logs: Path, flood: bool, env: dict[str, str] | None = None) -> float:
    """Seconds ``spice screenshot --settle 0`` needs on a flooded (or still) Xspice (inf: it failed)."""
    xspice, xterm, port = flooded_xspice(logs, flood)
    try:
        begin = time.monotonic()
        argv = [SPICE, "screenshot", f"spice://127.0.0.1:{port}", str(logs / "shot.png"), "--settle", "0"]
        result = subprocess.run(
            [*argv, "--timeout", "30"], capture_output=True, check=False, timeout=60, env=env
        )
        return time.monotonic() - begin if result.returncode == 0 else float("inf")
    finally:
        stop(xterm)
        stop(xspice)


#: Times ``spice_session.connect`` to the URI in argv[1]: prints the seconds until it yields.
CONNECT = """
import sys, time, trio, spice_session
async def main():
    begin = time.monotonic()
    async with spice_session.connect(sys.argv[1], timeout=30):
        print(time.monotonic() - begin)
trio.run(main)
"""


def connect_round(logs: Path, flood: bool) -> float:
    """Seconds ``spice_session.connect`` needs on a flooded (or still) Xspice (inf: it failed)."""
    xspice, xterm, port = flooded_xspice(logs, flood)
    try:
        argv = [sys.executable, "-c", CONNECT, f"spice://127.0.0.1:{port}"]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        return float(result.stdout) if result.returncode == 0 else float("inf")
    finally:
        stop(xterm)
        stop(xspice)


def bench(seconds: float, rounds: int, before: str | None = None) -> None:
    print(
        f"\nviewers on Xspice flooded by an xterm before they connect, {seconds:g} s CPU each, "
        f"medians of {rounds}"
    )
    byte_compile(before)
    needed = ("Xvfb", "xterm", "xwd")
    if not (os.path.exists(XORG) and os.path.exists(XSPICE_CONFIG)) or any(
        shutil.which(b) is None for b in needed
    ):
        print(f"skipped: needs Xspice ({XORG}), {', '.join(needed)}")
        return
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        logs = Path(tmp)
        number = free_display()
        xvfb = start(
            ["Xvfb", f":{number}", "-screen", "0", "1280x900x24", "-br", "-nolisten", "tcp"], logs, "xvfb"
        )
        try:
            wait_for("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{number}"), xvfb)
            env = {**os.environ, "DISPLAY": f":{number}", "SDL_AUDIODRIVER": "dummy", "GDK_BACKEND": "x11"}
            env.pop("WAYLAND_DISPLAY", None)
            old_env = {**env, "PYTHONPATH": before} if before else None
            viewers = [("spice view", [SPICE, "view", "--no-audio"], env)]
            if old_env is not None:
                viewers.insert(0, ("spice view before", [SPICE, "view", "--no-audio"], old_env))
            if shutil.which("remote-viewer"):
                viewers.append(("remote-viewer", ["remote-viewer"], env))
            print(f"{'client':<17} {'first picture s':>15} {'client CPU/s':>12} {'Xorg CPU/s':>11}")
            for flood in (True, False):
                print("flooding xterm:" if flood else "still xterm (the same clients without the flood):")
                runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in viewers}
                for _ in range(rounds):  # the viewers alternate round by round
                    for name, argv, viewer_env in viewers:
                        runs[name].append(one_round(name, argv, viewer_env, number, logs, seconds, flood))
                for name, results in runs.items():
                    first, cpu, server = (statistics.median(r[i] for r in results) for i in range(3))
                    every = " ".join(f"{r[0]:.2f}" for r in results)
                    print(f"{name:<17} {first:>15.2f} {cpu:>12.3f} {server:>11.3f}   (first: {every})")
            shooters = [("spice screenshot", None)]
            if old_env is not None:
                shooters.insert(0, ("screenshot before", old_env))
            for flood in (True, False):
                shots: dict[str, list[float]] = {name: [] for name, _ in shooters}
                for _ in range(rounds):
                    for name, shot_env in shooters:
                        shots[name].append(screenshot_round(logs, flood, shot_env))
                label = "flooding" if flood else "still"
                for name, times in shots.items():
                    every = " ".join(f"{s:.2f}" for s in times)
                    print(f"{name:<17} {statistics.median(times):>15.2f}   ({label} xterm, to PNG: {every})")
            for flood in (True, False):
                links = [connect_round(logs, flood) for _ in range(rounds)]
                every = " ".join(f"{s:.3f}" for s in links)
                label = "flooding" if flood else "still"
                print(f"{'ss.connect':<17} {statistics.median(links):>15.3f}   ({label} xterm: {every})")
        finally:
            stop(xvfb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="CPU measuring time per viewer (default 8)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="fresh Xspice per viewer and round (default 3)")
    parser.add_argument("--before", metavar="PATH", help="PYTHONPATH of another tree to compare with")
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    bench(args.seconds, args.rounds, args.before)


if __name__ == "__main__":
    main()
