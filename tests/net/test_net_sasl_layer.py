"""SASL through libsasl2 against an in-memory server that speaks the SPICE SASL wire itself
(DIGEST-MD5 from a sasldb, the way libspice-server does over plain TCP): the link completes
through the security layer, and a hostile server (garbage or huge records, a bogus challenge, a
huge SASL field, silence after a false start) ends in one clean spice_net error, never a hang."""

from __future__ import annotations

import struct
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import spice_net
import trio
import trio.testing
from peers.sasl import make_sasldb
from spice_net._sasl_layer import SaslLayerStream
from spice_net._sasl_lib import SaslClient, SaslError, SaslServer
from spice_net.lowlevel import TicketKey, single_error
from spice_proto import (
    Caps,
    ChannelType,
    CommonCap,
    Connection,
    LinkRequested,
    Ping,
    Role,
    SaslStartReceived,
    SetAck,
)

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

USER, SECRET = "alice", "layer-secret"
SASL_CAPS = Caps.of(CommonCap.PROTOCOL_AUTH_SELECTION, CommonCap.AUTH_SASL, CommonCap.MINI_HEADER)

Behaviour = Callable[[trio.abc.Stream, SaslServer], Awaitable[None]]


@pytest.fixture(scope="module")
def sasldb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sasldb(tmp_path_factory.mktemp("sasl") / "passwd.db", USER, SECRET)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def reply(data: bytes | None, complete: bool) -> bytes:
    body = u32(0) if data is None else u32(len(data) + 1) + data + b"\0"
    return body + bytes([complete])


class Wire:
    """The server's reads: bytes left over from its Connection, then the stream."""

    def __init__(self, stream: trio.abc.Stream, leftover: bytes) -> None:
        self.stream, self.buf = stream, bytearray(leftover)

    async def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


async def sasl_start(stream: trio.abc.Stream, conn: Connection, offer: tuple[str, ...]) -> SaslStartReceived:
    """Server: accept the link with AUTH_SASL offering ``offer``; the client's choice."""
    while True:
        event = conn.next_event()
        if isinstance(event, LinkRequested):
            conn.accept_link(TicketKey.generate().public_der, SASL_CAPS, sasl_mechanisms=offer)
        elif isinstance(event, SaslStartReceived):
            return event
        else:
            await stream.send_all(conn.data_to_send())
            conn.receive_data(await stream.receive_some(65536))
        await stream.send_all(conn.data_to_send())


async def serve_login(stream: trio.abc.Stream, db: Path, after: Behaviour) -> None:
    """Link reply, then a DIGEST-MD5 login from ``db`` with libsasl2's server; ``after`` runs
    once the plain outcome word is sent."""
    conn = Connection(Role.SERVER)
    server = SaslServer(options={"mech_list": "digest-md5", "sasldb_path": str(db)})
    try:
        event = await sasl_start(stream, conn, tuple(server.mechanisms()))
        wire = Wire(stream, conn.take_unparsed())
        out, done = server.start(event.mechanism, event.data)
        while True:
            await stream.send_all(reply(out, done))
            if done:
                break
            (size,) = struct.unpack("<I", await wire.exactly(4))
            data = (await wire.exactly(size))[:-1] if size else None
            try:
                out, done = server.step(data)
            except SaslError:  # refused: libspice-server just closes
                await stream.aclose()
                return
        assert server.ssf >= 56
        await stream.send_all(u32(0))
        await after(stream, server)
    finally:
        server.close()


async def link(db: Path, after: Behaviour, password: str = SECRET) -> spice_net.Channel:
    """Link a main channel with SASL to :func:`serve_login` over memory streams."""
    client_end, server_end = trio.testing.memory_stream_pair()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve_login, server_end, db, after)
            try:
                return await spice_net.link_channel(
                    client_end, channel_type=ChannelType.MAIN, username=USER, password=password
                )
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise single_error(group) or group from None


