"""spice_net client against spice_net server over in-memory streams (and 127.0.0.1 TCP)."""

from __future__ import annotations

import socket
from functools import partial
from typing import Any

import pytest
import spice_net
import trio
import trio.testing
from spice_net import (
    AuthenticationFailed,
    Channel,
    ChannelClosed,
    ConnectFailed,
    ConnectTimeout,
    LinkRefused,
    NeedSecured,
    NotSpiceServer,
    ProtocolViolation,
    ServerChannel,
    accept_channel,
    link_channel,
)
from spice_net.lowlevel import TicketKey, encrypt_ticket
from spice_proto import (
    Ack,
    AckSync,
    Caps,
    ChannelType,
    CommonCap,
    Connection,
    Direction,
    LinkErr,
    LinkMess,
    LinkReply,
    LinkRequested,
    Notify,
    NotifySeverity,
    NotifyVisibility,
    Ping,
    Pong,
    Role,
    TicketReceived,
    UnknownMessage,
)


async def linked(
    *, server_password: str | None = None, client_password: str | None = None, **server_kw: Any
) -> tuple[Channel, ServerChannel]:
    """A client and a server channel linked over a memory stream pair."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    box: dict[str, Any] = {}

    async def serve() -> None:
        try:
            box["server"] = await accept_channel(server_stream, password=server_password, **server_kw)
        except spice_net.SpiceNetError as exc:
            box["server_error"] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        try:
            client = await link_channel(
                client_stream,
                channel_type=ChannelType.DISPLAY,
                channel_id=1,
                connection_id=77,
                password=client_password,
                channel_caps=Caps.of(3),
            )
        except spice_net.SpiceNetError as exc:
            box["client_error"] = exc
    if "client_error" in box or "server_error" in box:
        raise _LinkErrors(box.get("client_error"), box.get("server_error"))
    return client, box["server"]


class _LinkErrors(Exception):
    def __init__(self, client: BaseException | None, server: BaseException | None) -> None:
        super().__init__(client, server)
        self.client = client
        self.server = server


async def test_link_and_exchange_messages() -> None:
    seen: list[LinkMess] = []

    def caps_for(mess: LinkMess) -> Caps:
        seen.append(mess)
        return Caps.of(0, 4)

    client, server = await linked(channel_caps_for=caps_for)
    assert seen[0].channel_type == ChannelType.DISPLAY and seen[0].connection_id == 77
    assert client.channel_type == server.channel_type == ChannelType.DISPLAY
    assert client.channel_id == 1 and server.connection_id == 77
    assert client.server_channel_caps == Caps.of(0, 4) and server.client_channel_caps == Caps.of(3)
    assert CommonCap.MINI_HEADER in client.server_common_caps
    assert client.mini_header and server.mini_header
    note = Notify(5, NotifySeverity.INFO, NotifyVisibility.HIGH, 0, "welcome")
    raw = UnknownMessage(ChannelType.DISPLAY, Direction.SERVER_TO_CLIENT, 5000, b"opaque")
    assert await server.send(note) == 1
    assert await server.send(raw) == 2
    assert await client.receive() == note
    assert await client.receive() == raw
    assert client.last_serial == 2
    await client.send(UnknownMessage(ChannelType.DISPLAY, Direction.CLIENT_TO_SERVER, 5001, b"\x01"))
    got = await server.receive()
    assert isinstance(got, UnknownMessage) and got.type == 5001 and got.body == b"\x01"
    await client.aclose()
    with pytest.raises(ChannelClosed, match="peer closed"):
        await server.receive()
    with pytest.raises(ChannelClosed):
        await client.send(Pong(1, 1))
    await server.aclose()


async def _assert_usable(client: Channel, server: ServerChannel) -> None:
    """Both ends of a freshly linked pair agree on the channel and carry a message each way."""
    assert client.channel_type == server.channel_type == ChannelType.DISPLAY
    assert server.connection_id == 77
    await server.send(Ping(7, 123))
    assert await client.receive() == Ping(7, 123)
    await client.send(Pong(7, 123))
    assert await server.receive() == Pong(7, 123)
    await client.aclose()
    await server.aclose()


async def test_right_password() -> None:
    client, server = await linked(server_password="sesame", client_password="sesame")
    await _assert_usable(client, server)


@pytest.mark.parametrize("given", ["wrong", None, "sesame2", "sesam"])
async def test_wrong_password_fails_on_both_sides(given: str | None) -> None:
    with pytest.raises(_LinkErrors) as info:
        await linked(server_password="sesame", client_password=given)
    assert isinstance(info.value.client, AuthenticationFailed)
    assert info.value.client.code == LinkErr.PERMISSION_DENIED
    assert isinstance(info.value.server, AuthenticationFailed)


@pytest.mark.parametrize("given", ["anything", None, ""])
async def test_no_ticketing_accepts_any_password(given: str | None) -> None:
    client, server = await linked(server_password=None, client_password=given)
    await _assert_usable(client, server)


async def test_password_longer_than_60_bytes_is_refused_before_io() -> None:
    client_stream, _ = trio.testing.memory_stream_pair()
    with pytest.raises(ValueError, match="at most 60 bytes"):
        await link_channel(client_stream, channel_type=ChannelType.MAIN, password="x" * 61)


@pytest.mark.parametrize(
    ("error", "exc_type"),
    [
        (LinkErr.NEED_SECURED, NeedSecured),
        (LinkErr.CHANNEL_NOT_AVAILABLE, LinkRefused),
        (LinkErr.BAD_CONNECTION_ID, LinkRefused),
    ],
)
async def test_refused_links(error: LinkErr, exc_type: type[LinkRefused]) -> None:
    with pytest.raises(_LinkErrors) as info:
        await linked(channel_caps_for=lambda mess: error)
    assert type(info.value.client) is exc_type
    assert isinstance(info.value.client, LinkRefused) and info.value.client.code == error
    assert isinstance(info.value.server, LinkRefused) and info.value.server.code == error


async def _fake_server(answer: bytes, stream: trio.abc.Stream) -> None:
    await stream.receive_some(1024)
    if answer:
        await stream.send_all(answer)
    await stream.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.2p1\r\n" + bytes(40),
        b"",
        b"RED",
    ],
)
async def test_garbage_or_silence_is_not_a_spice_server(answer: bytes) -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_fake_server, answer, server_stream)
        with pytest.raises(NotSpiceServer):
            await link_channel(client_stream, channel_type=ChannelType.MAIN)


async def test_server_with_other_key_type_is_a_protocol_violation() -> None:
    # A reply whose 162-byte "key" is not an RSA DER key.
    reply = LinkReply(LinkErr.OK, b"\x30" + bytes(161), Caps.of(1), Caps()).encode_with_header()
    client_stream, server_stream = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_fake_server, reply, server_stream)
        with pytest.raises(ProtocolViolation, match="public key"):
            await link_channel(client_stream, channel_type=ChannelType.MAIN)


async def test_server_answers_garbage_client_with_invalid_magic() -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:

        async def garbage_client() -> None:
            await client_stream.send_all(b"GET / HTTP/1.1\r\n\r\n")
            data = await client_stream.receive_some(4096)
            assert LinkReply.decode(data[16:]).error == LinkErr.INVALID_MAGIC

        nursery.start_soon(garbage_client)
        with pytest.raises(LinkRefused) as info:
            await accept_channel(server_stream, password=None)
        assert info.value.code == LinkErr.INVALID_MAGIC


async def test_one_message_ack_window_flow() -> None:
    client, server = await linked(ack_window=1)
    sent = 0

    async def produce() -> None:
        nonlocal sent
        for i in range(20):
            await server.send(Ping(i, 1000 + i))
            sent += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(produce)
        await trio.testing.wait_all_tasks_blocked()
        # Window 1, nothing acknowledged: the server stops after 2 * window + 1 messages.
        assert sent == 3
        assert not server.connection.may_send
        received = [await client.receive() for _ in range(21)]
    assert sent == 20
    assert received[0].type == 3  # SET_ACK first
    assert [m.id for m in received[1:] if isinstance(m, Ping)] == list(range(20))
    from_client = []
    with trio.move_on_after(1):
        while len(from_client) < 41:
            from_client.append(await server.receive())
    assert from_client[0] == AckSync(1)
    assert sum(isinstance(m, Ack) for m in from_client) == 20
    assert [m.id for m in from_client if isinstance(m, Pong)] == list(range(20))
    await client.aclose()
    await server.aclose()


async def test_ping_pong_without_padding() -> None:
    client, server = await linked()
    await server.send(Ping(7, 123456789, b"\x55" * 4096))
    assert await client.receive() == Ping(7, 123456789, b"\x55" * 4096)
    assert await server.receive() == Pong(7, 123456789)
    await client.aclose()
    await server.aclose()


async def test_async_iteration_ends_when_peer_closes() -> None:
    client, server = await linked()
    for i in range(3):
        await server.send(Ping(i, i))
    await server.aclose()
    got = [msg async for msg in client]
    assert got == [Ping(0, 0), Ping(1, 1), Ping(2, 2)]


async def test_malformed_message_after_link_is_a_protocol_violation() -> None:
    client, server = await linked()
    # A SET_ACK (type 3) whose body is 2 bytes instead of 8, written raw under the mini header.
    await server.stream.send_all(b"\x03\0\x02\0\0\0\0\0")
    with pytest.raises(ProtocolViolation, match="SetAck"):
        await client.receive()
    await client.aclose()
    await server.aclose()


def test_ticket_round_trip_and_constant_time_check() -> None:
    key = TicketKey.generate()
    assert len(key.public_der) == 162
    ticket = encrypt_ticket(key.public_der, "sesame")
    assert len(ticket) == 128
    assert key.decrypt(ticket) == b"sesame"
    assert key.check(ticket, "sesame")
    assert not key.check(ticket, "sesame ")
    assert not key.check(bytes(128), "sesame")
    assert key.decrypt(b"short") is None
    assert encrypt_ticket(key.public_der, "sesame") != ticket  # OAEP is randomised


async def test_open_channel_over_tcp() -> None:
    async def handler(stream: trio.SocketStream) -> None:
        try:
            channel = await accept_channel(stream, password="pw")
        except spice_net.SpiceNetError:
            return
        async with channel:
            await channel.send(Ping(1, 2))
            assert await channel.receive() == Pong(1, 2)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        async with await spice_net.open_channel(
            "127.0.0.1", port, channel_type=ChannelType.MAIN, password="pw"
        ) as channel:
            assert await channel.receive() == Ping(1, 2)
        with pytest.raises(AuthenticationFailed):
            await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN, password="no")
        nursery.cancel_scope.cancel()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_connect_failed_names_host_and_port() -> None:
    port = _closed_port()
    with pytest.raises(ConnectFailed, match=f"127.0.0.1:{port}"):
        await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN)


async def test_a_host_name_idna_cannot_encode_is_connect_failed() -> None:
    # a 300-character label (e.g. in a migration destination the server names)
    with pytest.raises(ConnectFailed, match="label too long"):
        await spice_net.open_channel("a" * 300, 5900, channel_type=ChannelType.MAIN)


async def test_connect_timeout_when_server_never_answers() -> None:
    async def silent(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, silent, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        with pytest.raises(ConnectTimeout, match=r"no answer within 0\.2 s"):
            await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN, timeout=0.2)
        nursery.cancel_scope.cancel()


class _TaskSteps(trio.abc.Instrument):
    """Counts the scheduler rounds (task steps) one task takes."""

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.steps = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        if task is self.task:
            self.steps += 1


async def test_a_socket_read_of_many_messages_costs_one_scheduler_round() -> None:
    """Receiving a batch that one socket read brings takes one trio round (the read's own),
    not one per lock taken on the way (free locks are taken without yielding)."""
    a, b = socket.socketpair()
    client_stream = trio.SocketStream(trio.socket.from_stdlib_socket(a))
    server_stream = trio.SocketStream(trio.socket.from_stdlib_socket(b))
    box: dict[str, Any] = {}

    async def serve() -> None:
        box["server"] = await accept_channel(server_stream, password=None)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        client = await link_channel(client_stream, channel_type=ChannelType.DISPLAY)
    server: ServerChannel = box["server"]
    for batch in range(3):
        for i in range(50):
            server.connection.send(Ping(i, batch))
        await server.stream.send_all(server.connection.data_to_send())
        steps = _TaskSteps(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(steps)
        try:
            got = [await client.receive() for _ in range(50)]
        finally:
            trio.lowlevel.remove_instrument(steps)
        assert got == [Ping(i, batch) for i in range(50)]
        assert steps.steps <= 2  # the read and the PONGs' write (was 5: +3 for free locks)
    # The automatic replies still go out: a PONG per PING.
    pongs = []
    with trio.fail_after(10):
        while len(pongs) < 150:
            pongs.append(await server.receive())
    assert pongs == [Pong(i, batch) for batch in range(3) for i in range(50)]
    await client.aclose()
    await server.aclose()


async def test_a_read_that_owes_no_answer_does_not_wait_for_a_send_in_progress() -> None:
    """A message that asks for no ACK or PONG is received while another task's send is stuck
    (the peer reads nothing): the read takes the send lock only when it queued bytes."""
    client, server = await linked()
    stuck = trio.Event()

    class Stalled(trio.abc.Stream):
        """The client's stream, whose sends never finish."""

        def __init__(self, inner: trio.abc.Stream) -> None:
            self.inner = inner

        async def send_all(self, data: bytes | bytearray | memoryview) -> None:
            stuck.set()
            await trio.sleep_forever()

        async def wait_send_all_might_not_block(self) -> None:
            await trio.sleep_forever()

        async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
            return await self.inner.receive_some(max_bytes)

        async def aclose(self) -> None:
            await self.inner.aclose()

    io = client._io
    io.stream = Stalled(io.stream)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.send, Pong(1, 2))  # holds the send lock, forever
            await stuck.wait()
            await server.send(Notify(0, NotifySeverity.INFO, NotifyVisibility.LOW, 7, "hi"))
            assert await client.receive() == Notify(0, NotifySeverity.INFO, NotifyVisibility.LOW, 7, "hi")
            nursery.cancel_scope.cancel()
    await server.aclose()


