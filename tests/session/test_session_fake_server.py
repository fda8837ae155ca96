"""The session against a small scripted server built on spice_net's server side (no real peers).

Covers what real servers rarely do on demand: malformed messages mid-session,
a server that never sends MAIN_INIT, listed channels of other types, links answered
out of order, held or refused.
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
    #: Channel types listed after those (linked, then only read).
    extra: tuple[sp.ChannelType, ...] = ()
    #: How many display channels (ids 0, 1, ...) the server lists.
    displays: int = 1
    #: Links of these channel types are answered only once their event is set.
    hold: dict[sp.ChannelType, trio.Event] = field(default_factory=dict)
    #: The channel types of the links held now.
    held: list[sp.ChannelType] = field(default_factory=list)
    #: Links of these channel types are refused with that error.
    refuse: dict[sp.ChannelType, sp.LinkErr] = field(default_factory=dict)
    linked: list[tuple[int, int, int]] = field(default_factory=list)
    display_init: list[sp.Message] = field(default_factory=list)
    #: Connections the server holds now (a linked channel counts until the client closes it).
    connections: int = 0


class _Replayed(trio.abc.Stream):
    """A stream whose first bytes were read ahead: they are received again first."""

    def __init__(self, inner: trio.abc.Stream, head: bytes) -> None:
        self.inner, self._head = inner, head

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._head:
            size = len(self._head) if max_bytes is None else max_bytes
            data, self._head = self._head[:size], self._head[size:]
            return data
        return await self.inner.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _link_type(stream: trio.SocketStream) -> tuple[sp.ChannelType | None, bytes]:
    """The channel type a link message asks for (read ahead: header, connection id, type)."""
    head = b""
    while len(head) < 21:
        chunk = await stream.receive_some(21 - len(head))
        if not chunk:
            return None, head
        head += chunk
    return sp.ChannelType(head[20]), head


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
    channels += tuple(sp.ChannelId(T.DISPLAY, n) for n in range(1, script.displays))
    if script.inputs is not None:
        channels += (sp.ChannelId(T.INPUTS, 0),)
    channels += tuple(sp.ChannelId(kind, 0) for kind in script.extra)
    await chan.send(sp.MainChannelsList(channels))
    await _read_until_closed(chan)


async def _read_until_closed(chan: spice_net.ServerChannel) -> None:
    while True:
        await chan.receive()  # ChannelClosed once the client closed it


async def _handler(script: Script, stream: trio.SocketStream) -> None:
    script.connections += 1
    try:
        await _serve(script, stream)
    finally:
        script.connections -= 1


async def _serve(script: Script, stream: trio.SocketStream) -> None:
    if script.linked and not script.link_others:
        await trio.sleep_forever()
    kind, head = await _link_type(stream)
    if kind in script.hold:
        script.held.append(kind)
        await script.hold[kind].wait()
    refused = script.refuse.get(kind) if kind is not None else None
    try:
        chan = await spice_net.accept_channel(
            _Replayed(stream, head),
            password=None,
            channel_caps_for=(lambda mess: refused) if refused is not None else None,
        )
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
            elif chan.channel_type == T.INPUTS and script.inputs is not None:
                await script.inputs(chan)
            await _read_until_closed(chan)
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

    script = Script(display=display, inputs=inputs, hold={T.INPUTS: drained})
    with trio.fail_after(30):
        async with fake_server(script) as uri, ss.connect(uri, timeout=20) as session:
            assert drained.is_set()
            assert session.inputs is not None
    assert [link[0] for link in script.linked] == [T.MAIN, T.DISPLAY, T.INPUTS]


async def test_channels_link_in_parallel_whatever_order_the_server_answers() -> None:
    """The display link is answered only once inputs and cursor are linked: a session that
    linked one channel after the other waited for the display forever."""
    display_answer = trio.Event()

    async def inputs(chan: spice_net.ServerChannel) -> None:
        pass

    script = Script(inputs=inputs, extra=(T.CURSOR,), hold={T.DISPLAY: display_answer})

    async def answer_display_last() -> None:
        while not {T.INPUTS, T.CURSOR} <= {kind for kind, _, _ in script.linked}:
            await trio.sleep(0.01)
        display_answer.set()

    with trio.fail_after(30):
        async with fake_server(script) as uri, trio.open_nursery() as nursery:
            nursery.start_soon(answer_display_last)
            async with ss.connect(uri, timeout=20) as session:
                events = session.events()
                first = await events.receive()
                assert isinstance(first, ss.events.ChannelOpened)
                opened = [first]
                while len(opened) < 4:
                    event = await events.receive()
                    if isinstance(event, ss.events.ChannelOpened):
                        opened.append(event)
                assert session.inputs is not None
                listed = [(T.MAIN, 0), (T.DISPLAY, 0), (T.INPUTS, 0), (T.CURSOR, 0)]
                assert list(session.opened) == listed  # the server's order, not the links'
    assert (first.channel_type, first.channel_id) == (T.MAIN, 0)
    assert {(e.channel_type, e.channel_id) for e in opened} == set(listed)
    assert [link[0] for link in script.linked][-1] == T.DISPLAY
    assert len(script.display_init) == 1


@pytest.mark.parametrize(
    ("refuse", "error"),
    [
        ({T.INPUTS: sp.LinkErr.CHANNEL_NOT_AVAILABLE}, spice_net.LinkRefused),
        ({T.INPUTS: sp.LinkErr.PERMISSION_DENIED}, spice_net.AuthenticationFailed),
        (
            {T.INPUTS: sp.LinkErr.PERMISSION_DENIED, T.CURSOR: sp.LinkErr.PERMISSION_DENIED},
            spice_net.AuthenticationFailed,
        ),
    ],
    ids=["not-available", "denied", "two-denied"],
)
async def test_a_refused_link_cancels_the_others_and_closes_every_channel(
    refuse: dict[sp.ChannelType, sp.LinkErr], error: type[spice_net.LinkRefused]
) -> None:
    """Display linked and being read, cursor linked (or refused too), the record link held
    unanswered: one refused link ends connect with that error alone, and the client closes
    every connection it made."""
    never, release = trio.Event(), trio.Event()

    async def display(chan: spice_net.ServerChannel) -> None:
        await chan.send(
            sp.DisplaySurfaceCreate(0, 64, 48, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)
        )

    async def inputs(chan: spice_net.ServerChannel) -> None:
        pass

    hold = {T.RECORD: never, **dict.fromkeys(refuse, release)}
    script = Script(display=display, inputs=inputs, extra=(T.CURSOR, T.RECORD), hold=hold, refuse=refuse)

    async def refuse_while_record_waits() -> None:
        while not set(hold) <= set(script.held):
            await trio.sleep(0.01)
        release.set()

    with trio.fail_after(30):
        async with fake_server(script) as uri, trio.open_nursery() as nursery:
            nursery.start_soon(refuse_while_record_waits)
            with pytest.raises(error) as raised:
                async with ss.connect(uri, timeout=20, audio=True):
                    raise AssertionError("connected with a refused channel")
            assert type(raised.value) is error
            never.set()  # the held link is answered now: the client has closed that socket
            while script.connections:
                await trio.sleep(0.01)
    assert script.linked[0][0] == T.MAIN
    assert T.RECORD not in {kind for kind, _, _ in script.linked}


async def test_the_screen_is_display_0_even_when_another_display_draws_first() -> None:
    """Two monitors (display channels 0 and 1); display 0 draws half a second after display
    1: the session's screen (primary, screenshot) is display 0's, never display 1's picture."""
    colours = {0: 0x00C80A0A, 1: 0x000A0AC8}
    rect = sp.Rect(0, 0, 32, 24)

    async def display(chan: spice_net.ServerChannel) -> None:
        if chan.channel_id == 0:
            await trio.sleep(0.5)
        await chan.send(
            sp.DisplaySurfaceCreate(0, 32, 24, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)
        )
        fill = sp.DisplayDrawFill(0, rect, sp.Clip(), sp.Brush.solid(colours[chan.channel_id]))
        await chan.send(fill)
        await chan.send(sp.DisplayMark())

    script = Script(display=display, displays=2)
    with trio.fail_after(30):
        async with fake_server(script) as uri, ss.connect(uri) as session:
            shot = await session.screenshot(timeout=20)
            assert shot.to_rgb()[0, 0].tolist() == [200, 10, 10]
            primary = session.display.primary
            assert primary is not None and primary is session.display.channel(0).primary
