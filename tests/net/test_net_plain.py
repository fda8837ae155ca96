"""A plain TCP channel's bytes moved on its descriptor (spice_net._plain): what qualifies, the
checkpoints, a cancelled read, a write the socket cannot take at once, the capture, and
BaseChannel.queue (a reply out before the reader waits, with no scheduler round)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import spice_net
import trio
import trio.testing
from spice_net import _plain, read_pcap
from spice_net._channel import BaseChannel
from spice_net._plain import plain_socket, read_plain, write_plain
from spice_proto import ChannelType, Ping, Pong


async def _tcp_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    """Two ends of one TCP connection on 127.0.0.1."""
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = trio.socket.socket()
    await client.connect(listener.getsockname())
    server, _ = await listener.accept()
    listener.close()
    return trio.SocketStream(client), trio.SocketStream(server)


async def test_only_a_plain_socket_stream_qualifies() -> None:
    a, b = await _tcp_pair()
    plain = plain_socket(a)
    assert plain is not None and plain.fd == a.socket.fileno() and plain.capture is None
    memory, _ = trio.testing.memory_stream_pair()
    assert plain_socket(memory) is None
    assert plain_socket(trio.SSLStream(a, __import__("ssl").create_default_context())) is None
    await a.aclose()
    await b.aclose()


async def test_reads_wait_for_data_keep_what_came_and_a_cancelled_wait_loses_nothing() -> None:
    a, b = await _tcp_pair()
    plain = plain_socket(a)
    assert plain is not None
    with trio.move_on_after(0.05) as waited:
        await read_plain(plain, 100)  # nothing came: waits, then is cancelled
    assert waited.cancelled_caught
    await b.send_all(b"hello")
    with trio.fail_after(5):
        assert await read_plain(plain, 100) == b"hello"
    await b.send_all(b"x" * 10)
    await trio.sleep(0.05)
    with trio.CancelScope() as scope:
        scope.cancel()
        with pytest.raises(trio.Cancelled):
            await read_plain(plain, 100)  # cancelled before reading: the bytes stay
    with trio.fail_after(5):
        assert await read_plain(plain, 100) == b"x" * 10
    await b.aclose()
    with trio.fail_after(5):
        assert await read_plain(plain, 100) == b""  # end of file
    await a.aclose()


async def test_after_a_read_that_waited_the_next_waits_first_and_after_one_that_did_not_it_asks_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A peer that sends now and then (a video frame every 40 ms) finds the socket empty each
    time: no read answered "would block" then.  A flood (a read that takes a quarter of what
    it could or more) keeps it full: the reads after it ask first."""
    a, b = await _tcp_pair()
    plain = plain_socket(a)
    assert plain is not None
    would_block = 0
    real_read = _plain.os.read

    def counting_read(fd: int, n: int) -> bytes:
        nonlocal would_block
        try:
            return real_read(fd, n)
        except BlockingIOError:
            would_block += 1
            raise

    monkeypatch.setattr(_plain.os, "read", counting_read)
    with trio.fail_after(5):
        await b.send_all(b"first")
        await trio.sleep(0.02)
        assert await read_plain(plain, 100) == b"first"  # there already: asked first
        assert (plain.waited, would_block) == (False, 0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(trio.sleep, 0.02))
            nursery.start_soon(b.send_all, b"second")
            assert await read_plain(plain, 100) == b"second"  # asked first, then waited
        assert (plain.waited, would_block) == (True, 1)
        for i in range(3):  # now and then: waits first, never told "would block"
            async with trio.open_nursery() as nursery:
                nursery.start_soon(b.send_all, b"later %d" % i)
                assert await read_plain(plain, 100) == b"later %d" % i
        assert (plain.waited, would_block) == (True, 1)
        await b.send_all(b"f" * 1000)  # a flood: the wait ends at once, the read is full...
        assert await read_plain(plain, 100) == b"f" * 100
        assert not plain.waited  # ...so the next read asks first, and finds bytes
        for _ in range(9):
            assert await read_plain(plain, 100) == b"f" * 100
        assert (plain.waited, would_block) == (False, 1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(trio.sleep, 0.02))
            nursery.start_soon(b.send_all, b"quiet")
            assert await read_plain(plain, 100) == b"quiet"  # asked first: "would block"
        assert (plain.waited, would_block) == (True, 2)
        await b.send_all(b"ready")
        await trio.sleep(0.02)
        assert await read_plain(plain, 100) == b"ready"  # (the wait ends at once)
        await b.send_all(b"x" * 10)
        await trio.sleep(0.02)
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await read_plain(plain, 100)  # waiting first is a checkpoint too: nothing lost
        assert await read_plain(plain, 100) == b"x" * 10
    await b.aclose()
    await a.aclose()


async def test_a_closed_socket_is_neither_read_nor_written_even_if_its_number_came_back() -> None:
    a, b = await _tcp_pair()
    plain = plain_socket(a)
    assert plain is not None
    await a.aclose()
    c, d = await _tcp_pair()  # may well get the number the closed socket had
    await d.send_all(b"not ours")
    with pytest.raises(trio.ClosedResourceError):
        await read_plain(plain, 100)
    with pytest.raises(trio.ClosedResourceError):
        await write_plain(plain, b"nor this")
    for stream in (b, c, d):
        await stream.aclose()


async def test_a_write_the_socket_cannot_take_at_once_waits_for_the_peer() -> None:
    a, b = await _tcp_pair()
    plain = plain_socket(a)
    assert plain is not None
    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: more than the socket buffers hold
    got = bytearray()

    async def read_all() -> None:
        await trio.sleep(0.1)  # the writer finds the buffers full first
        while len(got) < len(data):
            got.extend(await b.receive_some(1 << 20))

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            await write_plain(plain, data)
    assert bytes(got) == data
    await a.aclose()
    await b.aclose()


async def test_a_plain_channel_is_captured_both_ways(tmp_path: Path) -> None:
    async def handler(stream: trio.SocketStream) -> None:
        channel = await spice_net.accept_channel(stream, password=None)
        async with channel:
            await channel.send(Ping(1, 2))
            assert await channel.receive() == Pong(1, 2)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        with spice_net.capture_to(tmp_path / "cap") as directory:
            async with await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN) as ch:
                plain = ch._io._plain_socket()
                assert plain is not None and plain.capture is not None  # the descriptor path, tapped
                assert await ch.receive() == Ping(1, 2)  # answered with a PONG automatically
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    (pcap,) = directory.iterdir()
    segments = read_pcap(pcap)
    link = 2  # the two link messages, then what the descriptor path moved
    ours = b"".join(s.data for s in segments[link:] if not s.from_server)
    theirs = b"".join(s.data for s in segments[link:] if s.from_server)
    assert Pong(1, 2).encode() in ours and Ping(1, 2).encode() in theirs


async def test_a_queued_message_goes_out_before_the_reader_waits() -> None:
    got: list[int] = []
    done = trio.Event()

    async def handler(stream: trio.SocketStream) -> None:
        channel = await spice_net.accept_channel(stream, password=None)
        async with channel:
            message = await channel.receive()
            assert isinstance(message, Pong)
            got.append(message.id)
            done.set()
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        async with await spice_net.open_channel("127.0.0.1", port, channel_type=ChannelType.MAIN) as ch:
            assert isinstance(ch, BaseChannel)
            ch.queue(Pong(42, 7))
            assert not got
            with trio.move_on_after(5):
                async with trio.open_nursery() as reading:
                    reading.start_soon(ch.receive)  # flushes what was queued, then waits
                    await done.wait()
                    reading.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    assert got == [42]