async def test_min_read_interval_batches_a_flood_and_not_a_lone_message(
    mock_clock: trio.testing.MockClock,
) -> None:
    """With ``min_read_interval`` the channel reads again only that long after data came (so
    messages written meanwhile come in one read), but reads at once after a quiet spell."""
    client, server = await linked()  # on a stopped clock (the link waits for a thread)
    mock_clock.autojump_threshold = 0  # then virtual time: it jumps whenever all tasks wait
    reads: list[float] = []
    inner = client.stream.receive_some

    async def counted(max_bytes: int | None = None) -> bytes | bytearray:
        data = await inner(max_bytes)
        reads.append(trio.current_time())
        return data

    client.stream.receive_some = counted  # type: ignore[method-assign]
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        client.min_read_interval = -1
    client.min_read_interval = 0.5
    assert client.min_read_interval == 0.5
    await server.send(Ping(1, 1))
    assert await client.receive() == Ping(1, 1)
    first = trio.current_time()
    assert reads == [first]
    async with trio.open_nursery() as nursery:

        async def trickle() -> None:
            for i in range(2, 6):  # four writes within the interval
                await server.send(Ping(i, i))
                await trio.sleep(0.1)

        nursery.start_soon(trickle)
        got = [await client.receive() for _ in range(2, 6)]
    assert got == [Ping(i, i) for i in range(2, 6)]
    assert len(reads) == 2 and reads[1] >= first + 0.5  # one read, after the interval
    assert client.last_message_at == reads[1]  # when the bytes came
    await trio.sleep(10)  # a quiet spell: the next message is read as soon as it comes
    await server.send(Ping(9, 9))
    sent = trio.current_time()
    assert await client.receive() == Ping(9, 9)
    assert reads[-1] == sent
    assert client.last_message_at == sent
    client.min_read_interval = 0
    await trio.sleep(3)
    await server.send(Ping(10, 10))
    assert await client.receive() == Ping(10, 10)
    assert client.last_message_at == reads[-1] == sent + 3
    await client.aclose()
    await server.aclose()


