"""The live receive path: a headless session on Xspice with a scrolling xterm, CPU per message.

Starts Xspice (Xorg with the spiceqxl driver) and a headless ``spice_session`` client in a
process of its own, then an xterm that scrolls ``ls -l`` continuously.  For ``--seconds``
it measures the client's CPU (user + sys), Xorg's CPU, the display messages the client
received, its socket reads (``receive_some`` calls and bytes) and trio task steps, and
prints CPU per display message and per Xorg CPU second.  ``--before SRC`` runs the same
client a second time from another source tree (``PYTHONPATH`` to its ``packages/*/src``),
alternating ``--rounds`` times (a fresh Xspice each), so before and after share the load;
``--interval S`` (repeatable) adds runs with the display channel's ``min_read_interval`` set.
The C codecs are the installed ones in both.

    python tools/bench_session_live.py [--seconds 6] [--rounds 2] [--before /tmp/before/packages]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

CODECS = ("spice-glz", "spice-lz", "spice-quic")
PY_SPY = ["py-spy", "record", "--native", "-r", "200", "-f", "raw", "-d"]
FLOOD = "sleep 2; while :; do ls -l /usr/lib /usr/share; done"

CLIENT = r"""
import gc, json, sys, time, resource
import trio, spice_net, spice_session as ss
from spice_proto import ChannelType

port, seconds = int(sys.argv[1]), float(sys.argv[2])
interval = float(sys.argv[3]) if len(sys.argv) > 3 else None
reads = [0, 0]
steps = [0]
by_task = {}
gc_runs = [0, 0, 0, 0.0]  # collections of generation 0, 1, 2; seconds in them
gc_start = [0.0]

def on_gc(phase, info):
    if phase == "start":
        gc_start[0] = time.perf_counter()
    else:
        gc_runs[info["generation"]] += 1
        gc_runs[3] += time.perf_counter() - gc_start[0]

gc.callbacks.append(on_gc)

class Steps(trio.abc.Instrument):
    def before_task_step(self, task):
        steps[0] += 1
        by_task[task.name] = by_task.get(task.name, 0) + 1

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def sys_cpu():
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime

async def main():
    async with ss.connect(f"spice://127.0.0.1:{port}") as session:
        display = session.opened[(ChannelType.DISPLAY, 0)]
        if interval is not None:
            display.min_read_interval = interval
        stream = display.stream
        inner = stream.receive_some

        async def counted(max_bytes=None):
            data = await inner(max_bytes)
            reads[0] += 1
            reads[1] += len(data)
            return data

        stream.receive_some = counted
        events = [0]

        async def drain():
            async for _ in session.events():
                events[0] += 1

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain)
            print("ready", flush=True)
            sys.stdin.readline()  # the xterm runs: measure from now
            by_task.clear()
            gc_runs[:] = [0, 0, 0, 0.0]
            m0, s0, c0, r0, b0, e0 = display.messages_received, steps[0], cpu(), reads[0], reads[1], events[0]
            k0 = sys_cpu()
            sent0 = display.bytes_sent
            await trio.sleep(seconds)
            out = {
                "messages": display.messages_received - m0,
                "cpu": cpu() - c0,
                "sys": sys_cpu() - k0,
                "reads": reads[0] - r0,
                "bytes": reads[1] - b0,
                "steps": steps[0] - s0,
                "events": events[0] - e0,
                "sent": display.bytes_sent - sent0,
                "gc": list(gc_runs),
                "tasks": sorted(by_task.items(), key=lambda kv: -kv[1])[:8],
            }
            print(json.dumps(out), flush=True)
            nursery.cancel_scope.cancel()

