"""How long a real client needs to get into spice_server while it is attacked.

The server (password, plain or TLS) runs in this process; the attacker runs as
``python -m hostile.evil_client`` in another (200 idle sockets from one or 50
source addresses, 8 parallel password guessers); the client is spice_session,
opening every channel with the right password, ``--rounds`` times.  Prints the
client's connect times (median and max), the server process's CPU share, how much
its resident memory grew, and the guesses the attacker got answered per second.  Asserts nothing about speed.

    python tools/bench_flood.py [--rounds 10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import trio

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from hostile.server_side import rss_mb, serving, time_real_client  # noqa: E402


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


async def _attacked(tls: bool, idle_addresses: int | None, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        async with serving(Path(tmp), tls=tls, password="sesame") as served, trio.open_nursery() as nursery:
            proc = None
            if idle_addresses is not None:
                cmd = [sys.executable, "-m", "hostile.evil_client", str(served.port), "--idle", "200"]
                cmd += ["--idle-addresses", str(idle_addresses), "--guessers", "8"] + (
                    ["--tls"] if tls else []
                )
                proc = await nursery.start(
                    partial(trio.run_process, cmd, cwd=TESTS, stdout=subprocess.PIPE, check=False)
                )
                seen = b""
                while b"ready\n" not in seen:
                    seen += await proc.stdout.receive_some()
                ready_at = time.monotonic()
                await trio.sleep(1.0)
            rss0 = rss_mb()
            cpu0, wall0 = _cpu_seconds(), time.monotonic()
            await trio.sleep(args.seconds)  # the server under attack alone
            cpu = (_cpu_seconds() - cpu0) / (time.monotonic() - wall0)
            times = [await time_real_client(served) for _ in range(args.rounds)]
            rss = rss_mb() - rss0
            guesses = ""
            if proc is not None:
                out = b""
                with trio.move_on_after(1.5):
                    while out.count(b"\n") < 2:
                        out += await proc.stdout.receive_some()
                last = out.decode().strip().splitlines()[-1]
                answered = int(last.split("guesses ")[1].split(" ")[0])
                guesses = f"{answered / (time.monotonic() - ready_at):.1f} wrong guesses answered/s"
            nursery.cancel_scope.cancel()
    return (
        f"connect median {statistics.median(times) * 1000:6.0f} ms, max {max(times) * 1000:6.0f} ms; "
        f"server CPU {cpu * 100:3.0f}% of a core, RSS {rss:+5.1f} MiB; {guesses}"
    )


async def main(args: argparse.Namespace) -> None:
    for tls in (False, True):
        for label, spread in (("quiet", None), ("1 attacker address", 1), ("50 attacker addresses", 50)):
            line = await _attacked(tls, spread, args)
            print(f"{'tls' if tls else 'plain':5}  {label:22}  {line}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="real-client connects per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of attack measured for CPU")
    trio.run(main, parser.parse_args())