async def test_min_read_interval_does_not_hold_back_a_sparse_stream(
    mock_clock: trio.testing.MockClock,
) -> None:
    """A read that waited longer than the interval for its data means no flood (a video
    frame every 40 ms, say): the next read goes at once, not an interval after it (a wasted
    wake-up per message); once reads find data waiting again, the interval is back."""
    client, server = await linked()
    mock_clock.autojump_threshold = 0
    reads: list[float] = []
    inner = client.stream.receive_some

    async def counted(max_bytes: int | None = None) -> bytes | bytearray:
        data = await inner(max_bytes)
        reads.append(trio.current_time())
        return data

    client.stream.receive_some = counted  # type: ignore[method-assign]
    client.min_read_interval = 0.5
    async with trio.open_nursery() as nursery:

        async def sparse() -> None:
            await trio.sleep(1.0)  # the client's read waits 1 s for this one
            await server.send(Ping(1, 1))
            await trio.sleep(0.1)  # and this one comes within the interval
            await server.send(Ping(2, 2))

        nursery.start_soon(sparse)
        start = trio.current_time()
        assert await client.receive() == Ping(1, 1)
        assert await client.receive() == Ping(2, 2)
    assert reads == [start + 1.0, start + 1.1]  # the second read did not wait for the interval
    # data waiting at once: a flood again, and the interval holds the next read back
    await server.send(Ping(3, 3))
    assert await client.receive() == Ping(3, 3)
    quick = trio.current_time()
    await server.send(Ping(4, 4))
    assert await client.receive() == Ping(4, 4)
    assert reads[-1] == pytest.approx(quick + 0.5)
    await client.aclose()
    await server.aclose()


