"""The sans-I/O Connection: client role against server role in memory."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_proto import (
    DEFAULT_COMMON_CAPS,
    NEED_DATA,
    Ack,
    AckSync,
    AuthMechanism,
    Caps,
    ChannelType,
    CommonCap,
    Connection,
    ConnectionClosed,
    ConnectionState,
    DataHeader,
    Direction,
    Disconnecting,
    Event,
    LinkErr,
    LinkEstablished,
    LinkFailed,
    LinkReply,
    LinkReplyReceived,
    LinkRequested,
    MessageReceived,
    Migrate,
    MigrateFlags,
    Notify,
    NotifySeverity,
    NotifyVisibility,
    Ping,
    Pong,
    ProtocolError,
    Role,
    SetAck,
    TicketReceived,
    UnknownMessage,
    WaitForChannels,
)

KEY = bytes(range(162))
TICKET = bytes(range(128))


def events(conn: Connection) -> list[Event]:
    out: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return out
        out.append(event)
        if isinstance(event, ConnectionClosed):  # repeated on every later call, like h11
            assert conn.next_event() == event
            return out


def transfer(src: Connection, dst: Connection, *, chunk: int | None = None) -> list[Event]:
    """Move src's pending bytes to dst (optionally in ``chunk``-byte pieces) and collect dst's events."""
    data = src.data_to_send()
    if chunk is None:
        dst.receive_data(data)
        return events(dst)
    got: list[Event] = []
    for i in range(0, len(data), chunk):
        dst.receive_data(data[i : i + chunk])
        got += events(dst)
    return got


def linked_pair(
    client_common: Caps | None = None,
    server_common: Caps | None = None,
    channel_type: ChannelType = ChannelType.DISPLAY,
    chunk: int | None = None,
) -> tuple[Connection, Connection]:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(channel_type, 0, 42, client_common, Caps.of(1))
    (req,) = transfer(client, server, chunk=chunk)
    assert isinstance(req, LinkRequested)
    assert req.mess.connection_id == 42 and req.mess.channel_type == channel_type
    server.accept_link(KEY, server_common, Caps.of(2, 5))
    (rep,) = transfer(server, client, chunk=chunk)
    assert isinstance(rep, LinkReplyReceived) and rep.reply.pub_key == KEY
    client.send_ticket(TICKET)
    (tick,) = transfer(client, server, chunk=chunk)
    assert tick == TicketReceived(AuthMechanism.SPICE, TICKET)
    server.finish_link(LinkErr.OK)
    (est,) = transfer(server, client, chunk=chunk)
    assert isinstance(est, LinkEstablished)
    assert est.channel_caps == Caps.of(2, 5) and server.peer_channel_caps == Caps.of(1)
    assert client.state is server.state is ConnectionState.MESSAGES
    return client, server


def test_link_negotiates_mini_header() -> None:
    client, server = linked_pair()
    assert client.mini_header and server.mini_header
    server.send(SetAck(1, 10))
    wire = server.data_to_send()
    assert wire == b"\x03\0" + b"\x08\0\0\0" + b"\x01\0\0\0\x0a\0\0\0"  # mini header + body


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_full_header_when_one_side_lacks_mini_header(chunk: int | None) -> None:
    no_mini = Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE)
    client, server = linked_pair(server_common=no_mini, chunk=chunk)
    assert not client.mini_header and not server.mini_header
    assert server.send(Ping(1, 2)) == 1
    assert server.send(Ping(3, 4)) == 2
    wire = server.data_to_send()
    assert DataHeader.decode(wire[:18]) == DataHeader(1, 4, 12, 0)
    client.receive_data(wire)
    got = events(client)
    assert got == [MessageReceived(Ping(1, 2), 1), MessageReceived(Ping(3, 4), 2)]


def test_ticket_without_auth_selection_has_no_mechanism_word() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN)
    transfer(client, server)
    server.accept_link(KEY, Caps.of(CommonCap.AUTH_SPICE))
    transfer(server, client)
    client.send_ticket(TICKET)
    wire = client.data_to_send()
    assert wire == TICKET
    server.receive_data(wire)
    assert events(server) == [TicketReceived(AuthMechanism.SPICE, TICKET)]


def test_ticket_with_auth_selection_starts_with_mechanism() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN)
    transfer(client, server)
    server.accept_link(KEY)
    transfer(server, client)
    client.send_ticket(TICKET)
    assert client.data_to_send() == b"\x01\0\0\0" + TICKET


def test_server_rejects_unknown_mechanism() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN)
    transfer(client, server)
    server.accept_link(KEY)
    transfer(server, client)
    server.receive_data(struct.pack("<I", AuthMechanism.SASL))
    assert events(server) == [LinkFailed(LinkErr.INVALID_DATA)]
    assert server.data_to_send() == b"\x03\0\0\0"


@pytest.mark.parametrize("error", [LinkErr.NEED_SECURED, LinkErr.CHANNEL_NOT_AVAILABLE])
def test_reject_link(error: LinkErr) -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.INPUTS)
    transfer(client, server)
    server.reject_link(error)
    assert transfer(server, client) == [LinkFailed(error)]
    assert client.state is ConnectionState.CLOSED


def test_wrong_ticket_result() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN)
    transfer(client, server)
    server.accept_link(KEY)
    transfer(server, client)
    client.send_ticket(TICKET)
    transfer(client, server)
    server.finish_link(LinkErr.PERMISSION_DENIED)
    assert server.state is ConnectionState.CLOSED
    assert transfer(server, client) == [LinkFailed(LinkErr.PERMISSION_DENIED)]


def test_ack_window_both_sides() -> None:
    client, server = linked_pair()
    window = 3
    assert server.may_send
    generation = server.send_set_ack(window)
    assert transfer(server, client) == [MessageReceived(SetAck(generation, window), 1)]
    assert transfer(client, server) == [MessageReceived(AckSync(generation), 1)]
    sent = 0
    while server.may_send:
        server.send(Ping(sent, 0))
        sent += 1
    assert sent == 2 * window + 1  # libspice-server stops once more than 2x the window is unacked
    assert server.unacked == sent
    got = transfer(server, client)
    assert len(got) == sent
    acks = transfer(client, server)  # two full windows answered (plus one PONG per PING)
    assert [e.message for e in acks if isinstance(e, MessageReceived) and isinstance(e.message, Ack)] == [
        Ack(),
        Ack(),
    ]
    assert server.unacked == 1 and server.may_send


def test_has_data_to_send_says_whether_bytes_are_queued_without_taking_them() -> None:
    client, server = linked_pair()
    assert not server.has_data_to_send and server.data_to_send() == b""
    outgoing = server.outgoing  # the queue itself: one buffer for the connection's life
    assert not outgoing
    server.send(Ping(1, 0))
    assert server.has_data_to_send and server.has_data_to_send  # asking twice takes nothing
    assert bytes(outgoing) == bytes(server.outgoing)
    queued = bytes(outgoing)
    wire = server.data_to_send()
    assert wire == queued and not server.has_data_to_send and not outgoing
    assert server.outgoing is outgoing
    client.receive_data(wire)
    assert events(client) == [MessageReceived(Ping(1, 0), 1)]
    assert client.has_data_to_send and client.outgoing  # the PONG it owes


def test_stale_generation_acks_are_ignored() -> None:
    client, server = linked_pair()
    server.send_set_ack(1)
    transfer(server, client)
    transfer(client, server)
    server.send(Ping(0, 0))
    server.send_set_ack(1)  # generation 2, client has not synced yet
    server.send(Ping(1, 0))
    # An ACK of generation 1 arrives before the ACK_SYNC of generation 2: not counted.
    server.receive_data(b"\x02\0" + b"\0\0\0\0")
    events(server)
    assert server.unacked == 1


def test_ping_answered_with_twelve_byte_pong_without_padding() -> None:
    client, server = linked_pair()
    server.send(Ping(77, 123456789, b"\xaa" * 1000))
    (got,) = transfer(server, client)
    assert isinstance(got, MessageReceived) and got.message == Ping(77, 123456789, b"\xaa" * 1000)
    wire = client.data_to_send()
    assert wire == b"\x03\0" + b"\x0c\0\0\0" + struct.pack("<IQ", 77, 123456789)
    server.receive_data(wire)
    assert events(server) == [MessageReceived(Pong(77, 123456789), 1)]


def test_notable_messages_recorded_and_delivered() -> None:
    client, server = linked_pair(channel_type=ChannelType.MAIN)
    server.send(Notify(1, NotifySeverity.INFO, NotifyVisibility.LOW, 0, "hello"))
    server.send(WaitForChannels(()))
    server.send(Migrate(MigrateFlags.NEED_FLUSH))
    server.send(Disconnecting(5, LinkErr.OK))
    kinds = [type(e.message) for e in transfer(server, client) if isinstance(e, MessageReceived)]
    assert kinds == [Notify, WaitForChannels, Migrate, Disconnecting]
    assert client.migrate_flags == MigrateFlags.NEED_FLUSH
    assert client.disconnect_reason == LinkErr.OK


def test_unknown_message_passes_through() -> None:
    client, server = linked_pair()
    server.send(UnknownMessage(ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, 999, b"xyz"))
    (got,) = transfer(server, client)
    assert isinstance(got, MessageReceived)
    assert got.message == UnknownMessage(ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, 999, b"xyz")


def test_send_wrong_direction_or_state() -> None:
    client, _ = linked_pair()
    with pytest.raises(ValueError, match="not a client-to-peer message"):
        client.send(Ping(1, 1))
    fresh = Connection(Role.CLIENT)
    with pytest.raises(RuntimeError, match="state IDLE"):
        fresh.send(Pong(1, 1))
    with pytest.raises(RuntimeError, match="send_ticket"):
        fresh.send_ticket(TICKET)


def test_eof_between_messages_is_clean_and_mid_message_is_an_error() -> None:
    client, server = linked_pair()
    server.send(Ping(1, 1))
    client.receive_data(server.data_to_send())
    client.receive_data(b"")
    got = events(client)
    assert got[-1] == ConnectionClosed() and isinstance(got[0], MessageReceived)

    client, server = linked_pair()
    server.send(Ping(1, 1))
    client.receive_data(server.data_to_send()[:-3])
    assert events(client) == []
    client.receive_data(b"")
    with pytest.raises(ProtocolError, match="connection closed after 15 of 18 bytes"):
        client.next_event()
    with pytest.raises(ProtocolError):  # the error sticks
        client.next_event()


def test_malformed_body_and_oversized_message() -> None:
    client, _ = linked_pair()
    client.receive_data(b"\x03\0" + b"\x02\0\0\0" + b"\0\0")  # SET_ACK with a 2-byte body
    with pytest.raises(ProtocolError, match="SetAck"):
        client.next_event()
    small = Connection(Role.CLIENT, max_message_size=100)
    small.mini_header = True
    small.state = ConnectionState.MESSAGES
    small.receive_data(b"\x65\0" + struct.pack("<I", 101))
    with pytest.raises(ProtocolError, match="claims 101 bytes, limit is 100"):
        small.next_event()


def test_client_rejects_garbage_reply() -> None:
    client = Connection(Role.CLIENT)
    client.initiate(ChannelType.MAIN)
    client.receive_data(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    with pytest.raises(ProtocolError, match="bad magic"):
        client.next_event()


def test_client_sees_clean_close_before_reply() -> None:
    client = Connection(Role.CLIENT)
    client.initiate(ChannelType.MAIN)
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()


@pytest.mark.parametrize(
    ("garbage", "error"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", LinkErr.INVALID_MAGIC),
        (b"REDQ\x01\0\0\0\x00\0\0\0\x12\0\0\0" + bytes(18), LinkErr.VERSION_MISMATCH),
        (b"REDQ\x02\0\0\0\x02\0\0\0\x04\0\0\0" + bytes(4), LinkErr.INVALID_DATA),
        (
            b"REDQ\x02\0\0\0\x02\0\0\0\x12\0\0\0" + struct.pack("<IBBIII", 0, 1, 0, 1, 0, 500),
            LinkErr.INVALID_DATA,
        ),
    ],
)
def test_server_answers_malformed_requests(garbage: bytes, error: LinkErr) -> None:
    server = Connection(Role.SERVER)
    server.receive_data(garbage)
    assert events(server) == [LinkFailed(error)]
    wire = server.data_to_send()
    assert wire[:4] == b"REDQ"
    assert LinkReply.decode(wire[16:]).error == error


def test_sub_message_list_delivered_before_main_message() -> None:
    client, _ = linked_pair(server_common=Caps.of(CommonCap.AUTH_SPICE))
    main_body = struct.pack("<IQ", 9, 9)  # PING id 9
    sub = struct.pack("<HI", 3, 8) + struct.pack("<II", 4, 40)  # sub-message SET_ACK(4, 40)
    sub_at = len(main_body)
    table_at = sub_at + len(sub)
    body = main_body + sub + struct.pack("<HI", 1, sub_at)
    client.receive_data(DataHeader(1, 4, len(body), table_at).encode() + body)
    assert events(client) == [MessageReceived(SetAck(4, 40), 1), MessageReceived(Ping(9, 9, body[12:]), 1)]


def test_list_message_carries_only_sub_messages() -> None:
    client, _ = linked_pair(server_common=Caps.of(CommonCap.AUTH_SPICE))
    table = struct.pack("<HII", 2, 10, 24)
    body = table + struct.pack("<HI", 3, 8) + struct.pack("<II", 1, 5) + struct.pack("<HI", 4, 12)
    body += struct.pack("<IQ", 6, 7)
    client.receive_data(DataHeader(3, 8, len(body), 0).encode() + body)
    assert events(client) == [MessageReceived(SetAck(1, 5), 3), MessageReceived(Ping(6, 7), 3)]


def test_bad_sub_message_list() -> None:
    client, _ = linked_pair(server_common=Caps.of(CommonCap.AUTH_SPICE))
    body = struct.pack("<IQ", 9, 9) + struct.pack("<HI", 1, 500)
    client.receive_data(DataHeader(1, 4, len(body), 12).encode() + body)
    with pytest.raises(ProtocolError, match="sub-message 0 at 500 outside the body"):
        client.next_event()


def test_default_caps() -> None:
    assert set(DEFAULT_COMMON_CAPS) == {0, 1, 3}


@given(st.binary(max_size=400), st.integers(1, 50))
@settings(max_examples=300, deadline=None)
def test_random_bytes_only_ever_raise_protocol_error(data: bytes, chunk: int) -> None:
    """Whatever a hostile peer sends, each role gives events or ProtocolError, never anything else."""
    client = Connection(Role.CLIENT)
    client.initiate(ChannelType.MAIN)
    server = Connection(Role.SERVER)
    linked_client, _ = linked_pair()
    for conn in (client, server, linked_client):
        try:
            for i in range(0, len(data), chunk):
                conn.receive_data(data[i : i + chunk])
                events(conn)
            conn.receive_data(b"")
            events(conn)
        except ProtocolError:
            pass


@given(st.binary(min_size=1, max_size=200))
def test_random_message_bodies_after_link(body: bytes) -> None:
    for msg_type in (1, 2, 3, 4, 5, 6, 7, 101, 103, 104):
        client, _ = linked_pair(channel_type=ChannelType.MAIN)
        client.receive_data(struct.pack("<HI", msg_type, len(body)) + body)
        try:
            got = events(client)
        except ProtocolError:
            continue
        assert len(got) == 1 and isinstance(got[0], MessageReceived)


def _mixed_stream(server: Connection, *, big: bool) -> bytes:
    """A server's SET_ACK, PINGs, notes and unknown messages (one over 64 KiB with ``big``)."""
    server.send_set_ack(3)
    to_client = Direction.SERVER_TO_CLIENT
    for i in range(7):
        server.send(Ping(i, 1000 + i, b"\x5a" * (i * 5)))
        server.send(UnknownMessage(ChannelType.DISPLAY, to_client, 900 + i, bytes([i]) * i))
        if big and i == 3:
            server.send(UnknownMessage(ChannelType.DISPLAY, to_client, 999, b"\x77" * 70_000))
    server.send(Notify(9, NotifySeverity.WARN, NotifyVisibility.HIGH, 4, "the end"))
    return server.data_to_send()


