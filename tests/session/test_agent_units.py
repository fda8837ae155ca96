"""The client agent's clipboard and file logic against a scripted agent port (no I/O)."""

from __future__ import annotations

import io
import struct

import pytest
import spice_session as ss
import trio
from spice_proto import (
    AgentCap,
    AgentClipboard,
    AgentClipboardGrab,
    AgentClipboardLayout,
    AgentClipboardRequest,
    AgentClipboardType,
    AgentMessage,
    AgentMessageType,
    AgentSelection,
    Caps,
    MainAgentConnectedTokens,
    MainAgentData,
    MainAgentDisconnected,
    agent_chunks,
)
from spice_session._agent import Agent
from spice_session._clipboard import Clipboard, to_png


class FakeAgent:
    """What Clipboard needs of the agent: caps, a layout, an outbox, events."""

    def __init__(self, *caps: AgentCap, serial: bool = False) -> None:
        self.connected = True
        self.max_clipboard: int | None = None
        self.caps = Caps.of(AgentCap.CLIPBOARD_BY_DEMAND, AgentCap.CLIPBOARD_SELECTION, *caps)
        self._layout = AgentClipboardLayout(selection=True, serial=serial)
        self.sent: list[AgentMessage] = []
        self.events: list[ss.events.Event] = []

    @property
    def layout(self) -> AgentClipboardLayout:
        return self._layout

    def has(self, cap: AgentCap) -> bool:
        return cap in self.caps

    async def ready(self, timeout: float = 10.0) -> None:
        pass

    def send(self, message: AgentMessage) -> None:
        self.sent.append(message)

    def emit(self, event: ss.events.Event) -> None:
        self.events.append(event)

    async def drained(self, below: int = 0) -> None:
        pass


async def test_text_goes_with_the_guests_line_ending_and_comes_back_with_lf() -> None:
    agent = FakeAgent(AgentCap.GUEST_LINEEND_CRLF)
    clip = Clipboard(agent)
    await clip.set_text("a\nb\r\nc")
    grab = AgentClipboardGrab.parse(agent.sent[-1].data, agent.layout)
    assert grab.types == (AgentClipboardType.UTF8_TEXT,)
    clip.handle(AgentClipboardRequest(AgentClipboardType.UTF8_TEXT).message(agent.layout))
    answer = AgentClipboard.parse(agent.sent[-1].data, agent.layout)
    assert answer.data == b"a\r\nb\r\nc"
    # a type we do not hold is answered with NONE, never with silence
    clip.handle(AgentClipboardRequest(AgentClipboardType.IMAGE_PNG).message(agent.layout))
    assert AgentClipboard.parse(agent.sent[-1].data, agent.layout).type == AgentClipboardType.NONE

    clip.handle(AgentClipboardGrab((AgentClipboardType.UTF8_TEXT,)).message(agent.layout))
    assert isinstance(agent.events[-1], ss.events.ClipboardGrabbed)
    async with trio.open_nursery() as nursery:
        got: list[str | None] = []

        async def get() -> None:
            got.append(await clip.get_text(timeout=5))

        nursery.start_soon(get)
        await trio.sleep(0.01)
        assert (
            AgentClipboardRequest.parse(agent.sent[-1].data, agent.layout).type
            == AgentClipboardType.UTF8_TEXT
        )
        clip.handle(AgentClipboard(AgentClipboardType.UTF8_TEXT, b"x\r\ny\0").message(agent.layout))
    assert got == ["x\ny"]


async def test_lf_guest_gets_lf_and_primary_needs_the_selection_cap() -> None:
    agent = FakeAgent(AgentCap.GUEST_LINEEND_LF)
    clip = Clipboard(agent)
    await clip.set_text("a\r\nb", AgentSelection.PRIMARY)
    clip.handle(
        AgentClipboardRequest(AgentClipboardType.UTF8_TEXT, AgentSelection.PRIMARY).message(agent.layout)
    )
    assert AgentClipboard.parse(agent.sent[-1].data, agent.layout).data == b"a\nb"
    agent._layout = AgentClipboardLayout()
    with pytest.raises(ss.AgentError, match="only the CLIPBOARD"):
        await clip.set_text("x", AgentSelection.PRIMARY)


async def test_grab_serials_a_crossing_guest_grab_loses() -> None:
    agent = FakeAgent(serial=True)
    clip = Clipboard(agent)
    await clip.set_text("ours")  # serial 0 goes out, ours is now 1
    assert AgentClipboardGrab.parse(agent.sent[-1].data, agent.layout).serial == 0
    stale = AgentClipboardGrab((AgentClipboardType.UTF8_TEXT,), serial=0)  # sent before it saw ours
    clip.handle(stale.message(agent.layout))
    assert clip.guest_types == {} and agent.events == []
    clip.handle(AgentClipboardGrab((AgentClipboardType.UTF8_TEXT,), serial=1).message(agent.layout))
    assert clip.guest_types[0] == (AgentClipboardType.UTF8_TEXT,)
    await clip.set_text("ours again")
    assert AgentClipboardGrab.parse(agent.sent[-1].data, agent.layout).serial == 2


async def test_limits_and_nothing_offered() -> None:
    agent = FakeAgent()
    agent.max_clipboard = 4
    clip = Clipboard(agent)
    with pytest.raises(ss.AgentError, match="clipboard limit"):
        await clip.set_text("12345")
    with pytest.raises(ValueError, match="PNG"):
        await clip.set_image(b"GIF89a")
    assert await clip.get_text() is None and await clip.get_image() is None
    assert agent.sent == []


