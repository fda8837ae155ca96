"""Milliseconds from the draw that shows a needle to ``expect`` returning (our server, 1920x1080).

The server draws a 64x64 needle into an otherwise still frame; the client is
already waiting in ``Driver.expect``.  Run: ``python tools/bench_expect.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import spice_server as srv
import spice_session as ss
import trio
from spice_proto import Rect
from spice_session import Driver

W, H = 1920, 1080


async def main() -> None:
    rng = np.random.default_rng(2)
    fb = srv.Framebuffer(W, H)
    fb.fill((40, 44, 52))
    server = srv.Server(fb)
    times: list[float] = []
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
            vm = Driver(session)
            await vm.screenshot()
            for _ in range(10):
                needle = rng.integers(0, 255, (64, 64, 3), np.uint8)
                x, y = int(rng.integers(0, W - 64)), int(rng.integers(0, H - 64))
                result: list[float] = []

                async def waiter(needle: np.ndarray = needle, result: list[float] = result) -> None:
                    await vm.expect(needle, timeout=10)
                    result.append(time.perf_counter())

                async with trio.open_nursery() as inner:
                    inner.start_soon(waiter)
                    await trio.sleep(0.2)
                    start = time.perf_counter()
                    fb.update(needle, Rect(x, y, x + 64, y + 64), format="rgb")
                times.append((result[0] - start) * 1000)
                fb.fill((40, 44, 52), Rect(x, y, x + 64, y + 64))
                await trio.sleep(0.2)
        nursery.cancel_scope.cancel()
    median = statistics.median(times)
    print(
        f"expect after the draw (1920x1080, 64x64 needle, our server): median {median:.1f} ms, "
        f"max {max(times):.1f} ms"
    )


if __name__ == "__main__":
    trio.run(main)