@pytest.mark.parametrize("mini", [True, False])
def test_any_split_of_the_byte_stream_gives_the_same_messages_and_replies(mini: bool) -> None:
    """The message parser cuts a buffer at message boundaries whatever the reads were: every
    two-piece split of a stream (and byte-by-byte, and chunks across a message over 64 KiB,
    where the buffer is compacted) gives the same events, serials and ACK/PONG replies."""
    no_mini = Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SPICE)

    def fresh() -> Connection:
        client, _ = linked_pair(server_common=None if mini else no_mini)
        assert client.mini_header is mini
        return client

    for big in (False, True):
        _, server = linked_pair(server_common=None if mini else no_mini)
        wire = _mixed_stream(server, big=big)
        whole = fresh()
        whole.receive_data(wire)
        expected = events(whole)
        replies = whole.data_to_send()
        assert len(expected) == 16 + big
        assert sum(isinstance(e, MessageReceived) and isinstance(e.message, Ping) for e in expected) == 7
        assert [e.serial for e in expected if isinstance(e, MessageReceived)] == list(range(1, 17 + big))
        if big:
            cuts = [[wire[i : i + n] for i in range(0, len(wire), n)] for n in (1, 4093, 65536)]
        else:
            cuts = [[wire[:at], wire[at:]] for at in range(len(wire) + 1)]
            cuts.append([wire[i : i + 1] for i in range(len(wire))])
        for pieces in cuts:
            client = fresh()
            got: list[Event] = []
            for piece in pieces:
                if piece:  # b"" would be end of file
                    client.receive_data(piece)
                got += events(client)
            assert got == expected
            assert client.data_to_send() == replies
            assert client.last_received_serial == len(expected)
            batched = fresh()  # the same in batches: each call takes all the buffer completes
            got = []
            for piece in pieces:
                if piece:
                    batched.receive_data(piece)
                got += batched.next_events()
                assert batched.next_events() == []
            assert got == expected and batched.data_to_send() == replies


