"""Streams and the cursor through a whole session, against a scripted spice_net server (no real peers):
the caps we link with, frames on the primary surface, reports sent back, ``session.cursor``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import simplejpeg
import spice_net
import spice_proto as sp
import spice_session as ss
import trio

T = sp.ChannelType
SESSION_ID = 0x5151
MM_TIME = 100_000

Handler = Callable[[spice_net.ServerChannel], Awaitable[None]]


@dataclass
class Server:
    """What the fake server does on its display and cursor channels, and what it saw."""

    display: Handler
    cursor: Handler
    caps: dict[int, sp.Caps] = field(default_factory=dict)


async def _serve(server: Server, stream: trio.SocketStream) -> None:
    try:
        chan = await spice_net.accept_channel(stream, password=None)
    except spice_net.SpiceNetError:
        return
    async with chan:
        server.caps[int(chan.channel_type)] = chan.client_channel_caps
        try:
            if chan.channel_type == T.MAIN:
                modes = sp.MouseMode.SERVER
                await chan.send(sp.MainInit(SESSION_ID, 1, modes, modes, False, 10, MM_TIME, 0))
                while not isinstance(await chan.receive(), sp.MainAttachChannels):
                    pass
                await chan.send(sp.MainChannelsList((sp.ChannelId(T.DISPLAY, 0), sp.ChannelId(T.CURSOR, 0))))
            elif chan.channel_type == T.DISPLAY:
                assert isinstance(await chan.receive(), sp.DisplayInit)
                await server.display(chan)
            elif chan.channel_type == T.CURSOR:
                await server.cursor(chan)
            await trio.sleep_forever()
        except spice_net.ChannelClosed:
            pass


@asynccontextmanager
async def fake_server(server: Server) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, partial(_serve, server), 0, host="127.0.0.1"))
        yield f"spice://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        nursery.cancel_scope.cancel()


async def idle(chan: spice_net.ServerChannel) -> None:
    await trio.sleep_forever()


def red_jpeg(width: int, height: int) -> bytes:
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:, :, 0] = 255
    data: bytes = simplejpeg.encode_jpeg(rgb, quality=95, colorspace="RGB")
    return data


async def test_stream_frames_land_on_the_primary_and_reports_go_back() -> None:
    reports: list[sp.Message] = []
    dest = sp.Rect(16, 8, 48, 40)

    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(
            sp.DisplaySurfaceCreate(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)
        )
        await chan.send(
            sp.DisplayStreamCreate(
                0, 7, sp.StreamFlags.TOP_DOWN, sp.VideoCodecType.MJPEG, 0, 16, 16, 16, 16, dest
            )
        )
        await chan.send(sp.DisplayStreamActivateReport(7, 42, 2, 10_000))
        for i in range(2):  # due well ahead of the client's media clock: not late
            await chan.send(sp.DisplayStreamData(7, MM_TIME + 5_000 + 40 * i, red_jpeg(16, 16)))
        reports.append(await chan.receive())
        await chan.send(sp.DisplayStreamDestroy(7))

    server = Server(display, idle)
    created: list[ss.events.StreamCreated] = []
    damage: list[ss.events.Damage] = []
    async with fake_server(server) as uri, ss.connect(uri) as session:
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.StreamCreated):
                    created.append(event)
                elif isinstance(event, ss.events.Damage):
                    damage.append(event)
                elif isinstance(event, ss.events.StreamDestroyed):
                    assert event.frames == 2
                    break
        primary = session.display.primary
        assert primary is not None
        inside = primary.to_rgb()[dest.top : dest.bottom, dest.left : dest.right].astype(int)
        assert (np.abs(inside - (255, 0, 0)) <= 3).all()
        assert (primary.pixels[: dest.top] == 0).all()
    assert created == [ss.events.StreamCreated(7, 0, sp.VideoCodecType.MJPEG, 16, 16, dest, 0)]
    assert [d.rect for d in damage] == [dest, dest]
    (report,) = reports
    assert isinstance(report, sp.DisplayStreamReport)
    assert (report.stream_id, report.unique_id, report.num_frames, report.num_drops) == (7, 42, 2, 0)
    assert report.start_frame_mm_time == MM_TIME + 5_000 and report.end_frame_mm_time == MM_TIME + 5_040
    assert 4_900 < report.last_frame_delay <= 5_040  # the media clock started at MAIN_INIT's time
    caps = server.caps[T.DISPLAY]
    assert {sp.DisplayCap.STREAM_REPORT, sp.DisplayCap.SIZED_STREAM, sp.DisplayCap.CODEC_MJPEG} <= caps
    for codec, cap in (
        (sp.VideoCodecType.VP8, sp.DisplayCap.CODEC_VP8),
        (sp.VideoCodecType.H264, sp.DisplayCap.CODEC_H264),
    ):
        assert (cap in caps) == (codec in ss.available_codecs())


async def test_cursor_channel_drives_session_cursor() -> None:
    shape = sp.Cursor(
        sp.CursorFlags.CACHE_ME,
        sp.CursorHeader(9, sp.CursorType.ALPHA, 2, 1, 1, 0),
        bytes([0, 0, 255, 255, 255, 0, 0, 128]),  # red opaque, blue half transparent (B G R A)
    )
    bad = sp.Cursor(sp.CursorFlags.FROM_CACHE, sp.CursorHeader(77, sp.CursorType.ALPHA, 2, 1))

    async def cursor(chan: spice_net.ServerChannel) -> None:
        await chan.send(sp.CursorInit(5, 6, 0, 0, True, shape))
        await chan.send(sp.CursorSet(5, 6, True, bad))
        await chan.send(sp.CursorMove(30, 40))
        await chan.send(sp.CursorHide())

    async with fake_server(Server(idle, cursor)) as uri, ss.connect(uri) as session:
        seen: list[ss.events.Event] = []
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(
                    event,
                    (
                        ss.events.CursorShapeChanged,
                        ss.events.CursorMoved,
                        ss.events.CursorHidden,
                        ss.events.CursorProblem,
                    ),
                ):
                    seen.append(event)
                if isinstance(event, ss.events.CursorHidden):
                    break
        assert [type(e) for e in seen] == [
            ss.events.CursorShapeChanged,
            ss.events.CursorProblem,
            ss.events.CursorMoved,
            ss.events.CursorHidden,
        ]
        first = seen[0]
        assert isinstance(first, ss.events.CursorShapeChanged)
        assert first.shape.rgba.tolist() == [[[255, 0, 0, 255], [0, 0, 255, 128]]]
        assert session.cursor.shape is first.shape  # the bad FROM_CACHE left the shape alone
        assert (session.cursor.x, session.cursor.y, session.cursor.visible) == (30, 40, False)
