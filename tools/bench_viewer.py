"""Viewer CPU: ``spice view`` against remote-viewer on the same server, in the same run.

One ``spice serve`` (our server) shows a source; each viewer in turn opens it on the same
Xvfb display and is measured for the same time.  A viewer's CPU is given two ways (the
viewer process only; the server's CPU is listed apart):

- ``sched``: the scheduler's run time of the process's threads (``sum_exec_runtime``, from
  ``/proc/<pid>/task/*/schedstat``, in ns), each thread from its own start value: a thread
  that exits while it is measured takes its time with it, and a ``*`` marks such a row.
- ``ticks``: utime + stime from ``/proc/<pid>/stat``, in 10 ms clock ticks (every thread,
  exited ones too), too coarse for a ratio of two 0.2 s figures on its own.

Summing the live threads' run times at both ends instead is wrong: a thread that exits in
between (trio's idle worker, 10 s after start-up) takes its whole past run time off the
total, and the viewer looks ~20 % cheaper than it is.

Cases: the animated demo (``--source demo``), a still picture (an idle session: the viewer
should cost about nothing), and Xspice (a real libspice-server) showing an xterm that
scrolls text continuously.  The demo is also watched by both viewers at once, over the same
seconds (``--together-rounds``, the start order alternating): the steadiest comparison,
since both see the same load.  Prints tables; asserts nothing about speed.

The xterm case is compared per unit of the same terminal output: the xterm counts the
loops of its listing, and each viewer's CPU (and Xorg's, and the bytes the viewer received)
is divided by the loops done while it watched.  Per Xorg CPU second is not a fair unit:
Xorg spends 1.7-1.9x more CPU a loop while remote-viewer watches (it drains slower).

    python tools/bench_viewer.py [--seconds 8] [--together-rounds 4] [--skip-viewer-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPICE = str(Path(sys.executable).with_name("spice"))
XVFB_SIZE = "1280x900x24"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_run_ns(pid: int) -> dict[int, int]:
    """Each live thread's run time so far (ns), by thread id."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # it exited meanwhile
    return out