async def test_login_through_the_security_layer(sasldb: Path) -> None:
    answered = trio.Event()

    async def answer(stream: trio.abc.Stream, server: SaslServer) -> None:
        wire = Wire(stream, b"")

        async def plaintext(n: int) -> bytes:
            while len(got) < n:
                got.extend(server.decode(await wire.exactly(1)))
            return bytes(got[:n])

        got = bytearray()
        await stream.send_all(server.encode(u32(0)))  # the link result, wrapped
        await stream.send_all(server.encode(struct.pack("<HI", 3, 8) + u32(7) + u32(10)))  # SET_ACK
        ack_sync = struct.pack("<HI", 1, 4) + u32(7)
        assert await plaintext(len(ack_sync)) == ack_sync  # the client's answer, wrapped
        ping = struct.pack("<HI", 4, 12 + 3000) + u32(42) + struct.pack("<Q", 99) + bytes(3000)
        await stream.send_all(server.encode(ping))
        pong = struct.pack("<HI", 3, 12) + u32(42) + struct.pack("<Q", 99)
        assert await plaintext(len(ack_sync + pong)) == ack_sync + pong
        answered.set()
        await trio.sleep_forever()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            client_end, server_end = trio.testing.memory_stream_pair()
            nursery.start_soon(serve_login, server_end, sasldb, answer)
            channel = await spice_net.link_channel(
                client_end, channel_type=ChannelType.MAIN, username=USER, password=SECRET
            )
            assert channel.mini_header
            assert isinstance(await channel.receive(), SetAck)
            ping = await channel.receive()
            assert isinstance(ping, Ping) and ping.id == 42
            await answered.wait()
            await channel.aclose()
            nursery.cancel_scope.cancel()


async def test_layer_stream_round_trip(sasldb: Path) -> None:
    """SaslLayerStream splits big writes into records the peer decodes, and hands out what it
    decodes in the order it came, in reads of any size."""
    server = SaslServer(options={"mech_list": "digest-md5", "sasldb_path": str(sasldb)})
    client = SaslClient(USER, SECRET, host="localhost")
    mechanism, data = client.start(",".join(server.mechanisms()))
    out, done = server.start(mechanism, data)
    while not done:
        out, done = server.step(client.step(out))
    client.step(out)
    assert client.done and client.ssf >= 56 and server.ssf == client.ssf
    near, far = trio.testing.memory_stream_pair()
    layer = SaslLayerStream(near)
    layer.start(client, server.encode(b"early "))  # wrapped bytes read before the switch
    payload = bytes(range(256)) * 1200  # 300 KB: several records
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(layer.send_all, payload)
            plain = bytearray()
            while len(plain) < len(payload):
                plain += server.decode(bytes(await far.receive_some(4096)))
        assert plain == payload
        await far.send_all(server.encode(b"late"))
        assert await layer.receive_some(3) == b"ear"
        received = bytearray()
        while len(received) < 7:
            received += await layer.receive_some()
        assert received == b"ly late"
        await far.aclose()
        assert await layer.receive_some() == b""
    await layer.aclose()
    server.close()


@pytest.mark.parametrize(
    "wrapped",
    [
        b"\xff\xff\xff\xff" + b"x" * 64,  # a record longer than any buffer
        struct.pack(">I", 60000) + bytes(60000),  # a record of the right size whose MAC is wrong
        b"\0\0\0\x20" + b"garbage!" * 4,
    ],
    ids=["huge", "bad-mac", "garbage"],
)
async def test_garbage_after_the_login_is_one_clean_error(sasldb: Path, wrapped: bytes) -> None:
    async def garbage(stream: trio.abc.Stream, server: SaslServer) -> None:
        await stream.send_all(wrapped)
        await trio.sleep_forever()

    with trio.fail_after(20), pytest.raises(spice_net.SpiceNetError, match="SASL security layer"):
        await link(sasldb, garbage)


