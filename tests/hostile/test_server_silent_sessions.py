"""Linked channels that go silent are pinged, then dropped; live clients answer the PING and stay."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import spice_proto as sp
import trio
from spice_net import LinkRefused, open_channel

from .evil_client import link_silent
from .server_side import rss_mb, serving, time_real_client

T = sp.ChannelType


async def test_silent_main_channels_stop_blocking_everyone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    async with serving(tmp_path, max_clients=4, idle_timeout=1.0) as served:
        rss_before = rss_mb()
        silent = [await link_silent(served.port, source=f"127.0.0.{20 + i}") for i in range(4)]
        with trio.fail_after(10.0):  # how fast four links go through is machine speed
            while len(served.server.clients) < 4:
                await trio.sleep(0.01)
        with pytest.raises(LinkRefused) as info:  # full: no password, so anyone could fill it
            await open_channel("127.0.0.1", served.port, channel_type=T.MAIN)
        assert info.value.code == sp.LinkErr.ERROR
        began = trio.current_time()
        with trio.fail_after(4.0):
            while served.server.clients:
                await trio.sleep(0.05)
        assert 0.9 <= trio.current_time() - began <= 3.0
        assert await time_real_client(served, password=None) < 5.0  # still full: LinkRefused
        assert rss_mb() - rss_before < 64
        for stream in silent:
            await stream.aclose()
    assert any("silent for 1 s" in r.getMessage() for r in caplog.records)


async def test_a_live_client_answers_the_ping_and_stays(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, idle_timeout=0.6) as served,
        await open_channel("127.0.0.1", served.port, channel_type=T.MAIN) as main,
    ):
        pings = 0
        with trio.move_on_after(2.5):  # four timeouts of silence on our side
            async for msg in main:  # reading answers each PING with a PONG by itself
                pings += isinstance(msg, sp.Ping)
        assert pings >= 3
        assert len(served.server.clients) == 1


async def test_a_silent_sub_channel_is_dropped_and_its_client_stays(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, idle_timeout=1.0) as served,
        await open_channel("127.0.0.1", served.port, channel_type=T.MAIN) as main,
    ):
        init = await main.receive()
        assert isinstance(init, sp.MainInit)
        stream = await link_silent(served.port, channel_type=T.DISPLAY, connection_id=init.session_id)
        (client,) = served.server.clients
        with trio.fail_after(2.0):
            while (T.DISPLAY, 0) not in client.channels:
                await trio.sleep(0.01)
        with trio.move_on_after(3.0):
            async for _ in main:  # the main channel stays alive by answering PINGs
                if (T.DISPLAY, 0) not in client.channels:
                    break
        assert (T.DISPLAY, 0) not in client.channels
        assert served.server.clients == [client]
        await stream.aclose()


async def test_one_address_cannot_take_every_client_place(tmp_path: Path) -> None:
    async with serving(tmp_path, max_clients=8, max_clients_per_address=3) as served:
        crowd = [await link_silent(served.port, source="127.0.0.40") for _ in range(3)]
        with trio.fail_after(5.0):
            while len(served.server.clients) < 3:
                await trio.sleep(0.01)
        with pytest.raises(RuntimeError, match="link refused: ERROR"):  # a 4th from there: no place
            await link_silent(served.port, source="127.0.0.40")
        # ... while another address still gets in
        async with await open_channel("127.0.0.1", served.port, channel_type=T.MAIN) as main:
            assert isinstance(await main.receive(), sp.MainInit)
        # one of the crowd leaves: its place is free again
        await crowd.pop().aclose()
        with trio.fail_after(5.0):
            while len(served.server.clients) > 2:
                await trio.sleep(0.01)
        crowd.append(await link_silent(served.port, source="127.0.0.40"))
        for stream in crowd:
            await stream.aclose()
