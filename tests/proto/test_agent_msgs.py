"""Clipboard, file-transfer and display-config agent bodies: bytes from vd_agent.h layouts."""

from __future__ import annotations

import struct

import pytest
from spice_proto import (
    AgentCap,
    AgentClipboard,
    AgentClipboardGrab,
    AgentClipboardLayout,
    AgentClipboardRelease,
    AgentClipboardRequest,
    AgentClipboardType,
    AgentDisplayConfig,
    AgentDisplayConfigFlags,
    AgentFileXferData,
    AgentFileXferStart,
    AgentFileXferStatus,
    AgentFileXferStatusCode,
    AgentLink,
    AgentMaxClipboard,
    AgentMessage,
    AgentMessageType,
    AgentSelection,
    Caps,
    ProtocolError,
    agent_chunks,
)

PLAIN = AgentClipboardLayout()
SEL = AgentClipboardLayout(selection=True)
FULL = AgentClipboardLayout(selection=True, serial=True)


def test_layout_needs_both_sides() -> None:
    ours = Caps.of(AgentCap.CLIPBOARD_SELECTION, AgentCap.CLIPBOARD_GRAB_SERIAL)
    assert AgentClipboardLayout.negotiated(ours, Caps.of(AgentCap.CLIPBOARD_SELECTION)) == SEL
    assert AgentClipboardLayout.negotiated(ours, ours) == FULL
    assert AgentClipboardLayout.negotiated(Caps(), ours) == PLAIN


def test_grab_bytes_per_layout() -> None:
    grab = AgentClipboardGrab(
        (AgentClipboardType.UTF8_TEXT, AgentClipboardType.IMAGE_PNG), AgentSelection.PRIMARY, 7
    )
    assert grab.message(FULL).data == bytes([1, 0, 0, 0]) + struct.pack("<III", 7, 1, 2)
    assert grab.message(FULL).type == AgentMessageType.CLIPBOARD_GRAB
    assert AgentClipboardGrab.parse(grab.message(FULL).data, FULL) == grab
    assert AgentClipboardGrab.parse(struct.pack("<II", 1, 99), PLAIN).types == (1, 99)
    with pytest.raises(ValueError):
        grab.message(PLAIN)  # PRIMARY cannot be said without the selection byte


def test_request_clipboard_release_round_trip() -> None:
    req = AgentClipboardRequest(AgentClipboardType.UTF8_TEXT, AgentSelection.CLIPBOARD)
    assert req.message(SEL).data == bytes(4) + struct.pack("<I", 1)
    assert AgentClipboardRequest.parse(req.message(SEL).data, SEL) == req
    clip = AgentClipboard(AgentClipboardType.UTF8_TEXT, b"hi\r\n", AgentSelection.PRIMARY)
    assert clip.message(SEL).data == bytes([1, 0, 0, 0, 1, 0, 0, 0]) + b"hi\r\n"
    assert AgentClipboard.parse(clip.message(SEL).data, SEL) == clip
    assert AgentClipboard.parse(struct.pack("<I", 1) + b"x", PLAIN) == AgentClipboard(1, b"x")
    assert AgentClipboardRelease.parse(bytes([1, 0, 0, 0]), SEL).selection == AgentSelection.PRIMARY
    assert AgentClipboardRelease().message(PLAIN).data == b""


@pytest.mark.parametrize(
    ("cls", "data", "layout"),
    [
        (AgentClipboardGrab, b"\0\0\0\0\1\0", SEL),  # types not a multiple of 4
        (AgentClipboardGrab, b"\0\0", FULL),
        (AgentClipboardRequest, b"\1\0\0", PLAIN),
        (AgentClipboardRequest, b"\1\0\0\0\0", PLAIN),  # trailing byte
        (AgentClipboard, b"\0\0\0\0\1\0", SEL),
        (AgentClipboardRelease, b"\0", SEL),
    ],
)
def test_malformed_clipboard_bodies(
    cls: type[AgentClipboard], data: bytes, layout: AgentClipboardLayout
) -> None:
    with pytest.raises(ProtocolError):
        cls.parse(data, layout)


