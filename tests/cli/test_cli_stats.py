"""spice connect --stats prints session.stats."""

from __future__ import annotations

import re
import sys

import numpy as np
import spice_server as srv
import trio
from spice_proto import Rect

W, H = 160, 120


async def test_spice_connect_stats(nursery: trio.Nursery) -> None:
    fb = srv.Framebuffer(W, H)
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]

    async def animate() -> None:
        rng = np.random.default_rng(0)
        while True:
            fb.update(rng.integers(0, 255, (20, 20, 3), np.uint8), Rect(10, 10, 30, 30), format="rgb")
            await trio.sleep(0.05)

    nursery.start_soon(animate)
    argv = [
        sys.executable,
        "-m",
        "spice_cli",
        "connect",
        f"spice://127.0.0.1:{addr.port}",
        "--seconds",
        "2.5",
    ]
    with trio.fail_after(60):
        result = await trio.run_process(
            [*argv, "--stats"], capture_stdout=True, capture_stderr=True, check=False
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    found = re.search(r"stats after [\d.]+ s: rtt ([\d.]+) ms, ([\d.]+) frames/s", out)
    assert found is not None, out
    assert 5 <= float(found.group(2)) <= 30
    assert re.search(r"video streams: 0, 0 frames", out), out
    display = re.search(r"display:0\s+in (\d+) B / (\d+) msgs \(([\d.]+) B/s", out)
    assert display is not None and int(display.group(1)) > 0 and float(display.group(3)) > 0, out
