"""The client side of a SASL link (AUTH_SASL): the wire as libspice-server speaks it
(QEMU 7.2), and malformed server data giving one ProtocolError."""

from __future__ import annotations

import struct

import pytest
from spice_proto import (
    DEFAULT_COMMON_CAPS,
    NEED_DATA,
    Caps,
    ChannelType,
    CommonCap,
    Connection,
    ConnectionClosed,
    ConnectionState,
    LinkErr,
    LinkEstablished,
    LinkFailed,
    LinkReplyReceived,
    ProtocolError,
    Role,
    SaslLayerStarted,
    SaslMechanisms,
    SaslReply,
    SaslStartReceived,
    SaslStepReceived,
)

KEY = bytes(range(162))
SASL_CAPS = Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SASL, CommonCap.MINI_HEADER)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def client_at_sasl() -> Connection:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN, common_caps=Caps(DEFAULT_COMMON_CAPS | {CommonCap.AUTH_SASL}))
    server.receive_data(client.data_to_send())
    server.next_event()
    server.accept_link(KEY, SASL_CAPS)
    client.receive_data(server.data_to_send())
    assert isinstance(client.next_event(), LinkReplyReceived)
    client.start_sasl()
    assert client.data_to_send() == u32(CommonCap.AUTH_SASL)
    assert client.state is ConnectionState.SASL
    return client


def test_plain_exchange_as_qemu_sends_it() -> None:
    client = client_at_sasl()
    client.receive_data(u32(18) + b",PLAIN,DIGEST-MD5,")
    assert client.next_event() == SaslMechanisms(("PLAIN", "DIGEST-MD5"))
    client.sasl_start("PLAIN", b"\0alice\0pw")
    assert client.data_to_send() == u32(5) + b"PLAIN" + u32(10) + b"\0alice\0pw\0"
    # no server data, complete; a zero outcome; the link result; then MAIN_INIT's mini header
    client.receive_data(u32(0) + b"\x01" + u32(0) + u32(0) + struct.pack("<HI", 103, 0))
    assert client.next_event() == SaslReply(None, True)
    event = client.next_event()
    assert isinstance(event, LinkEstablished) and event.mini_header
    assert client.state is ConnectionState.MESSAGES


def test_multi_step_exchange_keeps_null_and_empty_apart() -> None:
    client = client_at_sasl()
    client.receive_data(u32(6) + b"SCRAM1")
    assert client.next_event() == SaslMechanisms(("SCRAM1",))
    client.sasl_start("SCRAM1", None)
    assert client.data_to_send().endswith(u32(0))
    client.receive_data(u32(1) + b"\0" + b"\x00")  # empty (not NULL) data, not complete
    assert client.next_event() == SaslReply(b"", False)
    client.sasl_step(b"proof")
    assert client.data_to_send() == u32(6) + b"proof\0"
    client.receive_data(u32(3) + b"ok\0" + b"\x01" + u32(1))  # the server's outcome says no
    assert client.next_event() == SaslReply(b"ok", True)
    assert client.next_event() == LinkFailed(LinkErr.PERMISSION_DENIED)


def test_security_layer_stops_after_the_plain_outcome() -> None:
    client = client_at_sasl()
    client.receive_data(u32(10) + b"DIGEST-MD5")
    assert client.next_event() == SaslMechanisms(("DIGEST-MD5",))
    client.sasl_start("DIGEST-MD5", None)
    client.receive_data(u32(0) + b"\x01" + u32(0) + b"WRAPPED-LINK-RESULT")
    assert client.next_event() == SaslReply(None, True)
    with pytest.raises(RuntimeError, match="not allowed in state"):
        Connection(Role.CLIENT).sasl_security_layer()
    client.sasl_security_layer()
    assert client.next_event() == SaslLayerStarted()
    assert client.next_event() is NEED_DATA  # the wrapped bytes are not parsed as plaintext
    assert client.take_unparsed() == b"WRAPPED-LINK-RESULT"
    assert client.take_unparsed() == b""
    client.receive_data(u32(0) + struct.pack("<HI", 103, 0))  # what the layer unwrapped
    event = client.next_event()
    assert isinstance(event, LinkEstablished) and client.state is ConnectionState.MESSAGES