async def test_min_read_interval_does_not_slow_a_large_message(mock_clock: trio.testing.MockClock) -> None:
    """A message of many reads is read back to back: the interval batches small messages,
    it must not cost a wait per read of an 8 MB bitmap (it did: 1 ms per 256 KiB)."""
    client, server = await linked()
    mock_clock.autojump_threshold = 0
    client.min_read_interval = 0.001
    await server.send(Ping(1, 1))
    assert await client.receive() == Ping(1, 1)  # the interval now runs from this read
    big = Ping(2, 2, bytes(16 << 20))
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.send, big)
        assert await client.receive() == big
    assert trio.current_time() - start < 0.005  # one interval at most, not 64 of them
    await client.aclose()
    await server.aclose()


async def test_two_receivers_take_turns_and_each_message_goes_to_one_of_them() -> None:
    """Receives of two tasks at once are served in turn (the receive lock, contended)."""
    client, server = await linked()
    got: list[int] = []

    async def receive_one() -> None:
        message = await client.receive()
        assert isinstance(message, Notify)
        got.append(message.what)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive_one)
            nursery.start_soon(receive_one)
            await trio.testing.wait_all_tasks_blocked()  # one waits on the socket, one for its turn
            for what in (1, 2):
                await server.send(Notify(0, NotifySeverity.INFO, NotifyVisibility.LOW, what, "hi"))
    assert sorted(got) == [1, 2]
    await server.aclose()


