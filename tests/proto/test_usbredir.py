"""The usbredir wire protocol: layouts per capability, both roles, hostile bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_proto.usbredir import (
    SLOTS,
    AltSettingStatus,
    BulkPacket,
    Cap,
    ControlPacket,
    DeviceConnect,
    Endpoint,
    EpInfo,
    EpType,
    FilterFilter,
    GetConfiguration,
    Hello,
    Interface,
    InterfaceInfo,
    InterruptPacket,
    InterruptReceivingStatus,
    IsoPacket,
    IsoStreamStatus,
    Packet,
    Received,
    SetAltSetting,
    SetConfiguration,
    StartInterruptReceiving,
    StartIsoStream,
    StopInterruptReceiving,
    StopIsoStream,
    UsbRedirError,
    UsbRedirParser,
    ep_index,
)

ALL_CAPS = frozenset(Cap)


def pair(
    host_caps: frozenset[int] = ALL_CAPS, guest_caps: frozenset[int] = ALL_CAPS
) -> tuple[UsbRedirParser, UsbRedirParser]:
    """A host and a guest parser that have exchanged HELLOs."""
    host = UsbRedirParser("host", host_caps)
    guest = UsbRedirParser("guest", guest_caps)
    guest.receive_data(host.hello("host 1"))
    host.receive_data(guest.hello("guest 1"))
    assert guest.next_packets() == [Received(0, Hello("host 1", host_caps))]
    assert host.next_packets() == [Received(0, Hello("guest 1", guest_caps))]
    return host, guest


def carry(src: UsbRedirParser, dst: UsbRedirParser, packet: Packet, id: int = 7) -> Received:
    dst.receive_data(src.encode(packet, id))
    [got] = dst.next_packets()
    return got


def test_hello_layout_is_fixed_before_caps_are_known() -> None:
    raw = UsbRedirParser("host", frozenset({Cap.FILTER, Cap.IDS_64BIT})).hello("v")
    assert struct.unpack_from("<III", raw) == (0, 64 + 4, 0)
    assert raw[12:13] == b"v" and raw[13:76] == bytes(63)
    assert struct.unpack_from("<I", raw, 76)[0] == (1 << Cap.FILTER) | (1 << Cap.IDS_64BIT)


def test_ids_are_64_bit_only_when_both_announce_it() -> None:
    host, guest = pair()
    raw = guest.encode(GetConfiguration(), 1 << 40)
    assert struct.unpack_from("<IIQ", raw) == (7, 0, 1 << 40)
    host.receive_data(raw)
    assert host.next_packets() == [Received(1 << 40, GetConfiguration())]
    host, guest = pair(guest_caps=ALL_CAPS - {Cap.IDS_64BIT})
    raw = guest.encode(GetConfiguration(), 5)
    assert raw == struct.pack("<III", 7, 0, 5)
    with pytest.raises(ValueError, match="64-bit ids"):
        guest.encode(GetConfiguration(), 1 << 33)


def test_every_guest_request_round_trips() -> None:
    host, guest = pair()
    for packet in (
        SetConfiguration(1),
        SetAltSetting(0, 2),
        ControlPacket(0x80, 6, 0x80, 0, 0x0100, 0, 18),
        ControlPacket(0x00, 9, 0x00, 0, 1, 0, 3, b"abc"),
        BulkPacket(0x02, 0, 4, 0, b"USBC"),
        BulkPacket(0x81, 0, 200_000),
        InterruptPacket(0x03, 0, 2, b"hi"),
        FilterFilter("0x08,-1,-1,-1,1"),
    ):
        assert carry(guest, host, packet) == Received(7, packet)


def test_every_host_reply_round_trips() -> None:
    host, guest = pair()
    eps = [Endpoint() for _ in range(SLOTS)]
    eps[ep_index(0x81)] = Endpoint(EpType.BULK, 0, 0, 512, 0)
    for packet in (
        DeviceConnect(2, 0, 0, 0, 0x1D6B, 0x0D15, 0x0100),
        InterfaceInfo((Interface(0, 8, 6, 0x50), Interface(1, 3, 1, 1))),
        EpInfo(tuple(eps)),
        AltSettingStatus(0, 0, 2),
        ControlPacket(0x80, 6, 0x80, 0, 0x0100, 0, 3, b"xyz"),
        BulkPacket(0x81, 0, 70_000, 0, bytes(70_000)),
        BulkPacket(0x02, 0, 31),
    ):
        assert carry(host, guest, packet) == Received(7, packet)


def test_layouts_without_the_optional_caps() -> None:
    host, guest = pair(host_caps=frozenset({Cap.IDS_64BIT}), guest_caps=ALL_CAPS)
    raw = host.encode(DeviceConnect(2, 0, 0, 0, 1, 2, 0x0300))
    assert len(raw) == 16 + 8  # no device version
    assert carry(host, guest, DeviceConnect(2, 0, 0, 0, 1, 2, 0x0300)).packet == DeviceConnect(
        2, 0, 0, 0, 1, 2, 0
    )
    eps = tuple(Endpoint(EpType.BULK, 1, 0, 512, 9) for _ in range(SLOTS))
    assert len(host.encode(EpInfo(eps))) == 16 + 96
    assert carry(host, guest, EpInfo(eps)).packet == EpInfo(
        tuple(Endpoint(EpType.BULK, 1, 0) for _ in range(SLOTS))
    )
    assert len(host.encode(BulkPacket(0x81, 0, 3, 0, b"abc"))) == 16 + 8 + 3
    with pytest.raises(ValueError, match="32-bit bulk"):
        host.encode(BulkPacket(0x81, 0, 70_000, 0, bytes(70_000)))
    host, guest = pair(host_caps=frozenset({Cap.EP_INFO_MAX_PACKET_SIZE}))
    assert len(host.encode(EpInfo(eps))) == 12 + 96 + 64
    host, guest = pair()
    assert len(host.encode(EpInfo(eps))) == 16 + 96 + 64 + 128


def test_byte_by_byte_feeding_gives_the_same_packets() -> None:
    host, guest = pair()
    stream = guest.encode(SetConfiguration(1), 1) + guest.encode(BulkPacket(0x02, 0, 5, 0, b"hello"), 2)
    got: list[Received] = []
    for b in stream:
        host.receive_data(bytes([b]))
        got += host.next_packets()
    assert got == [Received(1, SetConfiguration(1)), Received(2, BulkPacket(0x02, 0, 5, 0, b"hello"))]


# The body sizes of usbredir's protocol header, per capability the layout depends on.
_LAYOUT_CAPS = (
    Cap.CONNECT_DEVICE_VERSION,
    Cap.EP_INFO_MAX_PACKET_SIZE,
    Cap.BULK_STREAMS,
    Cap.BULK_LENGTH_32BIT,
)


@pytest.mark.parametrize("mask", range(1 << len(_LAYOUT_CAPS)), ids=lambda m: f"caps{m:04b}")
def test_every_layout_variant_has_the_protocol_sizes_and_round_trips(mask: int) -> None:
    agreed = frozenset(c for i, c in enumerate(_LAYOUT_CAPS) if mask >> i & 1)
    has = agreed.__contains__
    mps = has(Cap.EP_INFO_MAX_PACKET_SIZE) or has(Cap.BULK_STREAMS)
    bulk_head = 10 if has(Cap.BULK_LENGTH_32BIT) else 8
    version = has(Cap.CONNECT_DEVICE_VERSION)
    cases: list[tuple[str, Packet, int, Packet | None]] = [
        (
            "host",
            DeviceConnect(2, 8, 6, 0x50, 1, 2, 0x0300),
            10 if version else 8,
            DeviceConnect(2, 8, 6, 0x50, 1, 2, 0x0300 if version else 0),
        ),
        (
            "host",
            EpInfo(tuple(Endpoint(EpType.BULK, 1, 0, 512, 9) for _ in range(SLOTS))),
            96 + (64 if mps else 0) + (128 if has(Cap.BULK_STREAMS) else 0),
            EpInfo(
                tuple(
                    Endpoint(EpType.BULK, 1, 0, 512 if mps else 0, 9 if has(Cap.BULK_STREAMS) else 0)
                    for _ in range(SLOTS)
                )
            ),
        ),
        ("host", InterfaceInfo((Interface(0, 8, 6, 0x50),)), 4 + 4 * 32, None),
        ("guest", BulkPacket(0x02, 0, 3, 5, b"abc"), bulk_head + 3, None),
        ("host", BulkPacket(0x81, 0, 2, 5, b"hi"), bulk_head + 2, None),
        ("guest", ControlPacket(0x00, 9, 0, 0, 1, 0, 1, b"x"), 10 + 1, None),
        ("host", InterruptPacket(0x83, 0, 4, b"abcd"), 4 + 4, None),
        ("host", AltSettingStatus(0, 1, 2), 3, None),
        ("guest", SetAltSetting(1, 2), 2, None),
        ("guest", GetConfiguration(), 0, None),
    ]
    for sender, packet, size, expected in cases:
        host, guest = pair(host_caps=agreed | {Cap.IDS_64BIT})
        src, dst = (host, guest) if sender == "host" else (guest, host)
        raw = src.encode(packet, 3)
        assert struct.unpack_from("<IIQ", raw)[1:] == (size, 3)
        assert len(raw) == 16 + size
        assert carry(src, dst, packet, 3) == Received(3, expected or packet)
        if size:  # one byte short: the peer refuses it
            dst.receive_data(struct.pack("<IIQ", packet.TYPE, size - 1, 4) + raw[16:-1])
            with pytest.raises(UsbRedirError):
                dst.next_packets()


# ------------------------------------------------------------------ hostile input
def _raw(ptype: int, body: bytes, id: int = 1) -> bytes:
    return struct.pack("<IIQ", ptype, len(body), id) + body


@pytest.mark.parametrize(
    ("raw", "fault"),
    [
        (_raw(99, b""), "unknown type 99"),
        (_raw(6, b"\x01\x02"), "SET_CONFIGURATION: 2 bytes, expected 1"),
        (_raw(1, bytes(10)), "may not send DEVICE_CONNECT"),
        (_raw(0, bytes(68)), "a second HELLO"),
        (_raw(101, struct.pack("<BBHIH", 0x02, 0, 10, 0, 0) + b"abc"), "3 data bytes, header says 10"),
        (_raw(101, struct.pack("<BBHIH", 0x81, 0, 10, 0, 0) + b"abc"), "unexpected 3 data bytes"),
        (_raw(100, b"\x80\x06"), "shorter than its 10-byte header"),
        (_raw(23, b"0x08,-1,-1,-1,1"), "not NUL-terminated"),
        (_raw(23, b"\xff\0"), "not ASCII"),
        (struct.pack("<IIQ", 101, 1 << 30, 1), "claims 1073741824 bytes"),
    ],
)
def test_hostile_guest_packets_raise(raw: bytes, fault: str) -> None:
    host, _ = pair()
    host.receive_data(raw)
    with pytest.raises(UsbRedirError, match=fault):
        host.next_packets()


def test_packets_before_hello_and_bad_hello() -> None:
    host = UsbRedirParser("host", ALL_CAPS)
    host.receive_data(struct.pack("<III", 7, 0, 1))
    with pytest.raises(UsbRedirError, match="before HELLO"):
        host.next_packets()
    host = UsbRedirParser("host", ALL_CAPS)
    host.receive_data(struct.pack("<III", 0, 66, 0) + bytes(66))
    with pytest.raises(UsbRedirError, match="HELLO of 66 bytes"):
        host.next_packets()


def test_a_hello_full_of_capability_bits_keeps_only_the_first_words() -> None:
    """64 KB of set bits would be half a million capabilities (and 8 MB, 64 million):
    only the first 8 words (256 bits) are read, the agreed ones still work."""
    host = UsbRedirParser("host", ALL_CAPS)
    body = b"hostile".ljust(64, b"\0") + b"\xff" * (64 << 10)
    host.receive_data(struct.pack("<III", 0, len(body), 0) + body)
    [got] = host.next_packets()
    assert isinstance(got.packet, Hello)
    assert got.packet.caps == frozenset(range(256))
    assert host.agreed == ALL_CAPS and host.header_size == 16


def test_hostile_host_packets_raise() -> None:
    _, guest = pair()
    guest.receive_data(_raw(4, struct.pack("<I", 33) + bytes(128)))
    with pytest.raises(UsbRedirError, match="33 interfaces"):
        guest.next_packets()
    _, guest = pair()
    guest.receive_data(_raw(6, b"\x01"))
    with pytest.raises(UsbRedirError, match="host may not send SET_CONFIGURATION"):
        guest.next_packets()


def test_a_huge_length_is_refused_before_its_body_arrives() -> None:
    host, _ = pair()
    host.max_packet = 1000
    host.receive_data(struct.pack("<IIQ", 101, 1001, 1))
    with pytest.raises(UsbRedirError, match="limit 1000"):
        host.next_packets()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_hello_give_packets_or_usbredir_error(data: bytes) -> None:
    host, _ = pair()
    host.receive_data(data)
    try:
        host.next_packets()
    except UsbRedirError:
        pass


# ------------------------------------------------- isochronous and interrupt paths
def test_iso_and_interrupt_packets_have_usbredirproto_layouts_and_round_trip() -> None:
    """Byte layouts of usbredirproto.h's iso / interrupt headers, both directions."""
    host, guest = pair()
    for sender, packet, body in [
        ("guest", StartIsoStream(0x83, 8, 4), bytes([0x83, 8, 4])),
        ("guest", StopIsoStream(0x83), bytes([0x83])),
        ("host", IsoStreamStatus(0, 0x83), bytes([0, 0x83])),
        ("guest", IsoPacket(0x03, 0, 3, b"abc"), struct.pack("<BBH", 0x03, 0, 3) + b"abc"),
        ("host", IsoPacket(0x03, 0, 3), struct.pack("<BBH", 0x03, 0, 3)),
        (
            "host",
            IsoPacket(0x83, 0, 192, bytes(range(192))),
            struct.pack("<BBH", 0x83, 0, 192) + bytes(range(192)),
        ),
        ("host", IsoPacket(0x83, 4, 0), struct.pack("<BBH", 0x83, 4, 0)),
        ("guest", StartInterruptReceiving(0x81), bytes([0x81])),
        ("guest", StopInterruptReceiving(0x81), bytes([0x81])),
        ("host", InterruptReceivingStatus(0, 0x81), bytes([0, 0x81])),
        ("host", InterruptPacket(0x81, 0, 8, bytes(8)), struct.pack("<BBH", 0x81, 0, 8) + bytes(8)),
        ("guest", InterruptPacket(0x02, 0, 1, b"\x02"), struct.pack("<BBH", 0x02, 0, 1) + b"\x02"),
        ("host", InterruptPacket(0x02, 0, 1), struct.pack("<BBH", 0x02, 0, 1)),
    ]:
        src, dst = (host, guest) if sender == "host" else (guest, host)
        raw = src.encode(packet, 9)
        assert raw == struct.pack("<IIQ", packet.TYPE, len(body), 9) + body, packet
        assert carry(src, dst, packet, 9) == Received(9, packet)