trio.run(main, instruments=[Steps()])
"""


def run_client(
    port: int,
    seconds: float,
    env: dict[str, str],
    xorg_pid: int,
    profile: str | None = None,
    interval: float | None = None,
) -> dict[str, Any]:
    from bench_viewer import cpu_seconds

    proc = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), str(seconds)]
        + ([] if interval is None else [str(interval)]),
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the client did not connect")
        time.sleep(1.0)  # past the first full-screen picture
        x0 = cpu_seconds(xorg_pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        spy = None
        if profile and profile.endswith(".strace"):  # syscall counts instead of a profile
            argv = ["timeout", "-s", "INT", str(seconds), "strace", "-c", "-f", "-o", profile]
            spy = subprocess.Popen([*argv, "-p", str(proc.pid)], stderr=subprocess.DEVNULL)
        elif profile:
            spy = subprocess.Popen(
                [*PY_SPY, str(int(seconds)), "-o", profile, "--pid", str(proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        result: dict[str, Any] = json.loads(proc.stdout.readline())
        result["xorg"] = cpu_seconds(xorg_pid) - x0
        if spy is not None:
            spy.wait()
        return result
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def env_for(src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if src:
        # the pure-Python packages only: the C codecs stay the installed ones
        paths = [p for p in sorted(Path(src).glob("*/src")) if p.parent.name not in CODECS]
        env["PYTHONPATH"] = os.pathsep.join(map(str, paths))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", help="a packages/ directory of another tree, run alternately")
    parser.add_argument(
        "--interval", type=float, action="append", help="also run with this display min_read_interval"
    )
    parser.add_argument(
        "--profile", help="py-spy --native raw output of the clients here (FILE.strace: strace -c)"
    )
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    from bench_server import XORG, XSPICE_CONFIG, start_xspice
    from bench_viewer import start, stop

    print(f"\nlive receive path: headless session on Xspice + a scrolling xterm, {args.seconds:g} s a run")
    if not (os.path.exists(XORG) and os.path.exists(XSPICE_CONFIG) and shutil.which("xterm")):
        print(f"skipped: needs Xspice ({XORG}) and xterm")
        return
    trees: list[tuple[str, str | None, float | None]] = [("after", None, None)]
    if args.before:
        trees.append(("before", args.before, None))
    for interval in args.interval or ():
        trees.append((f"{interval * 1000:g} ms", None, interval))
    print(
        f"{'tree':<7} {'us/msg':>7} {'msgs':>7} {'cpu s':>6} {'sys s':>6} {'xorg s':>6} {'cpu/xorg':>8} "
        f"{'msg/read':>8} {'B/read':>7} {'steps/msg':>9} {'events':>7}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        logs = Path(tmp)
        for _ in range(args.rounds):
            for name, src, interval in trees if _ % 2 == 0 else trees[::-1]:
                xspice, port, number = start_xspice(logs)
                xterm = None
                try:
                    argv = ["xterm", "-geometry", "120x45+0+0", "-e", "sh", "-c", FLOOD]
                    xterm = start(argv, logs, "xterm", {**os.environ, "DISPLAY": f":{number}"})
                    r = run_client(port, args.seconds, env_for(src), xspice.pid, args.profile, interval)
                finally:
                    if xterm is not None:
                        stop(xterm)
                    stop(xspice)
                msgs = max(1, int(r["messages"]))
                print(
                    f"{name:<7} {r['cpu'] / msgs * 1e6:7.1f} {msgs:7d} {r['cpu']:6.2f} {r['sys']:6.2f} "
                    f"{r['xorg']:6.2f} "
                    f"{r['cpu'] / max(r['xorg'], 1e-9):8.2f} {msgs / max(1, r['reads']):8.1f} "
                    f"{r['bytes'] / max(1, r['reads']):7.0f} {r['steps'] / msgs:9.2f} {int(r['events']):7d}",
                    flush=True,
                )
                g = r["gc"]
                print(f"        gc collections gen0/1/2 {g[0]}/{g[1]}/{g[2]}, {g[3]:.3f} s")
                print("        task steps:", ", ".join(f"{n} {c}" for n, c in r["tasks"]))


if __name__ == "__main__":
    main()
