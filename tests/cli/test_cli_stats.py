"""Session statistics: StatsCollector against an animated spice_server, and spice connect --stats."""

from __future__ import annotations

import re
import sys

import numpy as np
import spice_server as srv
import trio
from spice_cli._stats import StatsCollector, format_stats, tcp_rtt_ms
from spice_proto import Rect
from spice_session import connect

W, H = 160, 120


async def _animated_server(nursery: trio.Nursery, hz: float) -> tuple[str, list[int]]:
    fb = srv.Framebuffer(W, H)
    server = srv.Server(fb)
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    drawn = [0]

    async def animate() -> None:
        rng = np.random.default_rng(0)
        while True:
            fb.update(rng.integers(0, 255, (20, 20, 3), np.uint8), Rect(10, 10, 30, 30), format="rgb")
            drawn[0] += 1
            await trio.sleep(1 / hz)

    nursery.start_soon(animate)
    return f"spice://127.0.0.1:{addr.port}", drawn


async def test_collector_counts_frames_traffic_and_rtt(nursery: trio.Nursery) -> None:
    uri, _ = await _animated_server(nursery, 20)
    async with connect(uri) as session, trio.open_nursery() as inner:
        collector = StatsCollector(session, interval=0.25)
        inner.start_soon(collector.run)
        await trio.sleep(2.0)
        stats = collector.snapshot()
        inner.cancel_scope.cancel()
    assert 8 <= stats.fps <= 30, stats.fps  # 20 draws a second, give or take a merged one
    assert stats.frames >= 25
    by_name = {c.name: c for c in stats.channels}
    display = by_name["display:0"]
    assert display.bytes_in > 20 * 20 * 3 * 20  # noise: about 1200 bytes a frame
    assert display.messages_in >= stats.frames
    assert display.bytes_in_per_s > 0 and display.messages_in_per_s > 0
    assert by_name["main:0"].bytes_out > 0
    assert stats.rtt_ms is not None and 0 <= stats.rtt_ms < 100  # loopback
    assert stats.audio_latency_ms is None
    text = format_stats(stats)
    assert text[0].startswith("stats after") and any("display:0" in line for line in text)
    assert '"channels"' in stats.to_json()


def test_rtt_of_a_non_tcp_stream_is_none() -> None:
    assert tcp_rtt_ms(object()) is None


async def test_spice_connect_stats(nursery: trio.Nursery) -> None:
    uri, _ = await _animated_server(nursery, 20)
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, "-m", "spice_cli", "connect", uri, "--seconds", "2.5", "--stats"],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    found = re.search(r"stats after [\d.]+ s: rtt ([\d.]+) ms, ([\d.]+) frames/s", out)
    assert found is not None, out
    assert 5 <= float(found.group(2)) <= 30
    display = re.search(r"display:0\s+in (\d+) B / (\d+) msgs \(([\d.]+) B/s", out)
    assert display is not None and int(display.group(1)) > 0 and float(display.group(3)) > 0, out