async def test_hostile_exchanges(sasldb: Path) -> None:
    """A broken challenge, one that offers no security layer over plain TCP (a downgrade) and a
    huge SASL field each end the link with one error, without an answer to the downgrade."""

    async def bogus_challenge(stream: trio.abc.Stream) -> None:
        await stream.send_all(reply(b'nonce="x",qop="auth-conf",cipher="none",algorithm=nonsense', False))

    async def downgrade(stream: trio.abc.Stream) -> None:  # a valid challenge without a layer
        challenge = b'realm="x",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess'
        await stream.send_all(reply(challenge, False))

    async def huge_field(stream: trio.abc.Stream) -> None:
        await stream.send_all(u32(1 << 30) + b"x" * 1024)

    for behaviour, error, says in [
        (bogus_challenge, spice_net.AuthenticationFailed, "SASL DIGEST-MD5: we refused the server's data"),
        (downgrade, spice_net.AuthenticationFailed, "SASL DIGEST-MD5: we refused the server's data"),
        (huge_field, spice_net.ProtocolViolation, "at most"),
    ]:
        client_end, server_end = trio.testing.memory_stream_pair()

        answer = bytearray()

        async def serve(
            stream: trio.abc.Stream = server_end, act: Callable = behaviour, answer: bytearray = answer
        ) -> None:
            await sasl_start(stream, Connection(Role.SERVER), ("DIGEST-MD5",))
            await act(stream)
            while data := await stream.receive_some(65536):  # what the client says, until it closes
                answer.extend(data)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(serve)
                with pytest.raises(error, match=says):
                    await spice_net.link_channel(
                        client_end, channel_type=ChannelType.MAIN, username=USER, password=SECRET
                    )
        assert answer == b"", f"{behaviour.__name__}: the client answered {bytes(answer[:60])!r}"


async def test_wrong_password_is_refused(sasldb: Path) -> None:
    async def never(stream: trio.abc.Stream, server: SaslServer) -> None:
        raise AssertionError("a wrong password logged in")

    with trio.fail_after(20), pytest.raises(spice_net.AuthenticationFailed, match="SASL DIGEST-MD5"):
        await link(sasldb, never, password="not-it")


def test_missing_library_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from spice_net import _sasl_lib

    monkeypatch.setattr(_sasl_lib, "_LIBRARY", "libsasl2-absent.so.9")
    monkeypatch.setattr(_sasl_lib, "_LOADED", [])
    with pytest.raises(spice_net.SaslUnsupported, match="libsasl2-modules"):
        SaslClient(USER, SECRET, host="localhost")


async def test_capture_holds_the_plaintext_of_a_wrapped_channel(sasldb: Path, tmp_path: Path) -> None:
    """capture_to records what the layer unwrapped: after the plain SASL outcome the pcap goes on
    with the link result and SET_ACK in clear, never a wrapped byte (the login reads the plain
    exchange byte by byte, so no wrapped byte arrives with it)."""
    set_ack = struct.pack("<HI", 3, 8) + u32(7) + u32(10)

    async def answer(stream: trio.abc.Stream, server: SaslServer) -> None:
        await stream.send_all(server.encode(u32(0)) + server.encode(set_ack))  # one write, as QEMU
        await trio.sleep_forever()

    with spice_net.capture_to(tmp_path / "pcap"), trio.fail_after(20):
        channel = await link(sasldb, answer)  # SET_ACK is already on its way
        assert isinstance(await channel.receive(), SetAck)
        await channel.aclose()
    (pcap,) = (tmp_path / "pcap").iterdir()
    incoming = b"".join(s.data for s in spice_net.read_pcap(pcap) if s.from_server)
    rspauth = incoming.index(b"rspauth=")
    outcome = incoming.index(b"\0\x01", rspauth) + 2  # the reply's NUL and complete flag
    assert incoming[outcome:] == u32(0) + u32(0) + set_ack  # outcome, link result, SET_ACK


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # cffi reports it
def test_a_callback_that_raises_fails_in_libsasl2() -> None:
    """cffi returns a callback's ``error`` value when Python raises in it: never SASL_OK (0)."""
    from spice_net import _sasl_lib

    lib = _sasl_lib.load()
    ffi = lib.ffi
    no_server = ffi.NULL  # looking up the server of this context raises
    option, result = ffi.new("char[]", b"mech_list"), ffi.new("char *[1]")
    assert lib.getopt(no_server, ffi.NULL, option, result, ffi.NULL) == _sasl_lib._FAIL
    user, password = ffi.new("char[]", b"u"), ffi.new("char[]", b"p")
    assert lib.checkpass(ffi.NULL, no_server, user, password, 1, ffi.NULL) == _sasl_lib._BADAUTH
