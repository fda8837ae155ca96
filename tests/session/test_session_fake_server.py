"""The session against a small scripted server built on spice_net's server side (no real peers).

Covers what real servers rarely do on demand: malformed messages mid-session,
a server that never sends MAIN_INIT, listed channels of other types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
import trio

T = sp.ChannelType
SESSION_ID = 0x1234ABCD


@dataclass
class Script:
    """What the fake server does on its display channel, and what it saw."""

    display: Callable[[spice_net.ServerChannel], Awaitable[None]] | None = None
    #: With an inputs handler, the server also lists an inputs channel.
    inputs: Callable[[spice_net.ServerChannel], Awaitable[None]] | None = None
    send_init: bool = True
    #: False: every connection after the main channel's is held without a link reply.
    link_others: bool = True
    #: Set: connections after the main and display channels wait for it before their link.
    hold_late_links: trio.Event | None = None
    linked: list[tuple[int, int, int]] = field(default_factory=list)
    display_init: list[sp.Message] = field(default_factory=list)


async def _main(chan: spice_net.ServerChannel, script: Script) -> None:
    if not script.send_init:
        await trio.sleep_forever()
    await chan.send(
        sp.MainInit(
            SESSION_ID, 1, sp.MouseMode.SERVER | sp.MouseMode.CLIENT, sp.MouseMode.SERVER, False, 10, 0, 0
        )
    )
    while not isinstance(await chan.receive(), sp.MainAttachChannels):
        pass
    channels = (sp.ChannelId(T.PLAYBACK, 0), sp.ChannelId(T.DISPLAY, 0), sp.ChannelId(T.USBREDIR, 0))
    if script.inputs is not None:
        channels += (sp.ChannelId(T.INPUTS, 0),)
    await chan.send(sp.MainChannelsList(channels))
    await trio.sleep_forever()


async def _handler(script: Script, stream: trio.SocketStream) -> None:
    if script.linked and not script.link_others:
        await trio.sleep_forever()
    if script.hold_late_links is not None and len(script.linked) >= 2:
        await script.hold_late_links.wait()
    try:
        chan = await spice_net.accept_channel(stream, password=None)
    except spice_net.SpiceNetError:
        return
    async with chan:
        script.linked.append((int(chan.channel_type), chan.channel_id, chan.connection_id))
        try:
            if chan.channel_type == T.MAIN:
                await _main(chan, script)
            elif chan.channel_type == T.DISPLAY:
                script.display_init.append(await chan.receive())  # type: ignore[arg-type]
                if script.display is not None:
                    await script.display(chan)
                await trio.sleep_forever()
            elif chan.channel_type == T.INPUTS and script.inputs is not None:
                await script.inputs(chan)
                await trio.sleep_forever()
        except spice_net.ChannelClosed:
            pass


@asynccontextmanager
async def fake_server(script: Script) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_tcp, partial(_handler, script), 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        yield f"spice://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


async def test_session_opens_display_only_and_sends_display_init() -> None:
    surface = sp.DisplaySurfaceCreate(0, 640, 480, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)

    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(surface)

    script = Script(display=display)
    async with fake_server(script) as uri, ss.connect(uri) as session:
        assert session.session_id == SESSION_ID
        assert [(int(c.type), c.id) for c in session.channels] == [
            (T.PLAYBACK, 0),
            (T.DISPLAY, 0),
            (T.USBREDIR, 0),
        ]
        with pytest.raises(ss.ChannelUnavailable, match="no inputs channel"):
            session.inputs  # noqa: B018
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.SurfaceCreated):
                    assert event.message == surface
                    break
    assert script.linked == [(T.MAIN, 0, 0), (T.DISPLAY, 0, SESSION_ID)]
    s = ss.DisplaySettings
    assert script.display_init == [
        sp.DisplayInit(
            s.pixmap_cache_id, s.pixmap_cache_size, s.glz_dictionary_id, s.glz_dictionary_window_size
        )
    ]


async def test_malformed_message_ends_the_session_with_the_error() -> None:
    async def display(chan: spice_net.ServerChannel) -> None:
        # SURFACE_CREATE needs 20 bytes; send 2
        await chan.send(
            sp.UnknownMessage(T.DISPLAY, sp.Direction.SERVER_TO_CLIENT, sp.DisplayMsg.SURFACE_CREATE, b"\0\1")
        )

    async with fake_server(Script(display=display)) as uri:
        with pytest.raises(spice_net.ProtocolViolation, match="DisplaySurfaceCreate"):  # noqa: PT012
            async with ss.connect(uri) as session:
                with trio.fail_after(10):
                    async for _ in session.events():
                        pass
                raise AssertionError("the event stream ended without the error")


async def test_no_main_init_times_out() -> None:
    async with fake_server(Script(send_init=False)) as uri:
        start = trio.current_time()
        with pytest.raises(spice_net.ConnectTimeout, match=r"0\.5 s"):
            async with ss.connect(uri, timeout=0.5):
                raise AssertionError("connected without MAIN_INIT")
        assert trio.current_time() - start < 5


async def test_a_channel_link_never_answered_times_out() -> None:
    # the timeout fires while the display channel links, after MAIN_INIT: still ConnectTimeout
    async with fake_server(Script(link_others=False)) as uri:
        with pytest.raises(spice_net.ConnectTimeout, match=r"0\.5 s"):
            async with ss.connect(uri, timeout=0.5):
                raise AssertionError("connected without the display channel")


async def test_display_closing_is_an_event_not_an_error() -> None:
    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.aclose()

    async with fake_server(Script(display=display)) as uri, ss.connect(uri) as session:
        with trio.fail_after(10):
            async for event in session.events():
                if isinstance(event, ss.events.ChannelEnded):
                    assert (event.channel_type, event.channel_id) == (T.DISPLAY, 0)
                    break


async def test_linked_channels_are_read_while_the_next_one_links() -> None:
    """Issue 14: a busy Xspice answers the next link only once the display channel drained.

    The display channel sends far more than the socket buffers hold; the inputs channel's
    link is answered only after that.  A session that read no channel before every one
    was linked waited for that link forever.
    """
    drained = trio.Event()

    async def display(chan: spice_net.ServerChannel) -> None:
        for n in range(128):  # 32 MiB: the sends complete only while the client reads
            await chan.send(sp.Ping(n, 0, bytes(256 * 1024)))
        drained.set()

    async def inputs(chan: spice_net.ServerChannel) -> None:
        await trio.sleep_forever()

    script = Script(display=display, inputs=inputs, hold_late_links=drained)
    with trio.fail_after(30):
        async with fake_server(script) as uri, ss.connect(uri, timeout=20) as session:
            assert drained.is_set()
            assert session.inputs is not None
    assert [link[0] for link in script.linked] == [T.MAIN, T.DISPLAY, T.INPUTS]
