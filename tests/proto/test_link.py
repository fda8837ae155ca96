"""Link-stage packets: hand-written byte layouts from protocol.h, round trips, malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    LINK_REPLY_SIZE,
    Caps,
    ChannelType,
    CommonCap,
    LinkErr,
    LinkHeader,
    LinkMess,
    LinkReply,
    ProtocolError,
)


def test_link_header_bytes() -> None:
    assert LinkHeader(2, 2, 26).encode() == b"REDQ" + b"\x02\0\0\0" + b"\x02\0\0\0" + b"\x1a\0\0\0"
    assert LinkHeader.decode(b"REDQ\x02\0\0\0\x02\0\0\0\x1a\0\0\0") == LinkHeader(2, 2, 26)


def test_link_header_bad_magic_names_field() -> None:
    with pytest.raises(ProtocolError, match="bad magic") as info:
        LinkHeader.decode(b"HTTP/1.1 400 Bad")
    assert info.value.field == "magic"
    with pytest.raises(ProtocolError, match="needs 16 bytes"):
        LinkHeader.decode(b"REDQ\x02\0")


def test_link_mess_bytes_by_hand() -> None:
    mess = LinkMess(
        connection_id=0x11223344,
        channel_type=ChannelType.DISPLAY,
        channel_id=1,
        common_caps=Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE, CommonCap.MINI_HEADER),
        channel_caps=Caps.of(0, 33),
    )
    expected = (
        b"\x44\x33\x22\x11"  # connection_id
        b"\x02"  # channel_type DISPLAY
        b"\x01"  # channel_id
        b"\x01\0\0\0"  # one common caps word
        b"\x02\0\0\0"  # two channel caps words
        b"\x12\0\0\0"  # caps_offset = 18
        b"\x0b\0\0\0"  # common: bits 0, 1, 3
        b"\x01\0\0\0"  # channel word 0: bit 0
        b"\x02\0\0\0"  # channel word 1: bit 33
    )
    assert mess.encode() == expected
    assert mess.encode_with_header() == b"REDQ\x02\0\0\0\x02\0\0\0" + struct.pack("<I", 30) + expected
    assert LinkMess.decode(expected) == mess


def test_link_reply_bytes_by_hand() -> None:
    key = bytes(range(162))
    reply = LinkReply(LinkErr.OK, key, Caps.of(1, 3), Caps.of(2))
    expected = b"\0\0\0\0" + key + b"\x01\0\0\0\x01\0\0\0" + b"\xb2\0\0\0" + b"\x0a\0\0\0" + b"\x04\0\0\0"
    assert LINK_REPLY_SIZE == 178 == 0xB2
    assert reply.encode() == expected
    assert LinkReply.decode(expected) == reply


def test_link_reply_error_only() -> None:
    # A server refusing a link may send just the error code (and we accept a full zeroed reply too).
    assert LinkReply.decode(b"\x05\0\0\0").error == LinkErr.NEED_SECURED
    full = LinkReply(LinkErr.NEED_SECURED).encode()
    assert len(full) == 178
    assert LinkReply.decode(full) == LinkReply(LinkErr.NEED_SECURED)


def test_link_reply_malformed() -> None:
    with pytest.raises(ProtocolError, match="unknown link error 99"):
        LinkReply.decode(b"\x63\0\0\0" + bytes(174))
    with pytest.raises(ProtocolError, match="pub_key"):
        LinkReply.decode(b"\0\0\0\0" + bytes(100))
    with pytest.raises(ValueError, match="162"):
        LinkReply(LinkErr.OK, b"short").encode()


def test_link_mess_hostile_counts_and_offsets() -> None:
    head = struct.pack("<IBBIII", 0, 1, 0, 0xFFFFFFF0, 0, 18)
    with pytest.raises(ProtocolError, match="count") as info:
        LinkMess.decode(head)
    assert info.value.where == "LinkMess"
    with pytest.raises(ProtocolError, match="caps_offset"):
        LinkMess.decode(struct.pack("<IBBIII", 0, 1, 0, 1, 0, 4) + bytes(4))
    with pytest.raises(ProtocolError, match="past end"):
        LinkMess.decode(struct.pack("<IBBIII", 0, 1, 0, 1, 0, 1000))
    with pytest.raises(ProtocolError, match="channel_id"):
        LinkMess.decode(b"\0\0\0\0\x01")


def test_link_mess_unknown_channel_type_kept_as_int() -> None:
    mess = LinkMess.decode(LinkMess(7, 200, 3).encode())
    assert mess.channel_type == 200 and not isinstance(mess.channel_type, ChannelType)


caps = st.frozensets(st.integers(0, 95), max_size=12).map(Caps)


@given(st.integers(0, 2**32 - 1), st.sampled_from(list(ChannelType)), st.integers(0, 255), caps, caps)
def test_link_mess_round_trip(cid: int, ctype: ChannelType, chid: int, common: Caps, channel: Caps) -> None:
    mess = LinkMess(cid, ctype, chid, common, channel)
    assert LinkMess.decode(mess.encode()) == mess


@given(st.binary(min_size=162, max_size=162), caps, caps)
def test_link_reply_round_trip(key: bytes, common: Caps, channel: Caps) -> None:
    reply = LinkReply(LinkErr.OK, key, common, channel)
    assert LinkReply.decode(reply.encode()) == reply