async def test_the_receive_lock_passes_in_order_and_skips_a_waiter_that_gave_up() -> None:
    from spice_net._channel import _Turn

    turn = _Turn()
    order: list[str] = []

    async def take(name: str, hold: trio.Event) -> None:
        await turn.acquire()
        order.append(name)
        await hold.wait()
        turn.release()

    async def give_up(scope: trio.CancelScope) -> None:
        with scope:
            await turn.acquire()
            order.append("gave up")  # never: cancelled while waiting

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            first, second = trio.Event(), trio.Event()
            nursery.start_soon(take, "first", first)
            await trio.testing.wait_all_tasks_blocked()
            scope = trio.CancelScope()
            nursery.start_soon(give_up, scope)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(take, "second", second)
            await trio.testing.wait_all_tasks_blocked()
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert order == ["first"]
            first.set()
            await trio.testing.wait_all_tasks_blocked()
            assert order == ["first", "second"]
            second.set()
    with trio.CancelScope() as free:
        free.cancel()
        await turn.acquire()  # free: taken without a checkpoint, so not cancelled
    turn.release()
    assert not free.cancelled_caught


async def test_messages_behind_the_link_result_in_one_read_are_received() -> None:
    """A server that writes its link result and its first messages at once (Xspice's main
    channel sends MAIN_INIT so): the client takes them from what it read, without waiting
    for more bytes."""
    client_stream, server_stream = trio.testing.memory_stream_pair()
    key = TicketKey.generate()

    async def scripted_server() -> None:
        conn = Connection(Role.SERVER)
        while not isinstance(conn.next_event(), LinkRequested):
            conn.receive_data(await server_stream.receive_some(4096))
        conn.accept_link(key.public_der, None, Caps())
        await server_stream.send_all(conn.data_to_send())
        while not isinstance(conn.next_event(), TicketReceived):
            conn.receive_data(await server_stream.receive_some(4096))
        conn.finish_link(LinkErr.OK)
        conn.send(Ping(1, 10))
        conn.send(Ping(2, 20))
        await server_stream.send_all(conn.data_to_send())  # one write: result and messages
        await trio.sleep_forever()  # and nothing more

    async with trio.open_nursery() as nursery:
        nursery.start_soon(scripted_server)
        with trio.fail_after(5):
            client = await link_channel(client_stream, channel_type=ChannelType.DISPLAY)
            assert await client.receive() == Ping(1, 10)
            assert await client.receive() == Ping(2, 20)
        nursery.cancel_scope.cancel()
