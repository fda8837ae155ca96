"""Several monitors in ONE display channel (spice_server.Heads): the surface, its MONITORS_CONFIG
heads, damage and resizes per head, pointer events naming the head, resize requests per head."""

from __future__ import annotations

import numpy as np
import pytest
import spice_proto
import spice_server
import spice_session
import trio
from peers.server_task import serve_uri
from spice_proto import ChannelType, Rect

pytestmark = pytest.mark.timeout(60)


class _Recorder:
    def __init__(self) -> None:
        self.damage: list[Rect] = []
        self.resizes: list[tuple[int, int]] = []

    def damaged(self, box: Rect) -> None:
        self.damage.append(box)

    def resized(self, width: int, height: int) -> None:
        self.resizes.append((width, height))


def test_heads_sit_side_by_side_on_one_frame() -> None:
    left, right = spice_server.Framebuffer(40, 30), spice_server.Framebuffer(20, 50)
    left.fill((255, 0, 0))
    right.fill((0, 0, 255))
    heads = spice_server.Heads([left, right])
    assert (heads.width, heads.height) == (60, 50)
    assert heads.layout == (Rect(0, 0, 40, 30), Rect(40, 0, 60, 50))
    assert (heads.frame[:30, :40] == (0, 0, 255, 0)).all()  # B, G, R, X
    assert (heads.frame[30:, :40] == 0).all()  # below the shorter head: black
    assert (heads.frame[:, 40:] == (255, 0, 0, 0)).all()
    seen = _Recorder()
    heads.subscribe(seen)
    right.fill((0, 255, 0), Rect(2, 3, 6, 9))
    assert seen.damage == [Rect(42, 3, 46, 9)]
    assert (heads.frame[3:9, 42:46] == (0, 255, 0, 0)).all()
    right.scroll(0, 5)  # scrolled on our copy too
    assert np.array_equal(heads.frame[:, 40:], right.frame)
    left.resize(30, 60)
    assert seen.resizes == [(50, 60)]
    assert heads.layout == (Rect(0, 0, 30, 60), Rect(30, 0, 50, 50))
    assert np.array_equal(heads.frame[:50, 30:], right.frame)


def test_bad_heads_are_refused() -> None:
    fb = spice_server.Framebuffer(10, 10)
    with pytest.raises(spice_server.SourceError):
        spice_server.Heads([])
    with pytest.raises(spice_server.SourceError):
        spice_server.Heads([fb, fb])
    with pytest.raises(spice_server.SourceError):
        spice_server.Heads([spice_server.Framebuffer(10, 10) for _ in range(17)])
    with pytest.raises(spice_server.SourceError):
        spice_server.Heads([spice_server.Framebuffer(5000, 10), spice_server.Framebuffer(5000, 10)])


def test_heads_grown_past_the_largest_surface_are_clipped() -> None:
    """A head resized (by a client's monitors config, say) beyond what one surface holds shows
    its top-left part; drawing on it goes on working."""
    a, b, c = (spice_server.Framebuffer(2500, 100) for _ in range(3))
    heads = spice_server.Heads([a, b, c])
    c.resize(4000, 200)
    assert heads.layout == (Rect(0, 0, 2500, 100), Rect(2500, 0, 5000, 100), Rect(5000, 0, 8192, 200))
    assert (heads.width, heads.height) == (8192, 200)
    c.fill((0, 255, 0))  # beyond the clip too: no error, the visible part follows
    assert (heads.frame[:, 5000:] == (0, 255, 0, 0)).all()
    c.scroll(0, 10)
    b.resize(6000, 50)  # now the third head has no room left at all
    assert heads.layout[1] == Rect(2500, 0, 8192, 50) and heads.layout[2].empty
    c.fill((1, 2, 3))
    assert (heads.width, heads.height) == (8192, 100)


async def test_one_channel_with_two_heads_end_to_end() -> None:
    left, right = spice_server.Framebuffer(320, 200), spice_server.Framebuffer(160, 240)
    left.fill((200, 10, 10))
    right.fill((10, 10, 200))
    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Heads([left, right]), agent=agent)
    pointer = server.input_events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                assert [c.id for c in session.channels if c.type == ChannelType.DISPLAY] == [0]
                while len(session.display.monitor_layout()) < 2:
                    await session.display_changed()
                first, second = session.display.monitor_layout()
                assert (first.channel_id, first.monitor_id, first.x, first.width, first.height) == (
                    0,
                    0,
                    0,
                    320,
                    200,
                )
                assert (second.channel_id, second.monitor_id, second.x, second.width, second.height) == (
                    0,
                    1,
                    320,
                    160,
                    240,
                )
                while not (session.display.monitor_rgb(second) == [10, 10, 200]).all():
                    await session.display_changed()
                assert (session.display.monitor_rgb(first) == [200, 10, 10]).all()

                # the pointer on the second head: surface coordinates, the head named
                await session.inputs.mouse_position(330, 20, 0)
                with trio.fail_after(10):
                    async for event in pointer:
                        if isinstance(event, spice_server.PointerEvent):
                            break
                assert (event.x, event.y, event.display, event.monitor) == (330, 20, 0, 1)
                await session.inputs.mouse_press(spice_proto.MouseButton.LEFT)
                with trio.fail_after(10):
                    async for click in pointer:
                        if isinstance(click, spice_server.ButtonEvent):
                            break
                assert (click.pressed, click.x, click.display, click.monitor) == (True, 330, 0, 1)

                # a monitors config of two: each head's source follows its monitor
                await session.set_monitors([(400, 300), (200, 100)])
                assert [(left.width, left.height), (right.width, right.height)] == [(400, 300), (200, 100)]
                right.fill((1, 2, 3))
                while True:
                    layout = session.display.monitor_layout()
                    areas = [(m.x, m.width, m.height) for m in layout]
                    if (
                        areas == [(0, 400, 300), (400, 200, 100)]
                        and (session.display.monitor_rgb(layout[1]) == [1, 2, 3]).all()
                    ):
                        break
                    await session.display_changed()
            nursery.cancel_scope.cancel()


async def test_a_monitors_config_too_large_for_one_surface_is_clipped() -> None:
    heads = [spice_server.Framebuffer(64, 48) for _ in range(3)]
    agent = spice_server.GuestAgent()
    server = spice_server.Server(spice_server.Heads(heads), agent=agent)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            uri = await serve_uri(nursery, server)
            async with spice_session.connect(uri) as session:
                await session.agent.ready()
                await session.set_monitors([(4096, 64)] * 3)  # 12288 wide: more than a surface holds
                assert [(fb.width, fb.height) for fb in heads] == [(4096, 64)] * 3
                heads[2].fill((9, 9, 9))  # the head with no room left draws without error
                heads[0].fill((200, 0, 0), Rect(0, 0, 8, 8))
                while True:
                    layout = session.display.monitor_layout()
                    if [(m.x, m.width) for m in layout] == [(0, 4096), (4096, 4096)] and (
                        session.display.monitor_rgb(layout[0])[:8, :8] == [200, 0, 0]
                    ).all():
                        break
                    await session.display_changed()
            nursery.cancel_scope.cancel()
