"""How long ``spice screenshot`` and ``spice view`` take from their start to the server's port.

A bare TCP listener stands in for the server: the time from spawning the command to
accept(), and the child's CPU seconds at that moment (/proc), is what the command spends
before its first byte can go out (Python, imports, SDL set-up...).  Then the child is
killed.  ``spice view`` runs on a private Xvfb.  With ``--before SRC`` (``src`` directories
of another spice-cli/spice-session tree joined by ``:``, as for PYTHONPATH) that version runs
too, alternated with this one.  Medians of ``--runs``; asserts nothing about speed.

    python tools/bench_cli_connect.py [--runs 10] [--before /tmp/old/packages/spice-cli/src:...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from bench_viewer import SPICE, cpu_seconds, free_display, start, stop, wait_for  # noqa: E402
from benchlib import byte_compile  # noqa: E402

LIMIT = 60.0


def to_connect(argv: list[str], env: dict[str, str], logs: Path, name: str) -> tuple[float, float]:
    """(wall s, child CPU s) from spawning ``argv`` (with ``{port}`` filled in) to its connect."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.005)
        port = listener.getsockname()[1]
        t0 = time.perf_counter()
        child = start([a.format(port=port) for a in argv], logs, name, env)
        try:
            while True:
                try:
                    conn, _ = listener.accept()
                    break
                except TimeoutError:
                    if child.poll() is not None or time.perf_counter() - t0 > LIMIT:
                        log = (logs / f"{name}.log").read_text(errors="replace")[-2000:]
                        raise RuntimeError(f"{argv[1]} ({name}) did not connect:\n{log}") from None
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(child.pid)
            conn.close()
        finally:
            stop(child)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--before", metavar="SRC", help="PYTHONPATH of the version to compare with")
    opts = parser.parse_args()
    byte_compile(opts.before)
    logs = Path(tempfile.mkdtemp(prefix="bench-cli-connect-"))
    display = free_display()
    xvfb = start(["Xvfb", f":{display}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], logs, "xvfb")
    try:
        wait_for("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{display}"), xvfb)
        base = {**os.environ, "DISPLAY": f":{display}"}
        versions = {"now": base}
        if opts.before:
            versions = {"before": {**base, "PYTHONPATH": opts.before}, **versions}
        commands = {
            "screenshot": [SPICE, "screenshot", "spice://127.0.0.1:{port}", str(logs / "out.png")],
            "view": [SPICE, "view", "spice://127.0.0.1:{port}"],
            "view --no-audio": [SPICE, "view", "--no-audio", "spice://127.0.0.1:{port}"],
        }
        for label, argv in commands.items():
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in versions}
            for _ in range(opts.runs):
                for name, env in versions.items():
                    results[name].append(to_connect(argv, env, logs, name))
            for name, runs in results.items():
                wall = statistics.median(w for w, _ in runs)
                cpu = statistics.median(c for _, c in runs)
                print(
                    f"spice {label:<16} {name:>6}: to connect {wall * 1000:5.0f} ms wall,"
                    f" {cpu * 1000:5.0f} ms CPU"
                )
    finally:
        stop(xvfb)
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
