"""A link message cut short, or a TLS handshake never finished, is dropped at the deadline from accept."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import trio

from .evil_client import half_link, open_raw
from .server_side import rss_mb, serving, settle, time_real_client


@pytest.mark.parametrize("sent", [1, 16, 20, 30], ids=lambda n: f"{n}-bytes")
async def test_half_sent_link_is_closed_at_the_deadline(sent: int, tmp_path: Path) -> None:
    async with serving(tmp_path, link_timeout=1.0) as served:
        with trio.fail_after(5):
            held = await half_link(served.port, sent=sent, source="127.0.0.4")
        assert 0.8 <= held <= 3.0, f"held {held:.2f} s for a 1 s deadline"
        await settle(served.server)


async def test_half_links_fill_only_their_own_address(tmp_path: Path) -> None:
    options = {"password": "sesame", "link_timeout": 5.0, "max_pending_per_address": 4}
    async with serving(tmp_path, **options) as served, trio.open_nursery() as nursery:
        rss_before = rss_mb()
        for _ in range(4):
            nursery.start_soon(partial(half_link, served.port, source="127.0.0.6"))
        while served.server.pending_links < 4:
            await trio.sleep(0.01)
        # 127.0.0.6 is full: a fifth connection from there is closed at once ...
        stream = await open_raw(served.port, source="127.0.0.6")
        with trio.fail_after(1.0):
            assert await stream.receive_some(100) == b""
        await stream.aclose()
        # ... while a client from another address is not held up
        assert served.server.pending_links == 4
        assert await time_real_client(served) < 2.0
        assert rss_mb() - rss_before < 64
        nursery.cancel_scope.cancel()


async def test_tls_handshake_counts_against_the_deadline(tmp_path: Path) -> None:
    async with serving(tmp_path, tls=True, link_timeout=1.0) as served:
        stream = await open_raw(served.port, source="127.0.0.5")  # raw TCP: never says ClientHello
        began = trio.current_time()
        with trio.fail_after(5):
            while await stream.receive_some(100):
                pass
        assert trio.current_time() - began < 3.0
        await stream.aclose()
        assert await time_real_client(served) < 2.0
