"""spice_session against spice_server's built-in guest agent: clipboard, resize, files, tokens."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import spice_server
import spice_session
import trio
from peers.server_task import serve_uri
from spice_proto import AgentCap, AgentClipboardType, AgentSelection, MainAgentData

pytestmark = pytest.mark.timeout(60)


def png(width: int, height: int, seed: int = 1) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


async def test_clipboard_both_ways_and_selections() -> None:
    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=agent)
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.agent.ready()
                assert session.agent.connected and session.agent.has(AgentCap.GUEST_LINEEND_LF)
                while session.agent.max_clipboard is None:  # its MAX_CLIPBOARD follows our announce
                    await trio.sleep(0.01)
                assert session.agent.max_clipboard == agent.max_clipboard
                stream = next(iter(agent._clients.values()))
                while stream.max_clipboard is None:
                    await trio.sleep(0.01)
                assert stream.max_clipboard == session.clipboard.max_size  # and ours reached it
                await session.clipboard.set_text("two\nlines é")
                offered = await events.receive()
                assert isinstance(offered, spice_server.ClipboardOffered)
                assert offered.types == (AgentClipboardType.UTF8_TEXT,)
                assert await agent.get_text() == "two\nlines é"
                await session.clipboard.set_text("prim", AgentSelection.PRIMARY)
                assert (await events.receive()).selection == AgentSelection.PRIMARY  # type: ignore[attr-defined]
                assert await agent.get_text(AgentSelection.PRIMARY) == "prim"
                assert await agent.get_text() == "two\nlines é"
                assert await agent.get_image() is None  # text only on offer

                agent.set_text("from the server\nok")
                while AgentClipboardType.UTF8_TEXT not in session.clipboard.guest_types.get(0, ()):
                    await trio.sleep(0.01)
                assert await session.clipboard.get_text() == "from the server\nok"
                image = png(300, 200)  # ~180 kB: ~90 chunks through a 10-token window
                agent.set_image(image)
                while AgentClipboardType.IMAGE_PNG not in session.clipboard.guest_types.get(0, ()):
                    await trio.sleep(0.01)
                assert await session.clipboard.get_image() == image
                await session.clipboard.set_image(image)
                while agent.client_offers.get(0, (0, ()))[1] != (AgentClipboardType.IMAGE_PNG,):
                    await trio.sleep(0.01)
                assert await agent.get_image() == image
            nursery.cancel_scope.cancel()


def test_an_offer_is_grabbed_once_for_a_client_announcing_twice() -> None:
    """Client and server each ask for the other's capabilities, so the client announces twice
    (its own, then its answer to ours): an offer made between the two is grabbed once, not
    grabbed again by the answer (a late second grab took the host clipboard back from a
    later host copy in spice view's test)."""
    from spice_proto import AgentAnnounceCapabilities, AgentMessageType, Caps, MainAgentStart
    from spice_server._agent import ClientAgent

    agent = spice_server.GuestAgent()
    stream = ClientAgent(agent, 1)
    sent: list[int] = []
    stream._send = lambda message: sent.append(message.type)  # type: ignore[method-assign]
    caps = Caps.of(AgentCap.CLIPBOARD_BY_DEMAND, AgentCap.CLIPBOARD_SELECTION)
    agent.set_text("offered before the client came")  # no client yet: nothing sent
    assert stream.handle(MainAgentStart(10))
    stream._dispatch(AgentAnnounceCapabilities(True, caps).message())  # its own
    assert sent.count(AgentMessageType.CLIPBOARD_GRAB) == 1  # what was on offer when it came
    agent._clients[1] = stream
    agent.set_text("offered between")
    assert sent.count(AgentMessageType.CLIPBOARD_GRAB) == 2
    stream._dispatch(AgentAnnounceCapabilities(False, caps).message())  # its answer to ours
    assert sent.count(AgentMessageType.CLIPBOARD_GRAB) == 2
    assert stream.handle(MainAgentStart(10))  # its agent starts again: it learns the offer again
    stream._dispatch(AgentAnnounceCapabilities(True, caps).message())
    assert sent.count(AgentMessageType.CLIPBOARD_GRAB) == 3


async def test_monitors_config_resizes_the_framebuffer() -> None:
    fb = spice_server.Framebuffer(320, 240)
    agent = spice_server.GuestAgent()
    server = spice_server.Server(fb, agent=agent)
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                first = await session.screenshot(timeout=10)
                assert (first.width, first.height) == (320, 240)
                await session.set_monitors([(400, 300)])
                event = await events.receive()
                assert isinstance(event, spice_server.ResizeRequested) and event.applied
                assert (fb.width, fb.height) == (400, 300)
                fb.fill((10, 200, 30))
                while True:
                    shot = await session.screenshot(settle=0.1, timeout=10)
                    if (shot.width, shot.height) == (400, 300) and shot.to_rgb()[150, 200].tolist() == [
                        10,
                        200,
                        30,
                    ]:
                        break
            nursery.cancel_scope.cancel()


async def test_monitors_config_refused_by_the_application() -> None:
    fb = spice_server.Framebuffer(320, 240)
    server = spice_server.Server(
        fb, agent=spice_server.GuestAgent(on_resize=lambda monitors: False, follow_resize=True)
    )
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                with pytest.raises(spice_session.AgentError, match="refused"):
                    await session.set_monitors([(400, 300)])
                assert (fb.width, fb.height) == (320, 240)
            nursery.cancel_scope.cancel()


async def test_files_arrive_in_the_directory_with_limits(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    agent = spice_server.GuestAgent(files_dir=inbox, max_file_size=200_000)
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=agent)
    events = agent.events()
    payload = np.random.default_rng(5).integers(0, 256, 150_000, dtype=np.uint8).tobytes()
    (tmp_path / "a.bin").write_bytes(payload)
    (tmp_path / "big.bin").write_bytes(bytes(200_001))
    (tmp_path / "empty").write_bytes(b"")
    progress: list[int] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.files.send(
                    tmp_path / "a.bin", progress=lambda sent, total: progress.append(sent)
                )
                got = await events.receive()
                assert isinstance(got, spice_server.FileReceived) and got.size == len(payload)
                assert (inbox / "a.bin").read_bytes() == payload
                await session.files.send(tmp_path / "a.bin")  # the same name again: a new file
                assert (inbox / "a (1).bin").read_bytes() == payload
                with pytest.raises(spice_session.FileTransferError, match="NOT_ENOUGH_SPACE") as refused:
                    await session.files.send(tmp_path / "big.bin")
                assert refused.value.status is not None and refused.value.status.free_space == 200_000
                await session.files.send(tmp_path / "empty")
                assert (inbox / "empty").read_bytes() == b""
            nursery.cancel_scope.cancel()
    assert progress[-1] == len(payload) and progress == sorted(progress) and len(progress) > 2
    assert sorted(p.name for p in inbox.iterdir()) == ["a (1).bin", "a.bin", "empty"]


async def test_files_refused_without_a_directory(tmp_path: Path) -> None:
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=spice_server.GuestAgent())
    (tmp_path / "x").write_bytes(b"x")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                with pytest.raises(spice_session.FileTransferError, match="DISABLED"):
                    await session.files.send(tmp_path / "x")
            nursery.cancel_scope.cancel()