def test_guest_images_become_png() -> None:
    from PIL import Image

    image = Image.new("RGB", (5, 3), (10, 200, 30))
    for fmt, kind in (("BMP", AgentClipboardType.IMAGE_BMP), ("TIFF", AgentClipboardType.IMAGE_TIFF)):
        raw = io.BytesIO()
        image.save(raw, fmt)
        png = to_png(raw.getvalue(), kind)
        with Image.open(io.BytesIO(png)) as back:
            assert back.format == "PNG" and back.convert("RGB").getpixel((4, 2)) == (10, 200, 30)
    raw = io.BytesIO()
    image.save(raw, "BMP")
    dib = raw.getvalue()[14:]  # as Windows guests send it: no BITMAPFILEHEADER
    with Image.open(io.BytesIO(to_png(dib, AgentClipboardType.IMAGE_BMP))) as back:
        assert back.size == (5, 3) and back.convert("RGB").getpixel((0, 0)) == (10, 200, 30)
    with pytest.raises(ss.AgentError, match="cannot be read"):
        to_png(b"BM" + bytes(20), AgentClipboardType.IMAGE_BMP)


def test_malformed_agent_message_is_reported_not_fatal() -> None:
    agent = FakeAgent()
    clip = Clipboard(agent)
    bad = AgentMessage(AgentMessageType.CLIPBOARD_GRAB, struct.pack("<BBBBH", 0, 0, 0, 0, 1))
    with pytest.raises(ValueError):  # ProtocolError is a ValueError; Agent turns it into AgentProblem
        clip.handle(bad)


def _agent_data(message: AgentMessage) -> list[MainAgentData]:
    return [MainAgentData(chunk) for chunk in agent_chunks(message.encode())]


def test_agent_skips_a_malformed_message_and_drops_a_stream_beyond_its_tokens() -> None:
    events: list[ss.events.Event] = []
    agent = Agent(None, True, 10, events.append)  # type: ignore[arg-type]  (no pump: nothing is sent)
    agent.link.start(10)
    bad = AgentMessage(AgentMessageType.CLIPBOARD_GRAB, b"\x00\x00")
    for message in _agent_data(bad):
        agent.handle(message)
    assert isinstance(events[-1], ss.events.AgentProblem) and "skipped" in events[-1].reason
    assert agent.connected
    flood = AgentMessage(AgentMessageType.CLIPBOARD, bytes(11 * 2048))
    for message in _agent_data(flood)[:12]:
        agent.handle(message)
    assert not agent.connected
    kinds = [type(e).__name__ for e in events]
    gone = kinds.index("AgentDisconnected")
    assert kinds.count("AgentDisconnected") == 1 and kinds[gone - 1] == "AgentProblem"
    assert "beyond the tokens" in events[gone - 1].reason  # type: ignore[attr-defined]
    assert all(k == "AgentProblem" for k in kinds[gone + 1 :])  # later chunks: reported, never a crash


class _MainRecorder:
    def __init__(self) -> None:
        self.sent: list[object] = []

    async def send(self, message: object) -> None:
        self.sent.append(message)


async def test_a_rebound_agent_sends_through_the_new_main_channel() -> None:
    old, new = _MainRecorder(), _MainRecorder()
    agent = Agent(old, True, 10, lambda event: None)  # type: ignore[arg-type]
    agent.rebind(new)  # type: ignore[arg-type]
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(agent.run)
            while not new.sent:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert old.sent == [] and type(new.sent[0]).__name__ == "MainAgentStart"


async def test_a_reattached_agent_may_speak_before_our_new_agent_start_arrives() -> None:
    # libspice-server keeps the client's tokens while the agent is away and sends the new
    # agent's first chunks with them, before it has read our AGENT_START (CI saw Xspice do
    # it: the client dropped the new agent as "beyond the tokens granted")
    events: list[ss.events.Event] = []
    main = _MainRecorder()
    agent = Agent(main, True, 10, events.append)  # type: ignore[arg-type]
    announce = AgentMessage(
        AgentMessageType.ANNOUNCE_CAPABILITIES, struct.pack("<II", 0, 1 << AgentCap.MOUSE_STATE)
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(agent.run)
            while not main.sent:
                await trio.sleep(0.01)
            for message in _agent_data(announce):
                agent.handle(message)
            assert agent.caps is not None
            agent.handle(MainAgentDisconnected())
            agent.handle(MainAgentConnectedTokens(10))  # no checkpoint: AGENT_START not sent yet
            for _ in range(3):  # the new agent's announcement (and more) on the old tokens
                for message in _agent_data(announce):
                    agent.handle(message)
            while sum(type(m).__name__ == "MainAgentStart" for m in main.sent) < 2:
                await trio.sleep(0.01)
            for _ in range(10):  # then the whole new grant
                for message in _agent_data(announce):
                    agent.handle(message)
            nursery.cancel_scope.cancel()
    assert not [e for e in events if isinstance(e, ss.events.AgentProblem)]
    assert agent.connected and agent.caps is not None
    kinds = [type(e).__name__ for e in events]
    assert kinds[kinds.index("AgentDisconnected") :][:2] == ["AgentDisconnected", "AgentConnected"]
