"""Timed wake-ups in trio: ``trio.sleep`` and a deadline around ``wait_readable`` (trio ends
both by cancelling the waiting task) against spice_net's ``nap`` and ``Alarm`` (a timerfd in
an epoll set: the wake-up is a readable descriptor).  CPU and wall time per wake-up, same run.

    python tools/bench_wakeups.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import socket
import time
from collections.abc import Awaitable, Callable

import trio
from spice_net.lowlevel import Alarm, nap

PAUSE = 0.0002  # shorter than trio's 1 ms epoll granularity, as the display read interval is


async def timed(rounds: int, step: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(CPU us, wall us) per call of ``step``, best of three."""
    best = (float("inf"), float("inf"))
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            await step()
        per = ((time.process_time() - cpu) / rounds * 1e6, (time.perf_counter() - wall) / rounds * 1e6)
        best = min(best, per)
    return best


async def main(rounds: int) -> None:
    quiet, _other = socket.socketpair()  # never readable: only the deadline ends the waits
    with quiet, _other, Alarm() as alarm:
        alarm.watch(quiet.fileno())

        async def deadline_wait() -> None:
            with trio.move_on_after(PAUSE):
                await trio.lowlevel.wait_readable(quiet.fileno())

        async def alarm_wait() -> None:
            await alarm.wait(trio.current_time() + PAUSE)

        cases = [
            ("trio.sleep(0.2 ms)", lambda: trio.sleep(PAUSE)),
            ("spice_net nap(0.2 ms)", lambda: nap(PAUSE)),
            ("socket or deadline: move_on_after", deadline_wait),
            ("socket or deadline: Alarm.wait", alarm_wait),
        ]
        print(f"\ntimed wake-ups, {rounds} each (best of 3): CPU and wall time per wake-up")
        print(f"{'wait':<36} {'CPU us':>8} {'wall us':>9}")
        for name, step in cases:
            cpu, wall = await timed(rounds, step)
            print(f"{name:<36} {cpu:>8.1f} {wall:>9.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args, _ = parser.parse_known_args()  # nox -s bench passes the same arguments to every bench script
    trio.run(main, args.rounds)
