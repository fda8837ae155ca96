"""Idle sockets (no byte ever sent) can neither lock clients out nor stay forever, plain or TLS.

A locked-out client waits for the 10 s link deadline (or its own 10 s timeout); one that gets in
needs < 2 s unloaded but up to 4.1 s was seen on a loaded machine (TLS: the best of three 2.4 s
at load 8): each gets 5 s where one client is timed, and where three are timed 8 s each and 4 s
for the best."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio

from .evil_client import AttackStats, hold_idle, sources
from .server_side import rss_mb, serving, settle, time_real_client


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_idle_sockets_from_one_address_are_capped(tls: bool, tmp_path: Path) -> None:
    async with serving(tmp_path, tls=tls, password="sesame", max_pending_per_address=8) as served:
        rss_before = rss_mb()
        async with trio.open_nursery() as nursery:
            stats: AttackStats = await nursery.start(
                partial(hold_idle, served.port, 200, source_addresses=["127.0.0.2"], retry=0.5)
            )
            with trio.fail_after(5.0):  # long before the 10 s link deadline (0.5 s unloaded)
                while stats.closed_by_server < 150:
                    await trio.sleep(0.05)
            assert served.server.pending_links <= 8  # the others were closed at once
            took = await time_real_client(served)
            assert took < 5.0, f"a real client needed {took:.2f} s to get in"  # (2 s unloaded)
            assert rss_mb() - rss_before < 64
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_idle_sockets_from_many_addresses_make_room_for_a_client(tls: bool, tmp_path: Path) -> None:
    async with serving(tmp_path, tls=tls, password="sesame", max_pending_links=64) as served:
        rss_before = rss_mb()
        async with trio.open_nursery() as nursery:
            await nursery.start(
                partial(hold_idle, served.port, 200, source_addresses=sources("127.0.1.1", 50), retry=0.5)
            )
            await trio.sleep(0.5)
            assert served.server.pending_links <= 64
            times = [await time_real_client(served) for _ in range(3)]
            assert min(times) < 4.0 and max(times) < 8.0, f"a real client needed {times} s to get in"
            assert rss_mb() - rss_before < 64
            nursery.cancel_scope.cancel()


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_an_idle_socket_is_closed_at_the_link_deadline(tls: bool, tmp_path: Path) -> None:
    async with serving(tmp_path, tls=tls, link_timeout=1.0) as served, trio.open_nursery() as nursery:
        stats: AttackStats = await nursery.start(
            partial(hold_idle, served.port, 4, source_addresses=["127.0.0.3"], retry=60)
        )
        with trio.fail_after(3.0):  # 1 s deadline from accept, plus slack for a busy machine
            while stats.closed_by_server < 4:
                await trio.sleep(0.05)
        await settle(served.server)
        nursery.cancel_scope.cancel()
