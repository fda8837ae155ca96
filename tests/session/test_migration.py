"""Seamless migration without I/O: which channel answers what, and where the destination is."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import spice_net
import trio
import trio.testing
from spice_proto import (
    ChannelType,
    ClientMigrateData,
    MigrateData,
    MigrateFlags,
    MigrateFlushMark,
    MigrationDstInfo,
)
from spice_session import SessionError
from spice_session._connector import make_connector
from spice_session._migration import MigrationError, SeamlessHandover, destination_connector, where
from spice_session._playback import Playback
from spice_session._session import Session
from spice_session._stats import StatsCollector

BOTH = MigrateFlags.NEED_FLUSH | MigrateFlags.NEED_DATA_TRANSFER


def test_each_channel_flushes_then_hands_its_data_over() -> None:
    handover = SeamlessHandover(["main", "display", "cursor"])
    assert handover.migrate("display", BOTH) == ([MigrateFlushMark()], False)
    assert handover.data("display", MigrateData(b"DCMD\x01")) == ClientMigrateData(b"DCMD\x01")
    assert handover.switched("display") is False
    assert handover.migrate("cursor", MigrateFlags(0)) == ([], True)  # nothing to carry: switch now
    assert handover.switched("cursor") is False
    assert handover.migrate("main", MigrateFlags.NEED_DATA_TRANSFER) == ([], False)
    handover.data("main", MigrateData(b""))
    assert handover.switched("main") is True
    assert not handover.covers("main") and handover.left == set()


def test_flush_only_switches_at_once() -> None:
    handover = SeamlessHandover(["inputs"])
    assert handover.migrate("inputs", MigrateFlags.NEED_FLUSH) == ([MigrateFlushMark()], True)


def _step(handover: SeamlessHandover[str], step: str, key: str) -> None:
    if step == "migrate":
        handover.migrate(key, BOTH)
    else:
        handover.data(key, MigrateData(b"x"))


@pytest.mark.parametrize(
    "steps",
    [
        [("data", "display")],  # MIGRATE_DATA nobody asked for
        [("migrate", "usbredir")],  # a channel with no destination twin
        [("migrate", "display"), ("data", "display"), ("data", "display")],  # twice
    ],
    ids=["data-first", "unknown-channel", "data-twice"],
)
def test_out_of_order_migration_raises_migration_error(steps: list[tuple[str, str]]) -> None:
    handover = SeamlessHandover(["display"])
    *before, last = steps
    for step, key in before:
        _step(handover, step, key)
    with pytest.raises(MigrationError) as info:
        _step(handover, *last)
    assert isinstance(info.value, SessionError)


def test_destination_keeps_password_and_takes_the_servers_host_ports_and_subject() -> None:
    source = make_connector("spice://src.example:5900?tls-port=5901&password=pw", proxy="")
    dst = destination_connector(source, MigrationDstInfo(5910, 5911, "dst.example", "CN=dst"))
    assert (dst.uri.host, dst.uri.port, dst.uri.tls_port) == ("dst.example", 5910, 5911)
    assert dst.password == "pw" and dst.host_subject == "CN=dst"
    assert (source.uri.host, source.host_subject) == ("src.example", None)  # the source's is unchanged
    plain = destination_connector(source, MigrationDstInfo(5920, 0xFFFF, "10.0.0.2", None))
    assert (plain.uri.port, plain.uri.tls_port, plain.host_subject) == (5920, None, None)
    assert where(MigrationDstInfo(5920, 0xFFFF, "10.0.0.2", None)) == "10.0.0.2:5920"
    assert where(MigrationDstInfo(0, 5921, "10.0.0.2", None)) == "10.0.0.2:5921"


async def test_stats_of_a_switched_channel_show_no_negative_rate() -> None:
    def counters(n: int) -> SimpleNamespace:
        return SimpleNamespace(
            bytes_received=n,
            bytes_sent=n,
            messages_received=n,
            messages_sent=n,
            stream=trio.testing.MemoryReceiveStream(),
        )

    key = (ChannelType.DISPLAY, 0)
    session = SimpleNamespace(
        opened={key: counters(50_000)}, main=counters(0), playback=Playback(), _stream_managers={}
    )
    stats = StatsCollector(session)  # type: ignore[arg-type]
    stats.sample()
    await trio.sleep(0.05)
    session.opened[key] = counters(40)  # the destination's twin: its own counters
    (channel,) = stats.snapshot().channels
    assert (channel.bytes_in, channel.messages_in) == (40, 40)
    assert channel.bytes_in_per_s == channel.bytes_out_per_s == channel.messages_in_per_s == 0.0


async def test_a_sending_task_goes_on_when_a_switch_closed_its_channel_under_it() -> None:
    key = (ChannelType.INPUTS, 0)
    session = SimpleNamespace(opened={key: object()})
    calls: list[object] = []

    async def pump() -> None:
        calls.append(session.opened[key])
        if len(calls) == 1:  # a seamless switch: the twin replaces the channel, the old one closes
            session.opened[key] = object()
        raise spice_net.ChannelClosed("closed")

    with trio.fail_after(5):
        await Session._pumping(session, key, pump)  # type: ignore[arg-type]
    assert len(calls) == 2 and calls[0] is not calls[1]  # once more on the twin, then it ended