def test_a_batch_ends_at_a_fault_and_the_next_call_raises_it() -> None:
    """``next_events`` returns the messages before a fault; the fault comes with the next
    call, and sticks.  ``next_event`` gives the same messages one by one, then the fault."""
    _, server = linked_pair()
    server.send(Ping(1, 1000, b""))
    server.send(Ping(2, 2000, b""))
    wire = server.data_to_send() + b"\x65\0" + struct.pack("<I", 1 << 30)  # then an absurd size
    for one_by_one in (False, True):
        client, _ = linked_pair()
        client.receive_data(wire)
        got = [client.next_event(), client.next_event()] if one_by_one else client.next_events()
        assert [e.message.id for e in got if isinstance(e, MessageReceived)] == [1, 2]  # type: ignore[attr-defined]
        for _ in range(2):
            with pytest.raises(ProtocolError, match="claims"):
                client.next_events() if one_by_one else client.next_event()
        assert client.state is ConnectionState.CLOSED


def test_link_stage_events_come_one_a_call_even_with_messages_behind_them() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.DISPLAY, 0, 1, None, Caps())
    server.receive_data(client.data_to_send())
    assert [type(e) for e in server.next_events()] == [LinkRequested]
    server.accept_link(KEY, None, Caps())
    client.receive_data(server.data_to_send())
    assert [type(e) for e in client.next_events()] == [LinkReplyReceived]
    client.send_ticket(TICKET)
    server.receive_data(client.data_to_send())
    assert [type(e) for e in server.next_events()] == [TicketReceived]
    server.finish_link(LinkErr.OK)
    server.send(Ping(5, 1, b""))
    server.send(Ping(6, 2, b""))
    client.receive_data(server.data_to_send())  # the link's result and two messages at once
    assert [type(e) for e in client.next_events()] == [LinkEstablished]
    assert [e.message.id for e in client.next_events()] == [5, 6]  # type: ignore[attr-defined]
    assert client.next_events() == []


def test_next_events_takes_what_next_event_left_and_what_came_since() -> None:
    _, server = linked_pair()
    for i in range(3):
        server.send(Ping(i, 0, b""))
    client, _ = linked_pair()
    client.receive_data(server.data_to_send())
    first = client.next_event()  # parses all three, hands out one
    server.send(Ping(3, 0, b""))
    client.receive_data(server.data_to_send())
    rest = client.next_events()
    assert [e.message.id for e in [first, *rest]] == [0, 1, 2, 3]  # type: ignore[union-attr]
    assert client.next_events() == [] and client.next_event() is NEED_DATA