def test_file_xfer_messages() -> None:
    start = AgentFileXferStart(3, "notes é.txt", 12)
    raw = start.message().data
    assert raw[:4] == b"\3\0\0\0"
    assert raw[4:] == "[vdagent-file-xfer]\nname=notes é.txt\nsize=12\n\0".encode()
    assert AgentFileXferStart.parse(raw) == start
    with pytest.raises(ValueError):
        AgentFileXferStart(1, "../x", 1).message()
    for bad in (
        b"\1\0\0",
        b"\1\0\0\0name=a\nsize=1\n",
        b"\1\0\0\0[vdagent-file-xfer]\nname=a\nsize=x\n",
        b"\1\0\0\0\xff",
    ):
        with pytest.raises(ProtocolError):
            AgentFileXferStart.parse(bad)
    data = AgentFileXferData(3, b"hello")
    assert data.message().data == struct.pack("<IQ", 3, 5) + b"hello"
    assert AgentFileXferData.parse(data.message().data) == data
    for bad in (struct.pack("<IQ", 3, 6) + b"hello", struct.pack("<IQ", 3, 4) + b"hello", b"\0" * 11):
        with pytest.raises(ProtocolError):
            AgentFileXferData.parse(bad)
    space = AgentFileXferStatus.parse(struct.pack("<IIQ", 3, 4, 1234))
    assert space.result == AgentFileXferStatusCode.NOT_ENOUGH_SPACE and space.free_space == 1234
    err = AgentFileXferStatus.parse(struct.pack("<IIBI", 3, 2, 0, 14))
    assert err.error == (0, 14) and err.free_space is None
    assert (
        AgentFileXferStatus.parse(AgentFileXferStatus(9, AgentFileXferStatusCode.SUCCESS).message().data).id
        == 9
    )
    with pytest.raises(ProtocolError):
        AgentFileXferStatus.parse(b"\0" * 7)


def test_display_config_and_max_clipboard() -> None:
    cfg = AgentDisplayConfig(
        AgentDisplayConfigFlags.DISABLE_WALLPAPER | AgentDisplayConfigFlags.SET_COLOR_DEPTH, 16
    )
    assert cfg.message().data == struct.pack("<II", 9, 16)
    assert AgentDisplayConfig.parse(cfg.message().data) == cfg
    assert AgentMaxClipboard.parse(AgentMaxClipboard(-1).message().data).max == -1
    for bad in (b"\0" * 3, b"\0" * 5):
        with pytest.raises(ProtocolError):
            AgentMaxClipboard.parse(bad)
    with pytest.raises(ProtocolError):
        AgentDisplayConfig.parse(b"\0" * 7)


def test_link_tokens_both_ways() -> None:
    link = AgentLink(window=3)
    with pytest.raises(ProtocolError):
        link.receive(b"x")  # nothing granted before start
    assert link.start(send_tokens=2) == 3
    link.queue(AgentMessage(AgentMessageType.CLIPBOARD, bytes(5000)))  # 5020 bytes: 3 chunks
    assert link.queued == 3
    first = link.sendable()
    assert [len(c) for c in first] == [2048, 2048] and link.send_tokens == 0
    assert link.sendable() == [] and link.queued == 1  # starved: held back, not sent
    link.grant(5)
    assert [len(c) for c in link.sendable()] == [924]
    stream = AgentMessage(AgentMessageType.REPLY, bytes(8)).encode() * 3
    got = [m for c in agent_chunks(stream, 16)[:3] for m in link.receive(c)]
    assert len(got) == 1
    with pytest.raises(ProtocolError):
        link.receive(b"more")  # a fourth chunk without a token
    assert link.tokens_to_return() == 3 and link.tokens_to_return() == 0
    link.receive(b"")  # returned tokens allow more
    link.reset()
    assert link.send_tokens == 0 and link.queued == 0


def test_link_tokens_granted_before_an_agent_reattach_still_count() -> None:
    # libspice-server keeps a client's tokens while its agent is away: the new agent's first
    # chunks may come on them, before the server has read our new AGENT_START
    link = AgentLink(window=3)
    link.start(send_tokens=1)
    link.receive(b"a")  # 2 tokens left with the server
    link.reset()  # AGENT_DISCONNECTED
    link.receive(b"b")  # the new agent's first chunk, before AGENT_CONNECTED was handled
    assert link.start(send_tokens=1) == 3  # AGENT_START: the server's count becomes 3
    for chunk in (b"c", b"d", b"e", b"f"):  # the one old token left, then the 3 new ones
        link.receive(chunk)
    with pytest.raises(ProtocolError):
        link.receive(b"g")  # beyond both grants
    assert link.tokens_to_return() == 4  # all since AGENT_START (that grant replaced the rest)
    # however often the agent comes back, no more than twice the window is ever allowed
    for _ in range(5):
        link.reset()
        link.start(send_tokens=0)
    for _ in range(6):
        link.receive(b"x")
    with pytest.raises(ProtocolError):
        link.receive(b"x")
