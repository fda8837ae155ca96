"""Seamless migration without I/O: which channel answers what, and where the destination is."""

from __future__ import annotations

import pytest
from spice_proto import ClientMigrateData, MigrateData, MigrateFlags, MigrateFlushMark, MigrationDstInfo
from spice_session import SessionError
from spice_session._connector import make_connector
from spice_session._migration import MigrationError, SeamlessHandover, destination_connector, where

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