@pytest.mark.parametrize(
    ("sender", "raw", "fault"),
    [
        ("host", _raw(12, bytes([0x83, 8, 4])), "host may not send START_ISO_STREAM"),
        ("guest", _raw(14, bytes([0, 0x83])), "guest may not send ISO_STREAM_STATUS"),
        ("guest", _raw(12, bytes([0x83, 8])), "START_ISO_STREAM: 2 bytes, expected 3"),
        ("guest", _raw(102, struct.pack("<BBH", 0x83, 0, 4) + b"abcd"), "unexpected 4 data bytes"),
        ("host", _raw(102, struct.pack("<BBH", 0x83, 0, 4) + b"ab"), "2 data bytes, header says 4"),
        ("host", _raw(102, struct.pack("<BBH", 0x03, 0, 2) + b"ab"), "unexpected 2 data bytes"),
        ("host", _raw(103, struct.pack("<BBH", 0x81, 0, 8)), "0 data bytes, header says 8"),
        ("host", _raw(15, bytes([0x81])), "host may not send START_INTERRUPT_RECEIVING"),
    ],
)
def test_hostile_iso_and_interrupt_packets_raise(sender: str, raw: bytes, fault: str) -> None:
    host, guest = pair()
    dst = guest if sender == "host" else host
    dst.receive_data(raw)
    with pytest.raises(UsbRedirError, match=fault):
        dst.next_packets()
