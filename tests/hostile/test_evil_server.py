"""The evil server itself: links every channel, lists the scripted ones, plays raw messages."""

from __future__ import annotations

import struct

import spice_proto as sp
import spice_session as ss
import trio

from .evil_server import EvilChannel, EvilServerThread, evil_server

T = sp.ChannelType


def surface_create(surface_id: int, width: int, height: int, primary: bool = True) -> bytes:
    flags = sp.SurfaceFlags.PRIMARY if primary else sp.SurfaceFlags(0)
    return struct.pack("<IIIII", surface_id, width, height, sp.SurfaceFmt.FMT_32_xRGB, flags)


async def test_raw_script_reaches_the_session() -> None:
    script = {(T.DISPLAY, 0): [(sp.DisplayMsg.SURFACE_CREATE, surface_create(0, 64, 48))]}
    async with evil_server(script) as uri, ss.connect(uri) as session:
        assert [(int(c.type), c.id) for c in session.channels] == [(T.DISPLAY, 0)]
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.SurfaceCreated):
                    assert (event.message.width, event.message.height) == (64, 48)
                    break


async def test_callable_script_sees_what_the_client_sent() -> None:
    seen: list[bytes] = []

    async def display(chan: EvilChannel) -> None:
        seen.append(await chan.wait_for(sp.DisplayMsgc.INIT))
        await chan.send(sp.DisplayMsg.SURFACE_CREATE, surface_create(0, 8, 8))

    async with evil_server({(T.DISPLAY, 0): display}) as uri, ss.connect(uri) as session:
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.SurfaceCreated):
                    break
    assert len(seen) == 1
    assert sp.DisplayInit.decode(seen[0]).pixmap_cache_id == ss.DisplaySettings.pixmap_cache_id


def test_thread_mode_serves_a_subprocess_style_client() -> None:
    script = {(T.DISPLAY, 0): [(sp.DisplayMsg.SURFACE_CREATE, surface_create(0, 16, 16))]}

    async def client(uri: str) -> tuple[int, int]:
        async with ss.connect(uri) as session:
            async for event in session.events():
                if isinstance(event, ss.events.SurfaceCreated):
                    return event.message.width, event.message.height
        raise AssertionError("no surface")

    with EvilServerThread(script) as server:
        assert trio.run(client, server.uri) == (16, 16)