def test_security_layer_refused_outcome_is_still_plain() -> None:
    client = client_at_sasl()
    client.receive_data(u32(10) + b"DIGEST-MD5")
    client.next_event()
    client.sasl_start("DIGEST-MD5", None)
    client.receive_data(u32(0) + b"\x01")
    client.next_event()
    client.sasl_security_layer()
    with pytest.raises(RuntimeError, match="follows the complete"):
        client_at_sasl().sasl_security_layer()
    client.receive_data(u32(1) + u32(22) + b"Authentication failed\0")
    assert client.next_event() == LinkFailed(LinkErr.PERMISSION_DENIED)


@pytest.mark.parametrize(
    ("wire", "fault"),
    [
        (u32((1 << 20) + 1), "at most"),
        (u32(5) + b"PLAIN" + u32(2 << 20), "at most"),
        (u32(5) + b"PLAIN" + u32(0) + b"\x07", "completion flag 7"),
    ],
)
def test_malformed_sasl_data(wire: bytes, fault: str) -> None:
    client = client_at_sasl()
    client.receive_data(wire[:9] if wire[4:9] == b"PLAIN" else wire)
    if wire[4:9] == b"PLAIN":
        assert isinstance(client.next_event(), SaslMechanisms)
        client.sasl_start("PLAIN", b"x")
        client.receive_data(wire[9:])
    with pytest.raises(ProtocolError, match=fault):
        client.next_event()


def test_truncated_and_closed() -> None:
    client = client_at_sasl()
    client.receive_data(u32(10) + b"PLA")
    assert client.next_event() is NEED_DATA
    client.receive_data(b"")
    with pytest.raises(ProtocolError, match="connection closed after"):
        client.next_event()
    quiet = client_at_sasl()
    quiet.receive_data(b"")
    assert quiet.next_event() == ConnectionClosed()


def test_sasl_needs_the_server_to_offer_it() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN)
    server.receive_data(client.data_to_send())
    server.next_event()
    server.accept_link(KEY)
    client.receive_data(server.data_to_send())
    client.next_event()
    with pytest.raises(RuntimeError, match="AUTH_SASL"):
        client.start_sasl()
    with pytest.raises(RuntimeError, match="not allowed in state"):
        client.sasl_step(b"x")


def test_server_multi_step_exchange_with_a_security_layer() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN, common_caps=Caps(DEFAULT_COMMON_CAPS | {CommonCap.AUTH_SASL}))
    server.receive_data(client.data_to_send())
    server.next_event()
    server.accept_link(KEY, SASL_CAPS, sasl_mechanisms=("DIGEST-MD5", "PLAIN"))

    def pump(src: Connection, dst: Connection) -> object:
        dst.receive_data(src.data_to_send())
        return dst.next_event()

    assert isinstance(pump(server, client), LinkReplyReceived)
    client.start_sasl()
    assert pump(client, server) is NEED_DATA  # the offer went into the server's output
    assert pump(server, client) == SaslMechanisms(("DIGEST-MD5", "PLAIN"))
    client.sasl_start("DIGEST-MD5", None)
    assert pump(client, server) == SaslStartReceived("DIGEST-MD5", None)
    server.sasl_continue(b"x")
    with pytest.raises(RuntimeError, match="not allowed in state"):
        server.sasl_continue(b"y")  # the client's answer comes first
    assert pump(server, client) == SaslReply(b"x", False)
    client.sasl_step(b"")
    assert pump(client, server) == SaslStepReceived(b"")
    server.sasl_accept(b"rspauth=1")
    assert pump(server, client) == SaslReply(b"rspauth=1", True)
    client.sasl_security_layer()
    assert client.next_event() == SaslLayerStarted()
    assert client.take_unparsed() == b""
    server.finish_link(LinkErr.OK)  # wrapped in real life; here the "unwrapped" bytes directly
    event = pump(server, client)
    assert isinstance(event, LinkEstablished) and server.state is ConnectionState.MESSAGES


def test_server_refuses_a_huge_sasl_step() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.initiate(ChannelType.MAIN, common_caps=Caps(DEFAULT_COMMON_CAPS | {CommonCap.AUTH_SASL}))
    server.receive_data(client.data_to_send())
    server.next_event()
    server.accept_link(KEY, SASL_CAPS, sasl_mechanisms=("DIGEST-MD5",))
    server.receive_data(u32(CommonCap.AUTH_SASL) + u32(10) + b"DIGEST-MD5" + u32(0))
    assert isinstance(server.next_event(), SaslStartReceived)
    server.sasl_continue(None)
    server.receive_data(u32(2 << 20))
    with pytest.raises(ProtocolError, match="SASL step"):
        server.next_event()
