"""Common messages (numbers < 100): hand-checked bodies, registry, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    Ack,
    AckSync,
    ChannelType,
    ChannelWait,
    ClientDisconnecting,
    ClientMigrateData,
    Direction,
    Disconnecting,
    LinkErr,
    Migrate,
    MigrateData,
    MigrateFlags,
    MigrateFlushMark,
    Notify,
    NotifySeverity,
    NotifyVisibility,
    Ping,
    Pong,
    ProtocolError,
    SetAck,
    UnknownMessage,
    WaitForChannels,
    decode_message,
)

S2C = Direction.SERVER_TO_CLIENT
C2S = Direction.CLIENT_TO_SERVER


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (Migrate(MigrateFlags.NEED_FLUSH | MigrateFlags.NEED_DATA_TRANSFER), b"\x03\0\0\0"),
        (MigrateData(b"abc"), b"abc"),
        (SetAck(7, 20), b"\x07\0\0\0\x14\0\0\0"),
        (Ping(5, 0x0102030405060708, b"\0\0"), b"\x05\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01\0\0"),
        (
            WaitForChannels((ChannelWait(ChannelType.DISPLAY, 0, 300),)),
            b"\x01" + b"\x02\x00" + b"\x2c\x01\0\0\0\0\0\0",
        ),
        (Disconnecting(9, LinkErr.NEED_SECURED), b"\x09\0\0\0\0\0\0\0\x05\0\0\0"),
        (
            Notify(1, NotifySeverity.WARN, NotifyVisibility.HIGH, 0, "hi"),
            b"\x01\0\0\0\0\0\0\0" + b"\x01\0\0\0" + b"\x02\0\0\0" + b"\0\0\0\0" + b"\x02\0\0\0" + b"hi\0",
        ),
        (AckSync(7), b"\x07\0\0\0"),
        (Ack(), b""),
        (Pong(5, 0x0102030405060708), b"\x05\0\0\0\x08\x07\x06\x05\x04\x03\x02\x01"),
        (MigrateFlushMark(), b""),
        (ClientMigrateData(b"\x01\x02"), b"\x01\x02"),
        (ClientDisconnecting(2, LinkErr.OK), b"\x02\0\0\0\0\0\0\0\0\0\0\0"),
    ],
)
def test_bodies_by_hand(message: object, wire: bytes) -> None:
    assert hasattr(message, "encode")
    assert message.encode() == wire  # type: ignore[attr-defined]
    cls = type(message)
    decoded = decode_message(ChannelType.CURSOR, cls.DIRECTION, cls.TYPE, wire)  # type: ignore[attr-defined]
    assert decoded == message


def test_common_numbers_valid_on_every_channel() -> None:
    for channel in ChannelType:
        assert decode_message(channel, S2C, 3, b"\x01\0\0\0\x02\0\0\0") == SetAck(1, 2)
        assert decode_message(channel, C2S, 3, bytes(12)) == Pong(0, 0)
    assert decode_message(ChannelType.MAIN, S2C, 8, b"xyz") == UnknownMessage(
        ChannelType.MAIN, S2C, 8, b"xyz"
    )


def test_pong_is_twelve_bytes_and_notify_strips_nul() -> None:
    assert len(Pong(1, 2).encode()) == 12
    body = b"\0" * 8 + b"\0\0\0\0" + b"\0\0\0\0" + b"\0\0\0\0" + b"\x03\0\0\0" + b"ab\0" + b"newer field"
    assert Notify.decode(body).message == "ab"


def test_truncated_and_invalid_bodies_name_message_and_field() -> None:
    with pytest.raises(ProtocolError, match=r"SetAck, field 'window'"):
        SetAck.decode(b"\x01\0\0\0\x02")
    with pytest.raises(ProtocolError, match=r"Pong, field 'timestamp'"):
        Pong.decode(b"\x01\0\0\0")
    with pytest.raises(ProtocolError, match=r"WaitForChannels, field 'wait_list'"):
        WaitForChannels.decode(b"\xff" + bytes(20))
    with pytest.raises(ProtocolError, match=r"Notify, field 'message'"):
        Notify.decode(bytes(20) + b"\xff\0\0\0" + b"abc")
    with pytest.raises(ProtocolError, match="unknown NotifySeverity value 9"):
        Notify.decode(bytes(8) + b"\x09\0\0\0" + bytes(12))
    with pytest.raises(ProtocolError, match="unknown LinkErr value 77"):
        Disconnecting.decode(bytes(8) + b"\x4d\0\0\0")


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1), st.binary(max_size=64))
def test_ping_round_trip(pid: int, ts: int, pad: bytes) -> None:
    assert Ping.decode(Ping(pid, ts, pad).encode()) == Ping(pid, ts, pad)


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 2**64 - 1)), max_size=20))
def test_wait_for_channels_round_trip(items: list[tuple[int, int, int]]) -> None:
    msg = WaitForChannels(tuple(ChannelWait(*i) for i in items))
    decoded = WaitForChannels.decode(msg.encode())
    assert [(int(w.channel_type), w.channel_id, w.message_serial) for w in decoded.wait_list] == items
