"""Main channel message bodies: hand-written byte layouts, round trips, malformed input."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spice_proto import (
    AgentAnnounceCapabilities,
    AgentCap,
    AgentMessage,
    AgentMessageType,
    AgentMonConfig,
    AgentMonitorsConfig,
    AgentReply,
    AgentStream,
    Caps,
    ChannelId,
    ChannelType,
    Direction,
    LinkErr,
    MainAgentConnected,
    MainAgentConnectedTokens,
    MainAgentData,
    MainAgentDisconnected,
    MainAgentStart,
    MainAgentToken,
    MainAttachChannels,
    MainChannelsList,
    MainClientAgentData,
    MainClientAgentToken,
    MainClientInfo,
    MainClientMigrateEnd,
    MainInit,
    MainMigrateBegin,
    MainMigrateBeginSeamless,
    MainMigrateCancel,
    MainMigrateConnected,
    MainMigrateConnectedSeamless,
    MainMigrateConnectError,
    MainMigrateDstDoSeamless,
    MainMigrateDstSeamlessAck,
    MainMigrateDstSeamlessNack,
    MainMigrateEnd,
    MainMigrateSwitchHost,
    MainMouseMode,
    MainMouseModeRequest,
    MainMsg,
    MainMsgc,
    MainMultiMediaTime,
    MainName,
    MainQualityIndicator,
    MainUuid,
    Message,
    MigrationDstInfo,
    MouseMode,
    ProtocolError,
    agent_chunks,
    decode_message,
)
from spice_proto.lowlevel import message_class

S2C = Direction.SERVER_TO_CLIENT
C2S = Direction.CLIENT_TO_SERVER

DST = MigrationDstInfo(5900, 5901, "dst.example", "C=XX,O=Test,CN=dst")

# One instance of every main-channel message, both directions.
EXAMPLES: list[Message] = [
    MainMigrateBegin(DST),
    MainMigrateBegin(MigrationDstInfo(1, 0, "h")),
    MainMigrateCancel(),
    MainInit(7, 1, MouseMode.SERVER | MouseMode.CLIENT, MouseMode.SERVER, True, 10, 123456, 1 << 20),
    MainChannelsList((ChannelId(ChannelType.DISPLAY, 0), ChannelId(ChannelType.INPUTS, 0))),
    MainChannelsList(()),
    MainMouseMode(MouseMode.SERVER | MouseMode.CLIENT, MouseMode.CLIENT),
    MainMultiMediaTime(0xFFFFFFFF),
    MainAgentConnected(),
    MainAgentDisconnected(LinkErr.ERROR),
    MainAgentData(b"\x01\x00\x00\x00agent bytes"),
    MainAgentToken(5),
    MainMigrateSwitchHost(5930, 0, "other.example", None),
    MainMigrateEnd(),
    MainName("my vm \u00e9"),
    MainUuid(bytes(range(16))),
    MainAgentConnectedTokens(10),
    MainMigrateBeginSeamless(DST, 2),
    MainMigrateDstSeamlessAck(),
    MainMigrateDstSeamlessNack(),
    MainClientInfo(1 << 40),
    MainMigrateConnected(),
    MainMigrateConnectError(),
    MainAttachChannels(),
    MainMouseModeRequest(MouseMode.CLIENT),
    MainAgentStart(0xFFFFFFFF),
    MainClientAgentData(b"xyz"),
    MainClientAgentToken(3),
    MainClientMigrateEnd(),
    MainMigrateDstDoSeamless(1),
    MainMigrateConnectedSeamless(),
    MainQualityIndicator(b"fps=25"),
]


def test_every_main_message_has_a_class_and_an_example() -> None:
    covered = {(type(m).DIRECTION, int(type(m).TYPE)) for m in EXAMPLES}
    for number in MainMsg:
        cls = message_class(ChannelType.MAIN, S2C, number)
        assert cls is not None and cls.__name__.startswith("Main"), number
        assert (S2C, int(number)) in covered, number
    for client_number in MainMsgc:
        cls = message_class(ChannelType.MAIN, C2S, client_number)
        assert cls is not None and cls.__name__.startswith("Main"), client_number
        assert (C2S, int(client_number)) in covered, client_number


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip_through_the_registry(msg: Message) -> None:
    body = msg.encode()
    again = decode_message(ChannelType.MAIN, type(msg).DIRECTION, type(msg).TYPE, body)
    assert again == msg
    assert type(again) is type(msg)
    longer = type(msg).decode(body + b"\xaa\xbb")
    if hasattr(msg, "data"):  # raw-bytes bodies run to the end of the message
        assert longer.data == msg.data + b"\xaa\xbb"  # type: ignore[attr-defined]
    else:  # newer peers may append fields: trailing bytes are tolerated
        assert longer == msg


@pytest.mark.parametrize(
    "msg",
    [m for m in EXAMPLES if m.encode() and not hasattr(m, "data")],
    ids=lambda m: type(m).__name__,
)
def test_every_truncation_raises_protocol_error_naming_message(msg: Message) -> None:
    body = msg.encode()
    for cut in range(len(body)):
        with pytest.raises(ProtocolError) as info:
            type(msg).decode(body[:cut])
        assert info.value.where == type(msg).__name__
        assert info.value.field
        assert type(msg).__name__ in str(info.value)


def test_init_layout_by_hand() -> None:
    msg = MainInit(
        session_id=0x11223344,
        display_channels_hint=1,
        supported_mouse_modes=MouseMode.SERVER | MouseMode.CLIENT,
        current_mouse_mode=MouseMode.SERVER,
        agent_connected=True,
        agent_tokens=10,
        multi_media_time=0xAABBCCDD,
        ram_hint=0x01000000,
    )
    expected = bytes.fromhex(
        "44332211"  # session_id
        "01000000"  # display_channels_hint
        "03000000"  # supported_mouse_modes: SERVER|CLIENT
        "01000000"  # current_mouse_mode: SERVER
        "01000000"  # agent_connected
        "0a000000"  # agent_tokens
        "ddccbbaa"  # multi_media_time
        "00000001"  # ram_hint
    )
    assert msg.encode() == expected
    decoded = MainInit.decode(expected)
    assert decoded == msg
    assert decoded.current_mouse_mode is MouseMode.SERVER


def test_init_truncated_names_field() -> None:
    with pytest.raises(ProtocolError, match=r"MainInit.*'agent_tokens'"):
        MainInit.decode(bytes(20))


def test_channels_list_layout_by_hand() -> None:
    body = bytes.fromhex("03000000020003000401")
    msg = MainChannelsList.decode(body)
    assert msg.channels == (
        ChannelId(ChannelType.DISPLAY, 0),
        ChannelId(ChannelType.INPUTS, 0),
        ChannelId(ChannelType.CURSOR, 1),
    )
    assert msg.channels[0].type is ChannelType.DISPLAY
    assert msg.encode() == body


def test_channels_list_keeps_unknown_channel_types() -> None:
    msg = MainChannelsList.decode(bytes.fromhex("010000006303"))
    assert msg.channels == (ChannelId(0x63, 3),)
    assert msg.encode() == bytes.fromhex("010000006303")


def test_channels_list_hostile_count_fails_fast() -> None:
    with pytest.raises(ProtocolError, match=r"MainChannelsList.*'channels'.*count 4294967295"):
        MainChannelsList.decode(bytes.fromhex("ffffffff0200"))


def test_mouse_mode_fields_are_u16() -> None:
    assert MainMouseMode(MouseMode.SERVER | MouseMode.CLIENT, MouseMode.CLIENT).encode() == bytes.fromhex(
        "03000200"
    )
    assert MainMouseModeRequest(MouseMode.CLIENT).encode() == bytes.fromhex("0200")
    with pytest.raises(ProtocolError, match="current_mode"):
        MainMouseMode.decode(b"\x03\x00\x02")


def test_token_and_small_layouts_by_hand() -> None:
    assert MainAgentStart(0x10).encode() == bytes.fromhex("10000000")
    assert MainAgentToken(0x0102).encode() == bytes.fromhex("02010000")
    assert MainAgentDisconnected(LinkErr.PERMISSION_DENIED).encode() == bytes.fromhex("07000000")
    assert MainClientInfo(1).encode() == bytes.fromhex("0100000000000000")
    assert MainMigrateDstDoSeamless(2).encode() == bytes.fromhex("02000000")
    assert MainAttachChannels().encode() == b""
    assert MainAgentDisconnected.decode(bytes.fromhex("63000000")).error_code == 0x63


def test_name_layout_counts_the_nul() -> None:
    body = bytes.fromhex("05000000") + b"test\0"
    assert MainName("test").encode() == body
    assert MainName.decode(body) == MainName("test")
    # a peer that leaves the NUL out is read the same way
    assert MainName.decode(bytes.fromhex("04000000") + b"test") == MainName("test")


def test_name_errors() -> None:
    with pytest.raises(ProtocolError, match=r"MainName.*'name'.*needs 9 bytes"):
        MainName.decode(bytes.fromhex("09000000") + b"test\0")
    with pytest.raises(ProtocolError, match=r"MainName.*'name'.*not UTF-8"):
        MainName.decode(bytes.fromhex("02000000") + b"\xff\0")
    with pytest.raises(ProtocolError, match="NUL"):
        MainName("a\0b").encode()
    with pytest.raises(ProtocolError, match=r"MainName.*not encodable"):
        MainName("\ud800").encode()


def test_uuid() -> None:
    value = uuid.UUID("12345678-9abc-def0-1122-334455667788")
    msg = MainUuid.decode(value.bytes)
    assert msg.as_uuid() == value
    assert msg.encode() == value.bytes
    with pytest.raises(ProtocolError, match=r"MainUuid.*'uuid'"):
        MainUuid.decode(value.bytes[:15])
    with pytest.raises(ProtocolError, match="16 bytes"):
        MainUuid(b"short")


def test_migrate_begin_layout_by_hand() -> None:
    msg = MainMigrateBegin(MigrationDstInfo(port=5900, sport=5901, host="h1", cert_subject="CN=x"))
    expected = (
        bytes.fromhex(
            "0c17"  # port 5900
            "0d17"  # sport 5901
            "03000000"  # host_size, counting the NUL
            "14000000"  # host pointer: offset 20, right after the fixed part
            "05000000"  # cert_subject_size
            "17000000"  # cert pointer: 20 + 3
        )
        + b"h1\0CN=x\0"
    )
    assert msg.encode() == expected
    assert MainMigrateBegin.decode(expected) == msg


def test_migrate_begin_without_cert_subject() -> None:
    msg = MainMigrateBegin(MigrationDstInfo(port=1, sport=2, host="h"))
    expected = bytes.fromhex("0100020002000000140000000000000000000000") + b"h\0"
    assert msg.encode() == expected
    assert MainMigrateBegin.decode(expected).dst_info.cert_subject is None


def test_migrate_begin_seamless_strings_follow_the_version() -> None:
    body = MainMigrateBeginSeamless(MigrationDstInfo(1, 2, "h"), src_mig_version=7).encode()
    assert body[20:24] == bytes.fromhex("07000000")
    assert body[8:12] == bytes.fromhex("18000000")  # host pointer: 24
    assert body[24:] == b"h\0"


def test_migrate_pointer_past_end() -> None:
    body = bytes.fromhex("0100020002000000ff0000000000000000000000")
    with pytest.raises(ProtocolError, match=r"MainMigrateBegin.*'dst_info.host_data'.*pointer 255"):
        MainMigrateBegin.decode(body)
    short = bytes.fromhex("0100020009000000140000000000000000000000") + b"h\0"
    with pytest.raises(ProtocolError, match=r"'dst_info.host_data'.*needs 9 bytes"):
        MainMigrateBegin.decode(short)


def test_agent_data_keeps_bytes_verbatim() -> None:
    payload = bytes(range(256)) * 8
    assert MainAgentData.decode(payload).data == payload
    assert MainClientAgentData(payload).encode() == payload


@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 3),
    st.integers(0, 3),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_init_round_trip(session: int, hint: int, modes: int, mode: int, agent: bool, tokens: int) -> None:
    msg = MainInit(session, hint, MouseMode(modes), MouseMode(mode), agent, tokens, tokens ^ 1, hint)
    assert MainInit.decode(msg.encode()) == msg
    assert len(msg.encode()) == 32


@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), max_size=50))
def test_channels_list_round_trip(pairs: list[tuple[int, int]]) -> None:
    msg = MainChannelsList(tuple(ChannelId(t, i) for t, i in pairs))
    body = msg.encode()
    assert len(body) == 4 + 2 * len(pairs)
    assert MainChannelsList.decode(body) == msg


@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), max_size=40),
    st.booleans(),
)
def test_switch_host_round_trip(host: str, with_cert: bool) -> None:
    msg = MainMigrateSwitchHost(5900, 5901, host, host[::-1] if with_cert else None)
    assert MainMigrateSwitchHost.decode(msg.encode()) == msg


# --------------------------------------------------------------------------- agent layer (VDAgent messages)


def test_agent_message_header_by_hand() -> None:
    msg = AgentMonitorsConfig((AgentMonConfig(width=1024, height=768, depth=32, x=-5, y=0),)).message()
    expected = bytes.fromhex(
        "01000000"  # protocol 1
        "02000000"  # VD_AGENT_MONITORS_CONFIG
        "0000000000000000"  # opaque
        "1c000000"  # size 28
        "01000000"  # num_of_monitors
        "01000000"  # flags USE_POS
        "00030000"  # height 768 (height comes first)
        "00040000"  # width 1024
        "20000000"  # depth
        "fbffffff"  # x -5
        "00000000"  # y
    )
    assert msg.encode() == expected
    (back,) = AgentStream().feed(expected)
    assert back.type is AgentMessageType.MONITORS_CONFIG
    assert AgentMonitorsConfig.parse(back.data).monitors == (AgentMonConfig(1024, 768, 32, -5, 0),)


def test_agent_capabilities_and_reply() -> None:
    caps = Caps.of(AgentCap.MONITORS_CONFIG, AgentCap.REPLY, AgentCap.CLIPBOARD_GRAB_SERIAL)
    msg = AgentAnnounceCapabilities(True, caps).message()
    assert msg.data == bytes.fromhex("0100000006000200")  # request, bits 1, 2 and 17
    assert AgentAnnounceCapabilities.parse(msg.data) == AgentAnnounceCapabilities(True, caps)
    reply = AgentReply(AgentMessageType.MONITORS_CONFIG, AgentReply.SUCCESS).message()
    assert reply.data == bytes.fromhex("0200000001000000")
    assert AgentReply.parse(reply.data).type is AgentMessageType.MONITORS_CONFIG
    with pytest.raises(ProtocolError, match=r"VDAgentReply.*'error'"):
        AgentReply.parse(reply.data[:6])
    with pytest.raises(ProtocolError, match=r"VDAgentMonitorsConfig.*'monitors'"):
        AgentMonitorsConfig.parse(bytes.fromhex("0500000000000000") + bytes(20))


@given(st.lists(st.binary(max_size=5000), max_size=6), st.integers(1, 2048))
def test_agent_stream_reassembles_any_chunking(payloads: list[bytes], size: int) -> None:
    messages = [AgentMessage(AgentMessageType.CLIPBOARD, p, opaque=i) for i, p in enumerate(payloads)]
    chunks = agent_chunks(b"".join(m.encode() for m in messages), size)
    assert all(0 < len(c) <= size for c in chunks)
    stream = AgentStream()
    out = [m for chunk in chunks for m in stream.feed(chunk)]
    assert out == messages
    assert stream.pending == 0


def test_agent_stream_rejects_bad_headers() -> None:
    with pytest.raises(ProtocolError, match=r"VDAgentMessage.*'protocol'"):
        AgentStream().feed(bytes.fromhex("0200000001000000000000000000000000000000"))
    stream = AgentStream(max_message_size=1000)
    with pytest.raises(ProtocolError, match=r"'size'.*1001 above the limit"):
        stream.feed(bytes.fromhex("01000000040000000000000000000000e9030000"))
    unknown = AgentStream().feed(bytes.fromhex("0100000063000000000000000000000001000000aa"))
    assert unknown == [AgentMessage(0x63, b"\xaa")]