class CpuMeter:
    """A process's CPU from now until :meth:`read`, by both clocks (see the module docstring)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._threads = thread_run_ns(pid)
        self._ticks = cpu_seconds(pid)

    def read(self) -> tuple[float, float, bool]:
        """(run time s, ticks s, whether a thread measured exited before the end)."""
        now, ticks = thread_run_ns(self.pid), cpu_seconds(self.pid)
        ran = sum(ns - self._threads.get(tid, 0) for tid, ns in now.items())
        return ran / 1e9, ticks - self._ticks, not self._threads.keys() <= now.keys()


def still_picture(path: Path) -> Path:
    """A 1024x768 picture with gradients and text-like detail for the idle case."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:768, 0:1024]
    rgb = np.stack([x * 255 // 1023, y * 255 // 767, ((x // 8 + y // 16) % 2) * 200], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def loops(counter: Path) -> int:
    """What the benchmark's terminal loop wrote last (0 before its first loop)."""
    try:
        return int(counter.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def received(port: int) -> int:
    """Bytes the client sockets connected to ``port`` received so far (``ss -ti``)."""
    try:
        out = subprocess.run(
            ["ss", "-tinH", "state", "established", f"dport = :{port}"], capture_output=True, text=True
        ).stdout
    except OSError:
        return 0
    return sum(int(word.split(":")[1]) for word in out.split() if word.startswith("bytes_received:"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_display() -> int:
    for n in range(400, 700):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def wait_for(what: str, ready: object, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def xvfb_display(logs: Path) -> Iterator[dict[str, str]]:
    """An Xvfb of :data:`XVFB_SIZE` for the block; yields the environment of programs shown on it."""
    number = free_display()
    argv = ["Xvfb", f":{number}", "-screen", "0", XVFB_SIZE, "-nolisten", "tcp", "-noreset"]
    xvfb = start(argv, logs, "xvfb")
    try:
        wait_for("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{number}"), xvfb)
        env = {**os.environ, "DISPLAY": f":{number}", "SDL_AUDIODRIVER": "dummy", "GDK_BACKEND": "x11"}
        env.pop("WAYLAND_DISPLAY", None)
        yield env
    finally:
        stop(xvfb)


def start(
    argv: list[str], logs: Path, name: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with open(logs / f"{name}.log", "wb") as out:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_viewer(
    argv: list[str], env: dict[str, str], logs: Path, name: str, server_pid: int, seconds: float
) -> tuple[tuple[float, float, bool], float]:
    """((viewer run time s, ticks s, a thread exited), server run time s) over ``seconds``,
    after a 3 s warm-up."""
    viewer = start(argv, logs, name, env)
    try:
        time.sleep(3.0)
        if viewer.poll() is not None:
            raise RuntimeError(f"{name} exited early (see {logs / (name + '.log')})")
        meter, server = CpuMeter(viewer.pid), CpuMeter(server_pid)
        time.sleep(seconds)
        return meter.read(), server.read()[0]
    finally:
        stop(viewer)


def run_together(
    viewers: dict[str, tuple[list[str], dict[str, str]]], logs: Path, tag: str, warmup: float, seconds: float
) -> dict[str, tuple[float, float, bool]]:
    """Start ``viewers`` (name: argv and environment) in their order, wait ``warmup`` s, then
    measure all of them over the same ``seconds`` (:class:`CpuMeter`: run time s, ticks s,
    a thread exited); stops them.  Logs go to ``logs/<tag>-<name>.log``."""
    procs = {
        name: start(argv, logs, f"{tag}-{name.replace(' ', '-')}", env)
        for name, (argv, env) in viewers.items()
    }
    try:
        time.sleep(warmup)
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early (see {logs})")
        meters = {name: CpuMeter(proc.pid) for name, proc in procs.items()}
        time.sleep(seconds)
        return {name: meter.read() for name, meter in meters.items()}
    finally:
        for proc in procs.values():
            stop(proc)


def instrumented_viewer(
    uri: str, warmup: float, seconds: float, begin: Callable[[], None], end: Callable[[], Any], out: Path
) -> None:
    """In a measured viewer's own process: run ``spice view uri``; ``warmup`` s after the start
    call ``begin``, ``seconds`` later write what ``end`` returns to ``out`` as JSON and exit."""

    def clock() -> None:
        time.sleep(warmup)
        begin()
        time.sleep(seconds)
        out.write_text(json.dumps(end()))
        os._exit(0)

    threading.Thread(target=clock, daemon=True).start()
    from spice_cli import main

    sys.argv = ["spice", "view", "--no-audio", uri]
    main()


def run_instrumented_viewer(
    script: str,
    uri: str,
    warmup: float,
    seconds: float,
    env: dict[str, str],
    logs: Path,
    name: str,
    extra: Sequence[str] = (),
) -> Any:
    """Run ``script --measure URI WARMUP SECONDS OUT [EXTRA...]`` (a viewer that calls
    :func:`instrumented_viewer`) to its end; what it wrote."""
    out = logs / f"{name}.json"
    argv = [sys.executable, script, "--measure", uri, str(warmup), str(seconds), str(out), *extra]
    viewer = start(argv, logs, name, env)
    try:
        viewer.wait(warmup + seconds + 30)
    finally:
        stop(viewer)
    if not out.exists():
        raise RuntimeError(f"the measured viewer wrote nothing (see {logs / (name + '.log')})")
    return json.loads(out.read_text())


def bench(seconds: float, rounds: int) -> None:
    print(f"\nviewer CPU on the same server (our spice serve), {seconds:g} s each, Xvfb {XVFB_SIZE}")
    missing = [b for b in ("Xvfb", "remote-viewer") if shutil.which(b) is None]
    if shutil.which("Xvfb") is None:
        print(f"skipped: missing {', '.join(missing)}")
        return
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as tmp:
        logs = Path(tmp)
        with xvfb_display(logs) as env:
            print(
                f"{'source':<8} {'viewer':<16} {'viewer CPU s: sched':>19} {'ticks':>6} {'per s':>7} "
                f"{'server CPU s':>13}"
            )
            print("(server: our spice serve for demo and still, the Xorg process of Xspice for xterm)")
            still = still_picture(logs / "still.png")
            for label, source in (("demo", ["demo"]), ("still", ["image", str(still)])):
                port = free_port()
                server = start(
                    [SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", *source],
                    logs,
                    f"serve-{label}",
                )
                try:
                    wait_for("spice serve", lambda port=port: listening(port), server)
                    uri = f"spice://127.0.0.1:{port}"
                    viewers = [("spice view", [SPICE, "view", "--no-audio", uri])]
                    if "remote-viewer" not in missing:
                        viewers.append(("remote-viewer", ["remote-viewer", uri]))
                    for name, argv in viewers:
                        (ran, ticks, exited), server_cpu = measure_viewer(
                            argv, env, logs, name.replace(" ", "-"), server.pid, seconds
                        )
                        mark = "*" if exited else " "
                        print(
                            f"{label:<8} {name:<16} {ran:>18.3f}{mark} {ticks:>6.2f} {ran / seconds:>7.3f} "
                            f"{server_cpu:>13.2f}"
                        )
                finally:
                    stop(server)
            if "remote-viewer" not in missing:
                demo_together(env, logs, seconds, rounds)
            xterm_in_xspice(env, logs, seconds, missing)
            if missing:
                print(f"remote-viewer skipped: missing {', '.join(missing)}")


def demo_together(env: dict[str, str], logs: Path, seconds: float, rounds: int) -> None:
    """Both viewers on one demo server at the same time, measured over the same seconds.

    Measured one after the other, the same viewer's CPU moves by 10-20 % between runs (what
    else the two cores do); side by side, both see the same load and the ratio moves by a
    few percent.  The viewer started first costs a few percent less, so the order
    alternates by round.
    """
    port = free_port()
    server = start(
        [SPICE, "serve", "--listen", f"127.0.0.1:{port}", "--source", "demo"], logs, "serve-together"
    )
    uri = f"spice://127.0.0.1:{port}"
    argvs = {"spice view": [SPICE, "view", "--no-audio", uri], "remote-viewer": ["remote-viewer", uri]}
    print(f"demo, both viewers at once on one server, {seconds:g} s a round (CPU s: sched / ticks):")
    ratios: list[float] = []
    tick_ratios: list[float] = []
    try:
        wait_for("spice serve", lambda: listening(port), server)
        for round_ in range(rounds):
            order = list(argvs) if round_ % 2 == 0 else list(argvs)[::-1]
            used = run_together(
                {name: (argvs[name], env) for name in order}, logs, f"together-{round_}", 3.0, seconds
            )
            ours, theirs = used["spice view"], used["remote-viewer"]
            ratios.append(ours[0] / max(theirs[0], 1e-9))
            tick_ratios.append(ours[1] / max(theirs[1], 1e-9))
            marks = {name: "*" if u[2] else "" for name, u in used.items()}
            print(
                f"  round {round_ + 1} ({order[0]} first): "
                f"spice view {ours[0]:.3f}{marks['spice view']} / {ours[1]:.2f} s, "
                f"remote-viewer {theirs[0]:.3f}{marks['remote-viewer']} / {theirs[1]:.2f} s, "
                f"ratio {ratios[-1]:.2f} / {tick_ratios[-1]:.2f}"
            )
    finally:
        stop(server)
    if ratios:
        print(
            f"  spice view / remote-viewer CPU, median of {len(ratios)} rounds: "
            f"{statistics.median(ratios):.2f} by run time, {statistics.median(tick_ratios):.2f} by ticks"
        )


def xterm_in_xspice(env: dict[str, str], logs: Path, seconds: float, missing: list[str]) -> None:
    """The same viewers on Xspice showing a continuously scrolling xterm.

    Each viewer connects first and the xterm starts 3 s later (steady-state CPU only;
    ``tools/bench_viewer_flood.py`` measures viewers connecting while the xterm floods).
    """
    from bench_server import XORG, XSPICE_CONFIG, start_xspice

    if not (os.path.exists(XORG) and os.path.exists(XSPICE_CONFIG) and shutil.which("xterm")):
        print(f"{'xterm':<8} skipped: needs Xspice ({XORG}) and xterm")
        return
    viewers = [("spice view", [SPICE, "view", "--no-audio"])]
    if "remote-viewer" not in missing:
        viewers.append(("remote-viewer", ["remote-viewer"]))
    counter = logs / "xterm-loops"
    # each loop prints the same listing: loops done is the work the terminal did
    script = f"i=0; while :; do ls -l /usr/lib /usr/share; i=$((i+1)); echo $i > {counter}; done"
    print(
        "xterm per unit of the same terminal output (one loop = one `ls -l /usr/lib /usr/share`):\n"
        f"{'':<8} {'viewer':<16} {'loops':>6} {'viewer ms/loop':>15} {'Xorg ms/loop':>13} "
        f"{'KB/loop':>8} {'viewer us/KB':>13}"
    )
    for name, argv in viewers:
        xspice, port, number = start_xspice(logs)
        viewer = xterm = None
        try:
            viewer = start([*argv, f"spice://127.0.0.1:{port}"], logs, "x-" + name.replace(" ", "-"), env)
            time.sleep(3.0)
            xterm = start(
                ["xterm", "-geometry", "120x45+0+0", "-e", "sh", "-c", script],
                logs,
                "xterm",
                {**os.environ, "DISPLAY": f":{number}"},
            )
            time.sleep(2.0)
            if viewer.poll() is not None:
                raise RuntimeError(f"{name} exited early (see {logs})")
            meter, xorg = CpuMeter(viewer.pid), CpuMeter(xspice.pid)
            l0, b0 = loops(counter), received(port)
            time.sleep(seconds)
            (viewer_cpu, _, exited), server_cpu = meter.read(), xorg.read()[0]
            done, kbytes = max(1, loops(counter) - l0), (received(port) - b0) / 1000
            label = name + ("*" if exited else "")
            print(
                f"{'xterm':<8} {label:<16} {done:>6} {viewer_cpu * 1000 / done:>15.1f} "
                f"{server_cpu * 1000 / done:>13.1f} {kbytes / done:>8.0f} "
                f"{viewer_cpu * 1e6 / max(kbytes, 1):>13.1f}"
            )
        finally:
            for proc in (xterm, viewer):
                if proc is not None:
                    stop(proc)
            stop(xspice)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per viewer (default 8)")
    parser.add_argument(
        "--together-rounds",
        type=int,
        default=4,
        help="rounds of the demo watched by both viewers at once (default 4)",
    )
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    bench(args.seconds, args.together_rounds)


if __name__ == "__main__":
    main()
