"""Hostile or broken clients get the right link error or a disconnect and a log line, and never
disturb the other clients; a stalled client never slows the others down."""

from __future__ import annotations

import logging
import struct

import numpy as np
import pytest
import spice_server as ss
import trio
from miniclient import mini_session
from peers.viewers import pattern_frame
from spice_net import LinkRefused, link_channel
from spice_proto import (
    LINK_HEADER_SIZE,
    ChannelType,
    InputsKeyDown,
    LinkErr,
    LinkHeader,
    LinkMess,
    LinkReply,
    MiniHeader,
    Rect,
)
from test_server_clients import serve

W, H = 320, 200


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in r.getMessage() for r in caplog.records if r.name == "spice_server")


async def _wait_logged(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10) -> None:
    with trio.fail_after(timeout):
        while not _logged(caplog, text):
            await trio.sleep(0.01)


async def _link_reply(port: int, data: bytes) -> LinkErr | None:
    """Send raw bytes as a link request; the link error of the reply (``None``: closed without one)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(data)
        got = b""
        with trio.fail_after(10):
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                got += chunk
    if len(got) < LINK_HEADER_SIZE:
        return None
    header = LinkHeader.decode(got)
    return LinkReply.decode(got[LINK_HEADER_SIZE : LINK_HEADER_SIZE + header.size]).error


@pytest.fixture
def quiet_server() -> ss.Server:
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    return ss.Server(fb, link_timeout=2.0)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", LinkErr.INVALID_MAGIC),
        (struct.pack("<4sIII", b"REDQ", 1, 0, 18) + bytes(18), LinkErr.VERSION_MISMATCH),
        (struct.pack("<4sIII", b"REDQ", 2, 2, 0xFFFFFFFF), LinkErr.INVALID_DATA),
        (struct.pack("<4sIII", b"REDQ", 2, 2, 4) + bytes(4), LinkErr.INVALID_DATA),
        # a link message whose capability offset points outside the packet
        (LinkHeader(size=18).encode() + struct.pack("<IBBIII", 0, 1, 0, 5, 0, 999), LinkErr.INVALID_DATA),
    ],
    ids=["http", "version", "huge", "short", "caps-offset"],
)
async def test_garbage_before_link_gets_the_link_error(
    data: bytes,
    error: LinkErr,
    quiet_server: ss.Server,
    nursery: trio.Nursery,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    addr = await serve(nursery, quiet_server)
    assert addr.port is not None
    assert await _link_reply(addr.port, data) == error
    await _wait_logged(caplog, "link failed")
    assert quiet_server.clients == []


async def test_silent_or_truncated_link_times_out(
    quiet_server: ss.Server, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    addr = await serve(nursery, quiet_server)
    assert addr.port is not None
    mess = LinkMess(0, ChannelType.MAIN, 0).encode_with_header()
    assert await _link_reply(addr.port, mess[:20]) is None  # the server hangs up after link_timeout
    await _wait_logged(caplog, "no answer within")


@pytest.mark.parametrize(
    ("channel", "channel_id", "connection_id", "error"),
    [
        (ChannelType.DISPLAY, 0, 12345, LinkErr.BAD_CONNECTION_ID),
        (ChannelType.PLAYBACK, 0, None, LinkErr.CHANNEL_NOT_AVAILABLE),
        (ChannelType.DISPLAY, 1, None, LinkErr.CHANNEL_NOT_AVAILABLE),
        (77, 0, None, LinkErr.CHANNEL_NOT_AVAILABLE),
    ],
)
async def test_channels_we_do_not_have_are_refused(
    channel: ChannelType | int,
    channel_id: int,
    connection_id: int | None,
    error: LinkErr,
    quiet_server: ss.Server,
    nursery: trio.Nursery,
) -> None:
    addr = await serve(nursery, quiet_server)
    assert addr.port is not None
    async with mini_session(addr.port, kinds=()) as s:
        conn = s.init.session_id if connection_id is None else connection_id
        stream = await trio.open_tcp_stream("127.0.0.1", addr.port)
        with pytest.raises(LinkRefused) as info:
            await link_channel(stream, channel_type=channel, channel_id=channel_id, connection_id=conn)
        assert info.value.code == error


async def test_too_many_clients(nursery: trio.Nursery) -> None:
    server = ss.Server(ss.Framebuffer(W, H), max_clients=1)
    addr = await serve(nursery, server)
    assert addr.port is not None
    async with mini_session(addr.port, kinds=()):
        with pytest.raises(LinkRefused) as info:
            async with mini_session(addr.port, kinds=()):
                pass
        assert info.value.code == LinkErr.ERROR
    with trio.fail_after(20):  # the server notices the first client's close (on its own time)
        while server.clients:
            await trio.sleep(0.01)
    async with mini_session(addr.port, kinds=()):  # the slot is free again
        pass


@pytest.mark.parametrize(
    "garbage",
    [
        MiniHeader(101, 0x7FFFFFFF).encode(),  # an absurd message size
        MiniHeader(101, 2).encode() + b"\x01\x02",  # DISPLAY_INIT cut short
        bytes(range(256)) * 64,  # noise
    ],
    ids=["absurd-size", "truncated-body", "noise"],
)
async def test_garbage_after_link_disconnects_only_that_client(
    garbage: bytes, quiet_server: ss.Server, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "spice_server")
    fb = quiet_server.display
    assert isinstance(fb, ss.Framebuffer)
    addr = await serve(nursery, quiet_server)
    assert addr.port is not None
    async with mini_session(addr.port) as good, mini_session(addr.port) as bad:
        await good.show(fb.frame)
        await bad.show(fb.frame)
        bad_id = bad.init.session_id
        await bad.display.stream.send_all(garbage)
        # the bad client's display channel is closed (the rest of it stays, as with libspice-server)
        await _wait_logged(caplog, "display channel closed")
        assert bad_id in {c.id for c in quiet_server.clients}
        # the good client keeps getting updates
        fb.update(pattern_frame(W, H, variant=1))
        await good.show(fb.frame)
    assert _logged(caplog, "display channel closed")


async def test_flood_of_input_does_not_stall_the_others(
    quiet_server: ss.Server, nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "spice_server")
    fb = quiet_server.display
    assert isinstance(fb, ss.Framebuffer)
    addr = await serve(nursery, quiet_server)
    assert addr.port is not None
    events = quiet_server.input_events(max_buffer=100)  # an application that never reads
    async with mini_session(addr.port) as good, mini_session(addr.port) as flooder:
        await good.show(fb.frame)
        burst = b"".join(MiniHeader(101, 4).encode() + InputsKeyDown(0x1E).encode() for _ in range(2000))

        async def flood() -> None:
            for _ in range(10):
                await flooder.channels[ChannelType.INPUTS].stream.send_all(burst)

        nursery.start_soon(flood)
        for v in range(1, 6):
            fb.update(pattern_frame(W, H, variant=v))
            await good.show(fb.frame)
    assert events.statistics().current_buffer_used == 100
    assert _logged(caplog, "not keeping up")
    events.close()


async def test_stalled_client_does_not_slow_the_others(nursery: trio.Nursery) -> None:
    big_w, big_h = 1024, 768
    fb = ss.Framebuffer(big_w, big_h)
    server = ss.Server(fb, image_compression="off")  # raw pixels: 3 MB a frame fills any socket buffer
    addr = await serve(nursery, server)
    assert addr.port is not None
    rng = np.random.default_rng(7)
    async with mini_session(addr.port) as stalled, mini_session(addr.port) as fast:
        stalled_id = stalled.init.session_id
        # the stalled client never reads its display channel again
        for _ in range(30):
            frame = rng.integers(0, 256, (big_h, big_w, 4), np.uint8)
            fb.update(frame)
            for _ in range(3):  # plus scattered small damage
                x, y = (int(v) for v in rng.integers(0, 900, 2))
                fb.update(frame[:60, :100] ^ 0x55, Rect(x, y % 700, x + 100, y % 700 + 60))
            await fast.show(fb.frame, timeout=30)
        victim = next(c for c in server.clients if c.id == stalled_id)
        assert victim.display is not None
        # its backlog is a bounded dirty region, not a queue of frames
        assert len(victim.display.region.boxes) <= victim.display.region.max_boxes
        assert victim.display.region.area <= 2 * big_w * big_h
