"""spice connect --stats prints session.stats."""

from __future__ import annotations

import re
import sys

import trio
from peers.server_task import animated_server


async def test_spice_connect_stats(nursery: trio.Nursery) -> None:
    uri = await animated_server(nursery, 20)
    argv = [
        sys.executable,
        "-m",
        "spice_cli",
        "connect",
        uri,
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
