"""Playback and record channel bodies: hand-checked bytes, round trips, registry, malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    AudioDataMode,
    AudioFmt,
    ChannelType,
    Direction,
    Message,
    PlaybackData,
    PlaybackLatency,
    PlaybackMode,
    PlaybackMsg,
    PlaybackMute,
    PlaybackStart,
    PlaybackStop,
    PlaybackVolume,
    ProtocolError,
    RecordClientData,
    RecordClientMode,
    RecordClientStartMark,
    RecordMsg,
    RecordMsgc,
    RecordMute,
    RecordStart,
    RecordStop,
    RecordVolume,
    decode_message,
)

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER

# (message, channel, direction, wire number, bytes written by hand from spice.proto's layout)
CASES: list[tuple[Message, ChannelType, Direction, int, bytes]] = [
    (PlaybackData(0x01020304, b"\x10\x20"), ChannelType.PLAYBACK, _S2C, 101, b"\x04\x03\x02\x01\x10\x20"),
    (
        PlaybackMode(7, AudioDataMode.OPUS, b"x"),
        ChannelType.PLAYBACK,
        _S2C,
        102,
        struct.pack("<IH", 7, 3) + b"x",
    ),
    (
        PlaybackStart(2, AudioFmt.S16, 48000, 99),
        ChannelType.PLAYBACK,
        _S2C,
        103,
        struct.pack("<IHII", 2, 1, 48000, 99),
    ),
    (PlaybackStop(), ChannelType.PLAYBACK, _S2C, 104, b""),
    (PlaybackVolume((0x1234, 0xFFFF)), ChannelType.PLAYBACK, _S2C, 105, b"\x02\x34\x12\xff\xff"),
    (PlaybackMute(True), ChannelType.PLAYBACK, _S2C, 106, b"\x01"),
    (PlaybackLatency(150), ChannelType.PLAYBACK, _S2C, 107, struct.pack("<I", 150)),
    (RecordStart(1, AudioFmt.S16, 44100), ChannelType.RECORD, _S2C, 101, struct.pack("<IHI", 1, 1, 44100)),
    (RecordStop(), ChannelType.RECORD, _S2C, 102, b""),
    (RecordVolume((5,)), ChannelType.RECORD, _S2C, 103, b"\x01\x05\x00"),
    (RecordMute(False), ChannelType.RECORD, _S2C, 104, b"\x00"),
    (RecordClientData(3, b"pcm"), ChannelType.RECORD, _C2S, 101, b"\x03\0\0\0pcm"),
    (RecordClientMode(4, AudioDataMode.RAW), ChannelType.RECORD, _C2S, 102, struct.pack("<IH", 4, 1)),
    (RecordClientStartMark(5), ChannelType.RECORD, _C2S, 103, struct.pack("<I", 5)),
]


@pytest.mark.parametrize(
    ("msg", "channel", "direction", "number", "wire"), CASES, ids=lambda v: type(v).__name__
)
def test_bytes_and_decode(
    msg: Message, channel: ChannelType, direction: Direction, number: int, wire: bytes
) -> None:
    assert (msg.CHANNEL, msg.DIRECTION, int(msg.TYPE)) == (channel, direction, number)
    assert msg.encode() == wire
    assert decode_message(channel, direction, number, wire) == msg


def test_numbers_match_the_enums() -> None:
    assert PlaybackData.TYPE == PlaybackMsg.DATA and PlaybackLatency.TYPE == PlaybackMsg.LATENCY
    assert RecordStart.TYPE == RecordMsg.START and RecordMute.TYPE == RecordMsg.MUTE
    assert RecordClientStartMark.TYPE == RecordMsgc.START_MARK


def test_mute_reads_any_nonzero_byte_as_true() -> None:
    assert PlaybackMute.decode(b"\x02").mute is True


@given(time=st.integers(0, 2**32 - 1), data=st.binary(max_size=64))
def test_data_round_trip(time: int, data: bytes) -> None:
    for cls in (PlaybackData, RecordClientData):
        msg = cls(time, data)
        assert cls.decode(msg.encode()) == msg


@given(volume=st.lists(st.integers(0, 0xFFFF), max_size=8))
def test_volume_round_trip(volume: list[int]) -> None:
    msg = RecordVolume(tuple(volume))
    assert RecordVolume.decode(msg.encode()) == msg


@given(st.binary(max_size=20))
def test_any_body_decodes_or_raises_protocol_error(body: bytes) -> None:
    for channel, direction, number in [(c[1], c[2], c[3]) for c in CASES]:
        try:
            decode_message(channel, direction, number, body)
        except ProtocolError:
            pass


@pytest.mark.parametrize(
    ("cls", "body", "field"),
    [
        (PlaybackStart, struct.pack("<IH", 2, 1), "frequency"),
        (PlaybackData, b"\x01\x02", "time"),
        (PlaybackVolume, b"\x03\x00\x00", "volume"),
        (RecordClientStartMark, b"", "time"),
    ],
)
def test_truncated_body_names_the_field(cls: type[Message], body: bytes, field: str) -> None:
    with pytest.raises(ProtocolError) as info:
        cls.decode(body)
    assert field in str(info.value)
    assert cls.__name__ in str(info.value)


def test_unknown_mode_and_format_are_protocol_errors_at_their_offset() -> None:
    with pytest.raises(ProtocolError, match="unknown audio data mode 9") as info:
        PlaybackMode.decode(struct.pack("<IH", 0, 9))
    assert info.value.offset == 4
    with pytest.raises(ProtocolError, match="unknown audio format 7"):
        RecordStart.decode(struct.pack("<IHI", 2, 7, 48000))


def test_too_many_volume_channels_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="256 volume channels"):
        PlaybackVolume((0,) * 256).encode()