async def test_no_agent_means_disconnected_and_no_hang() -> None:
    server = spice_server.Server(spice_server.Framebuffer(64, 48))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                assert not session.agent.connected
                with pytest.raises(spice_session.AgentError, match="not connected"):
                    await session.clipboard.set_text("x", timeout=0.5)
                with pytest.raises(spice_session.AgentError):
                    await session.set_monitors([(100, 100)], timeout=0.5)
            nursery.cancel_scope.cancel()


async def test_a_client_that_stops_returning_tokens_stalls_only_the_agent() -> None:
    """The client never returns tokens: the server sends at most its window, then holds the
    rest, while the display keeps going; the client side sends no more than granted either."""
    fb = spice_server.Framebuffer(64, 48)
    agent = spice_server.GuestAgent()
    server = spice_server.Server(fb, agent=agent)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.agent.ready()
                received = 0
                real_handle = session.agent.handle

                def counting(message: object) -> None:
                    nonlocal received
                    if isinstance(message, MainAgentData):
                        received += 1
                    real_handle(message)  # type: ignore[arg-type]

                session.agent.handle = counting  # type: ignore[method-assign]
                session.agent.link.tokens_to_return = lambda: 0  # type: ignore[method-assign]
                agent.set_image(png(300, 200))
                while AgentClipboardType.IMAGE_PNG not in session.clipboard.guest_types.get(0, ()):
                    await trio.sleep(0.01)
                with pytest.raises(spice_session.AgentError, match="did not send"):
                    await session.clipboard.get_image(timeout=1.0)
                assert received <= 10  # the window we granted, never more
                stream = next(iter(agent._clients.values()))
                assert stream.link.queued > 50  # the rest waits for tokens
                fb.fill((200, 0, 0))  # the display channel is unaffected
                while (await session.screenshot(settle=0.05, timeout=10)).to_rgb()[0, 0].tolist() != [
                    200,
                    0,
                    0,
                ]:
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()


async def test_a_server_that_grants_no_tokens_stalls_only_the_agent() -> None:
    """The server stops returning tokens: the client sends what it was granted, holds the rest,
    and the display channel goes on."""
    fb = spice_server.Framebuffer(64, 48)
    agent = spice_server.GuestAgent()
    server = spice_server.Server(fb, agent=agent)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.agent.ready()
                stream = next(iter(agent._clients.values()))
                stream.link.tokens_to_return = lambda: 0  # type: ignore[method-assign]
                await session.clipboard.set_image(png(300, 200))
                while not agent.client_offers:
                    await trio.sleep(0.01)
                with pytest.raises(spice_server.AgentError, match="did not send"):
                    await agent.get_image(timeout=1.0)
                assert session.agent.link.send_tokens == 0
                assert session.agent.link.queued > 50  # held back, not sent without tokens
                assert server.clients  # no token overrun: the server did not drop the client
                fb.fill((0, 0, 200))
                while (await session.screenshot(settle=0.05, timeout=10)).to_rgb()[0, 0].tolist() != [
                    0,
                    0,
                    200,
                ]:
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()


async def test_display_config_reaches_the_application() -> None:
    from spice_proto import AgentDisplayConfigFlags as Flags
    from spice_proto import AgentMessage, AgentMessageType

    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), agent=agent)
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.agent.ready()
                assert session.agent.has(AgentCap.DISPLAY_CONFIG)
                await session.agent.set_display_config(Flags.DISABLE_WALLPAPER | Flags.SET_COLOR_DEPTH, 24)
                event = await events.receive()
                assert event == spice_server.DisplayConfigured(
                    event.client, Flags.DISABLE_WALLPAPER | Flags.SET_COLOR_DEPTH, 24
                )
                # a body too short is skipped (no event, no reply); the agent goes on
                session.agent.send(AgentMessage(AgentMessageType.DISPLAY_CONFIG, b"\x01\x00\x00\x00"))
                await session.agent.set_display_config(Flags.DISABLE_ANIMATION)
                event = await events.receive()
                assert isinstance(event, spice_server.DisplayConfigured)
                assert (event.flags, event.depth) == (Flags.DISABLE_ANIMATION, 0)
            nursery.cancel_scope.cancel()
