"""A password guesser is slowed down per address, logged without its guesses, and keeps no one out;
ticket keys are made off the event loop."""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path

import pytest
import spice_proto as sp
import trio
from spice_net.lowlevel import TicketKey

from .evil_client import AttackStats, guess_passwords, link_raw, open_raw
from .server_side import attacker_tls, rss_mb, serving, time_real_client


async def test_wrong_tickets_are_answered_ever_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    async with serving(tmp_path, password="sesame", wrong_ticket_delay=0.2, max_wrong_ticket_delay=1.6) as s:
        stats = AttackStats()
        for n in range(6):
            stream = await open_raw(s.port, source="127.0.0.7")
            async with stream:
                assert await link_raw(stream, f"guess{n}", stats=stats) == sp.LinkErr.PERMISSION_DENIED
        times = stats.answer_times
        for got, want in zip(times, [0.2, 0.4, 0.8, 1.6, 1.6, 1.6], strict=True):
            assert want - 0.05 <= got <= want + 0.5, times
        # another address is not slowed down, and a right password clears the record
        stream = await open_raw(s.port, source="127.0.0.8")
        async with stream:
            assert await link_raw(stream, "wrong", stats=stats) == sp.LinkErr.PERMISSION_DENIED
        assert stats.answer_times[-1] < 0.6
        stream = await open_raw(s.port, source="127.0.0.7")
        async with stream:
            assert await link_raw(stream, "sesame") == sp.LinkErr.OK
        stream = await open_raw(s.port, source="127.0.0.7")
        async with stream:
            assert await link_raw(stream, "wrong again", stats=stats) == sp.LinkErr.PERMISSION_DENIED
        assert stats.answer_times[-1] < 0.6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 8
    assert any("6 in a row from 127.0.0.7" in w for w in warnings)
    assert not any("guess" in r.getMessage() for r in caplog.records)  # never the ticket itself


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_guesser_is_throttled_and_a_real_client_gets_in(tls: bool, tmp_path: Path) -> None:
    made_on: list[str] = []
    real_generate = TicketKey.generate

    def spy() -> TicketKey:
        made_on.append(threading.current_thread().name)
        return real_generate()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TicketKey, "generate", staticmethod(spy))
        async with serving(tmp_path, tls=tls, password="sesame") as served:
            rss_before = rss_mb()
            async with trio.open_nursery() as nursery:
                stats: AttackStats = await nursery.start(
                    partial(
                        guess_passwords,
                        served.port,
                        parallel=8,
                        source="127.0.0.9",
                        tls=attacker_tls() if tls else None,
                    )
                )
                await trio.sleep(4.0)
                took = await time_real_client(served)
                # 2 s unloaded, 3 s loaded: the guesser's 4 s backoff reaching it still fails
                assert took < 3.0, f"a real client needed {took:.2f} s under the guesser"
                nursery.cancel_scope.cancel()
            assert rss_mb() - rss_before < 64
    denied = stats.replies.get(sp.LinkErr.PERMISSION_DENIED, 0)
    # unthrottled this was ~70 guesses a second per connection; now 8 connections in ~4 s get
    # a handful (the delays of the first eight are 0.5, 1, 2, then 4 s)
    assert 3 <= denied <= 40, stats
    assert not stats.replies.get(sp.LinkErr.OK)
    assert made_on, "no key was made"
    assert threading.main_thread().name not in made_on  # every key came from a worker thread
