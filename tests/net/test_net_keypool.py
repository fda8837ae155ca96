"""TicketKeyPool: keys made in a worker thread, each handed out once, waiting takers served in turn."""

from __future__ import annotations

import threading

import pytest
import spice_net
import trio
from spice_net import TicketKeyPool
from spice_net.lowlevel import TicketKey


async def test_pool_fills_in_a_worker_thread_and_hands_each_key_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made_on: list[str] = []
    real = TicketKey.generate

    def spy() -> TicketKey:
        made_on.append(threading.current_thread().name)
        return real()

    monkeypatch.setattr(TicketKey, "generate", staticmethod(spy))
    pool = TicketKeyPool(3)
    assert not pool.running
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        assert pool.running and pool.ready == 3
        with pytest.raises(RuntimeError, match="already running"):
            await pool.run()
        keys = [await pool.take() for _ in range(8)]  # more than the pool: the refill keeps up
        assert len({k.public_der for k in keys}) == 8
        with trio.fail_after(10):
            while pool.ready < 3:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert not pool.running
    assert made_on and threading.main_thread().name not in made_on


async def test_pool_not_running_still_gives_fresh_keys() -> None:
    pool = TicketKeyPool(2)
    a, b = await pool.take(), await pool.take()
    assert a.public_der != b.public_der


def test_pool_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TicketKeyPool(0)


async def test_accept_channel_takes_its_key_from_the_pool() -> None:
    taken: list[TicketKey] = []

    class Recording(TicketKeyPool):
        async def take(self) -> TicketKey:
            taken.append(await super().take())
            return taken[-1]

    pool = Recording(2)
    client_stream, server_stream = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.run)
        box: dict[str, spice_net.ServerChannel] = {}

        async def serve() -> None:
            box["s"] = await spice_net.accept_channel(server_stream, password="pw", keys=pool)

        nursery.start_soon(serve)
        channel = await spice_net.link_channel(client_stream, channel_type=1, password="pw")
        await channel.aclose()
        nursery.cancel_scope.cancel()
    assert len(taken) == 1
    await box["s"].aclose()
