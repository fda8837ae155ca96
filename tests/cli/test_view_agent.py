"""spice view's agent glue on SDL's dummy video driver against spice_server's GuestAgent:
the guest screen follows the window (debounced, not with resize_guest=False) and the SDL
clipboard and the guest's follow each other."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import spice_server as srv
import spice_session as ss
import trio
from peers.require import require_binary
from peers.xvfb import Xvfb
from spice_cli import _sdl_viewer
from spice_cli._display_config import display_config
from spice_cli._sdl_agent import ViewerAgent
from spice_cli._sdl_viewer import Viewer
from spice_cli._sdl_window import clipboard_text, poll_events, set_clipboard_text
from spice_proto import AgentClipboardType, AgentSelection, Rect
from spice_proto import AgentDisplayConfigFlags as Flags

pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def viewing(
    fb: srv.Framebuffer, agent: srv.GuestAgent, **options: Any
) -> AsyncIterator[tuple[Viewer, ss.Session]]:
    server = srv.Server(fb, agent=agent)
    async with trio.open_nursery() as nursery:
        addr: srv.ServerAddress = await nursery.start(
            lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
        )  # type: ignore[arg-type]
        async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
            viewer = Viewer(session, **options)
            nursery.start_soon(viewer.run)
            await session.agent.ready()
            while viewer.window is None:
                await trio.sleep(0.02)
            yield viewer, session
            nursery.cancel_scope.cancel()


def _resize_window(viewer: Viewer, width: int, height: int) -> None:
    import sdl2

    assert viewer.window is not None
    sdl2.SDL_SetWindowSize(viewer.window._window, width, height)


async def test_the_guest_follows_the_window_once_it_settles(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _session):
            assert viewer.window is not None
            for size in ((400, 300), (450, 320), (500, 360)):  # a drag: only the last size counts
                _resize_window(viewer, *size)
                await trio.sleep(0.1)
            while (fb.width, fb.height) != (500, 360):
                await trio.sleep(0.02)
            while viewer.window.width != 500:  # the new surface reached the viewer
                await trio.sleep(0.02)
            assert viewer.window.pixel_size() == (500, 360)  # the window kept the user's size
            await trio.sleep(0.6)
    requests = []
    while True:
        try:
            requests.append(events.receive_nowait())
        except trio.WouldBlock:
            break
    sizes = [
        (e.monitors[0].width, e.monitors[0].height) for e in requests if isinstance(e, srv.ResizeRequested)
    ]
    assert sizes == [(500, 360)]


async def test_no_resize_guest_keeps_the_guest_size(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    with trio.fail_after(30):
        async with viewing(fb, srv.GuestAgent(), resize_guest=False) as (viewer, _):
            _resize_window(viewer, 500, 360)
            await trio.sleep(1.0)
            assert (fb.width, fb.height) == (320, 200)


async def test_clipboards_follow_each_other(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    set_clipboard_text("was there before")
    with trio.fail_after(30):
        async with viewing(fb, agent):
            agent.set_text("copied in the guest")
            while clipboard_text() != "copied in the guest":
                await trio.sleep(0.02)
            set_clipboard_text("copied on the host")
            async for event in events:
                if isinstance(event, srv.ClipboardOffered) and event.types:
                    break
            assert await agent.get_text() == "copied on the host"


async def test_an_idle_agent_loop_wakes_for_the_clipboard_poll_only(sdl: None) -> None:
    """Nothing changing: the loop runs at each host clipboard poll (two a second), not on a
    fixed tick (it was 20 a second); news still wakes it at once."""
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _session):
            guest = viewer.guest
            assert guest is not None
            steps: list[float] = []
            step = guest._step

            async def counted() -> None:
                steps.append(trio.current_time())
                await step()

            await trio.sleep(1.0)  # the window's first sizes settle (a resize 0.4 s later)
            guest._step = counted  # type: ignore[method-assign]
            await trio.sleep(2.0)
            assert 2 <= len(steps) <= 6, [
                round(t - steps[0], 3) for t in steps
            ]  # 4 polls in 2 s, give or take a ring
            steps.clear()
            agent.set_text("news from the guest")
            while clipboard_text() != "news from the guest":
                await trio.sleep(0.01)
            assert steps  # the grab rang it: no wait for the next poll needed


async def test_no_clipboard_shares_nothing(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    set_clipboard_text("host only")
    with trio.fail_after(30):
        async with viewing(fb, agent, clipboard=False):
            agent.set_text("guest only")
            set_clipboard_text("host text, new")
            await trio.sleep(1.2)
            assert clipboard_text() == "host text, new"
            assert not agent.client_offers


async def test_a_dropped_file_goes_to_the_guest(sdl: None, tmp_path: Path) -> None:
    import ctypes

    import sdl2

    payload = tmp_path / "dropped file.bin"
    payload.write_bytes(bytes(range(256)) * 400)
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent(files_dir=tmp_path / "inbox")
    said: list[str] = []
    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _):
            assert viewer.guest is not None
            viewer.guest.say = said.append
            # what SDL delivers when a file is dropped: an event owning an SDL-allocated path
            raw = bytes(payload) + b"\0"
            buffer = sdl2.SDL_malloc(len(raw))
            ctypes.memmove(buffer, raw, len(raw))
            event = sdl2.SDL_Event()
            event.type = sdl2.SDL_DROPFILE
            ctypes.c_void_p.from_address(
                ctypes.addressof(event) + sdl2.SDL_DropEvent.file.offset
            ).value = buffer
            assert sdl2.SDL_PushEvent(ctypes.byref(event)) == 1
            while not (tmp_path / "inbox" / payload.name).exists() or said[-1:] != [
                f"spice view: {payload.name} sent"
            ]:
                await trio.sleep(0.02)
    assert (tmp_path / "inbox" / payload.name).read_bytes() == payload.read_bytes()
    assert said[0].startswith(f"spice view: {payload.name}: ") and "102400 bytes" in said[0]


async def test_one_window_per_monitor(sdl: None) -> None:
    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    left.fill((250, 0, 0))
    right.fill((0, 0, 250))
    server = srv.Server([left, right])
    pointer = server.input_events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            addr: srv.ServerAddress = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )  # type: ignore[arg-type]
            async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
                viewer = Viewer(session)
                nursery.start_soon(viewer.run)
                while 1 not in viewer.extra or viewer.window is None:
                    await trio.sleep(0.02)
                second = viewer.extra[1]
                assert (second.width, second.height) == (200, 150)
                while second.read_pixels()[75, 100, :3].tolist() != [250, 0, 0]:  # B, G, R of (0, 0, 250)
                    await trio.sleep(0.05)
                right.fill((0, 250, 0))  # damage on the second monitor reaches its window only
                while second.read_pixels()[75, 100, :3].tolist() != [0, 250, 0]:
                    await trio.sleep(0.05)
                while viewer.window.read_pixels()[100, 160, :3].tolist() != [0, 0, 250]:  # its own picture
                    await trio.sleep(0.05)  # (channel 0 may draw after channel 1)
                assert second.read_pixels()[75, 100, :3].tolist() == [0, 250, 0]
                # a click in the second window lands on display 1 at that window's coordinates
                from spice_cli._sdl_window import ButtonInput

                await viewer.on_input(ButtonInput(1, True, 50, 40, second.id))
                await viewer.on_input(ButtonInput(1, False, 50, 40, second.id))
                seen = []
                with trio.fail_after(10):
                    async for event in pointer:
                        seen.append(event)
                        if isinstance(event, srv.ButtonEvent) and not event.pressed:
                            break
                assert any(isinstance(e, srv.PointerEvent) and (e.x, e.y) == (50, 40) for e in seen)
                nursery.cancel_scope.cancel()  # the viewer first, then the session


async def test_resizing_the_first_window_keeps_the_other_monitor(sdl: None) -> None:
    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    agent = srv.GuestAgent()
    server = srv.Server([left, right], agent=agent)
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            addr: srv.ServerAddress = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )  # type: ignore[arg-type]
            async with ss.connect(f"spice://127.0.0.1:{addr.port}") as session:
                viewer = Viewer(session)
                nursery.start_soon(viewer.run)
                await session.agent.ready()
                while 1 not in viewer.extra or viewer.window is None:
                    await trio.sleep(0.02)
                _resize_window(viewer, 400, 300)
                with trio.fail_after(10):
                    async for event in events:
                        if isinstance(event, srv.ResizeRequested):
                            break
                # the other monitor is named with its size: a config of the first alone would
                # switch it off in a guest
                assert [(m.width, m.height) for m in event.monitors] == [(400, 300), (200, 150)]
                assert (left.width, left.height) == (400, 300) and (right.width, right.height) == (200, 150)
                nursery.cancel_scope.cancel()


async def test_the_display_config_goes_to_the_agent_once_it_connects(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    config = display_config(["font-smooth", "animation"], 16)
    with trio.fail_after(30):
        async with viewing(fb, agent, display_config=config) as (viewer, _):
            async for event in events:
                if isinstance(event, srv.DisplayConfigured):
                    break
            assert event.flags == Flags.DISABLE_FONT_SMOOTH | Flags.DISABLE_ANIMATION | Flags.SET_COLOR_DEPTH
            assert event.depth == 16
            assert viewer.guest is not None and viewer.guest.configured


async def test_no_display_config_without_options(sdl: None) -> None:
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _):
            _resize_window(viewer, 400, 300)  # a later agent message: everything before it was handled
            async for event in events:
                assert not isinstance(event, srv.DisplayConfigured)
                if isinstance(event, srv.ResizeRequested):
                    break


def test_monitors_config_places_windows_left_to_right() -> None:
    from spice_cli._sdl_agent import monitors_config

    windows = [(400, 300, 700), None, (200, 150, 10)]  # the third window stands left of the first
    assert [(m.width, m.height, m.x, m.y) for m in monitors_config(windows, sparse=True)] == [
        (400, 300, 200, 0),
        (0, 0, 0, 0),
        (200, 150, 0, 0),
    ]
    assert [(m.width, m.height, m.x) for m in monitors_config(windows, sparse=False)] == [
        (400, 300, 200),
        (200, 150, 0),
    ]


async def _viewer_on(
    nursery: trio.Nursery, server: srv.Server, shown: Callable[[Viewer], bool]
) -> tuple[Viewer, ss.Session]:
    """Serve ``server``, connect a Viewer to it; once ``shown(viewer)``."""
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    session = await nursery.start(_connected, f"spice://127.0.0.1:{addr.port}")
    viewer = Viewer(session)
    nursery.start_soon(viewer.run)
    while viewer.window is None or not shown(viewer):
        await trio.sleep(0.02)
    return viewer, session


async def _two_monitor_viewer(
    nursery: trio.Nursery, agent: srv.GuestAgent, left: srv.Framebuffer, right: srv.Framebuffer
) -> Viewer:
    viewer, session = await _viewer_on(
        nursery, srv.Server([left, right], agent=agent), lambda v: 1 in v.extra
    )
    await session.agent.ready()
    return viewer


async def _connected(uri: str, task_status: trio.TaskStatus[ss.Session] = trio.TASK_STATUS_IGNORED) -> None:
    async with ss.connect(uri) as session:
        task_status.started(session)
        await trio.sleep_forever()


async def _next_resize(events: trio.MemoryReceiveChannel[srv.AgentEvent]) -> srv.ResizeRequested:
    with trio.fail_after(10):
        async for event in events:
            if isinstance(event, srv.ResizeRequested):
                return event
    raise AssertionError("the events ended")


async def test_every_window_goes_into_one_monitors_config(sdl: None) -> None:
    import sdl2

    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    agent = srv.GuestAgent()
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer = await _two_monitor_viewer(nursery, agent, left, right)
            assert viewer.window is not None
            second = viewer.extra[1]
            sdl2.SDL_SetWindowPosition(viewer.window._window, 600, 0)  # the second monitor's window
            sdl2.SDL_SetWindowPosition(second._window, 0, 0)  # stands left of the first
            _resize_window(viewer, 400, 300)
            sdl2.SDL_SetWindowSize(second._window, 240, 180)
            event = await _next_resize(events)
            assert [(m.width, m.height, m.x, m.y) for m in event.monitors] == [
                (400, 300, 240, 0),
                (240, 180, 0, 0),
            ]
            while (right.width, right.height) != (240, 180) or 1 not in viewer.extra:
                await trio.sleep(0.02)
            while viewer.extra[1].width != 240:  # the new surface reached the second window
                await trio.sleep(0.02)
            assert viewer.extra[1].pixel_size() == (240, 180)  # which kept the user's size
            nursery.cancel_scope.cancel()


async def test_closing_a_monitor_window_switches_the_monitor_off(sdl: None) -> None:
    from spice_cli._sdl_window import Quit

    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    agent = srv.GuestAgent()
    events = agent.events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer = await _two_monitor_viewer(nursery, agent, left, right)
            await viewer.on_input(Quit(viewer.extra[1].id))
            event = await _next_resize(events)
            assert [(m.width, m.height) for m in event.monitors] == [(320, 200), (0, 0)]
            assert 1 not in viewer.extra and not viewer.closing()
            nursery.cancel_scope.cancel()


async def _heads_viewer(nursery: trio.Nursery, server: srv.Server) -> tuple[Viewer, ss.Session]:
    return await _viewer_on(nursery, server, lambda v: (0, 1) in v.heads)


async def test_a_window_per_head_of_one_channel(sdl: None) -> None:
    from spice_cli._sdl_window import ButtonInput

    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    left.fill((250, 0, 0))
    right.fill((0, 0, 250))
    server = srv.Server(srv.Heads([left, right]))
    pointer = server.input_events()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer, _ = await _heads_viewer(nursery, server)
            assert viewer.window is not None and not viewer.extra
            head = viewer.heads[(0, 1)]
            assert (viewer.window.width, viewer.window.height) == (320, 200)
            assert (head.width, head.height) == (200, 150)
            while head.read_pixels()[75, 100, :3].tolist() != [250, 0, 0]:  # B, G, R of (0, 0, 250)
                await trio.sleep(0.05)
            right.fill((0, 250, 0), Rect(10, 10, 30, 30))  # damage on the second head reaches its window
            while head.read_pixels()[20, 20, :3].tolist() != [0, 250, 0]:
                await trio.sleep(0.05)
            assert (head.read_pixels()[:, :, :3][50:] == [250, 0, 0]).all()
            while viewer.window.read_pixels()[100, 160, :3].tolist() != [0, 0, 250]:
                await trio.sleep(0.05)
            assert (viewer.window.read_pixels()[:, :, :3] == [0, 0, 250]).all()  # the first head only
            # a click in the head's window: at its place on the surface, on head 1
            await viewer.on_input(ButtonInput(1, True, 50, 40, head.id))
            await viewer.on_input(ButtonInput(1, False, 50, 40, head.id))
            with trio.fail_after(10):
                async for event in pointer:
                    if isinstance(event, srv.PointerEvent):
                        break
            assert (event.x, event.y, event.display, event.monitor) == (370, 40, 0, 1)
            nursery.cancel_scope.cancel()


async def test_head_windows_resize_and_switch_off_their_monitors(sdl: None) -> None:
    import sdl2
    from spice_cli._sdl_window import Quit

    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    agent = srv.GuestAgent()
    events = agent.events()
    server = srv.Server(srv.Heads([left, right]), agent=agent)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer, session = await _heads_viewer(nursery, server)
            await session.agent.ready()
            head = viewer.heads[(0, 1)]
            sdl2.SDL_SetWindowSize(head._window, 260, 180)
            event = await _next_resize(events)
            assert [(m.width, m.height, m.x) for m in event.monitors] == [(320, 200, 0), (260, 180, 320)]
            while (head.width, head.height) != (260, 180):  # the new layout reached the head's window
                await trio.sleep(0.02)
            assert head.pixel_size() == (260, 180)
            await viewer.on_input(Quit(head.id))
            event = await _next_resize(events)
            assert [(m.width, m.height) for m in event.monitors] == [(320, 200), (0, 0)]
            assert (0, 1) not in viewer.heads and not viewer.closing()
            nursery.cancel_scope.cancel()


async def _unread_heads_viewer(nursery: trio.Nursery, server: srv.Server) -> tuple[Viewer, ss.Session]:
    """A viewer showing the server's two heads that does not run: the session's events stay unread."""
    addr: srv.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    session = await nursery.start(_connected, f"spice://127.0.0.1:{addr.port}")
    while len(session.display.monitor_layout()) < 2 or session.display.primary is None:
        await session.display_changed()
    viewer = Viewer(session)
    viewer._show_primary(session.display.primary)
    viewer._sync_heads()
    return viewer, session


async def test_offline_closing_a_head_window_does_not_quit(sdl: None) -> None:
    import ctypes

    import sdl2

    def close_event(window_id: int) -> None:
        event = sdl2.SDL_Event()
        event.type = sdl2.SDL_WINDOWEVENT
        event.window.event = sdl2.SDL_WINDOWEVENT_CLOSE
        event.window.windowID = window_id
        sdl2.SDL_PushEvent(ctypes.byref(event))

    server = srv.Server(srv.Heads([srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)]))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer, _ = await _unread_heads_viewer(nursery, server)  # as between two connections
            assert viewer.window is not None and (0, 1) in viewer.heads
            close_event(viewer.heads[(0, 1)].id)
            with trio.move_on_after(0.5):
                await viewer.wait_offline()
            assert not viewer.closing()  # a monitor's window waits for a session
            close_event(viewer.window.id)
            await viewer.wait_offline()  # the main window quits
            assert viewer.closing()
            viewer.close()
            nursery.cancel_scope.cancel()


async def test_a_head_layout_that_changed_before_its_event_resizes_the_window_first(sdl: None) -> None:
    """The session's state runs ahead of the events the viewer has read: damage drawn after a head
    grew can be rendered before the MonitorsConfigChanged saying so (CI: 'update 720x400+0+0
    outside the 640x480 texture' against Xspice)."""
    left, right = srv.Framebuffer(320, 200), srv.Framebuffer(200, 150)
    server = srv.Server(srv.Heads([left, right]))
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            viewer, session = await _unread_heads_viewer(nursery, server)
            head = viewer.heads[(0, 1)]
            assert (head.width, head.height) == (200, 150)
            right.resize(260, 180)
            right.fill((0, 250, 0))
            green = [0, 250, 0]
            while True:  # the session has the new layout and the head's new picture
                layout = session.display.monitor_layout()
                grown = [(m.width, m.height) for m in layout][1:] == [(260, 180)]
                if grown and session.display.monitor_rgb(layout[1])[170, 250].tolist() == green:
                    break
                await session.display_changed()
            viewer._heads_dirty[(0, 1)] = [viewer._area(0, 1)]  # damage on the grown head, read first
            viewer._render_heads()
            assert viewer.heads[(0, 1)] is head and (head.width, head.height) == (260, 180)
            assert head.read_pixels()[170, 250, 2::-1].tolist() == green  # all of it shown again
            viewer.close()
            nursery.cancel_scope.cancel()


def test_head_areas_are_bounded() -> None:
    """A server naming 40 heads on one surface gets windows for the first 16 (as spice-gtk)."""
    from types import SimpleNamespace

    from spice_cli._sdl_heads import MAX_HEADS, head_areas, monitor_keys
    from spice_proto import SurfaceFmt

    primary = ss.Surface(0, 400, 10, SurfaceFmt.FMT_32_xRGB, primary=True)
    layout = tuple(ss.Monitor(0, i, 10 * i, 0, 10, 10) for i in range(40))
    display = SimpleNamespace(primary=primary, channels={}, monitor_layout=lambda: layout)
    areas = head_areas(display, 0)  # type: ignore[arg-type]
    assert len(areas) == MAX_HEADS == 16 and areas[15] == Rect(150, 0, 160, 10)
    assert len(monitor_keys(display, [0])) == 16  # type: ignore[arg-type]


class _ReportingClipboard:
    """A host clipboard that reports its changes (as SDL's X11 driver does)."""

    reports_changes = True

    def __init__(self) -> None:
        self.text: str | None = None

    def get(self) -> str | None:
        return self.text

    def set(self, text: str) -> None:
        self.text = text


async def test_a_guest_image_copy_is_not_overwritten_by_a_host_change_reported_before_it() -> None:
    """The guest copies text, the viewer puts it on the host clipboard (SDL reports that set as a
    change: a look is due), then the guest copies a picture before the agent loop runs: the
    look is dropped, and the guest's older text does not go back over its picture."""
    pushed: list[str] = []

    async def get_text(timeout: float) -> str:
        return "copied in the guest"

    async def set_text(text: str, timeout: float) -> None:
        pushed.append(text)

    session = SimpleNamespace(
        agent=SimpleNamespace(connected=True, caps=frozenset()),  # an agent that is up
        clipboard=SimpleNamespace(get_text=get_text, set_text=set_text),
    )
    host = _ReportingClipboard()
    guest = ViewerAgent(session, host, resize_guest=False)  # type: ignore[arg-type]
    guest._next_poll = math.inf  # as run() leaves it where changes are reported

    def grab(kind: AgentClipboardType) -> ss.events.ClipboardGrabbed:
        return ss.events.ClipboardGrabbed(AgentSelection.CLIPBOARD, (kind,))

    guest.on_event(grab(AgentClipboardType.UTF8_TEXT))
    await guest._step()
    assert host.text == "copied in the guest"
    guest.host_clipboard_changed()  # SDL's report of that set
    guest.on_event(grab(AgentClipboardType.IMAGE_PNG))
    await guest._step()
    assert pushed == []
    host.set("copied on the host")  # a copy after the picture's still goes
    guest.host_clipboard_changed()
    await guest._step()
    assert pushed == ["copied on the host"]


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.interop
async def test_an_idle_viewer_on_x11_sleeps_and_still_hears_of_a_host_copy(
    x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On X11 (SDL >= 2.30) SDL reports other programs' copies: neither the agent loop nor
    the SDL loop of an idle viewer wakes on a timer, and text copied by another program
    (xclip) still reaches the guest at once."""
    require_binary("xclip")
    polls: list[float] = []

    def counted_poll_events() -> list[Any]:
        polls.append(trio.current_time())
        return poll_events()

    monkeypatch.setattr(_sdl_viewer, "poll_events", counted_poll_events)
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _session):
            guest = viewer.guest
            assert guest is not None and guest.clipboard is not None
            assert guest.clipboard.reports_changes
            steps: list[float] = []
            step = guest._step

            async def counted() -> None:
                steps.append(trio.current_time())
                await step()

            await trio.sleep(2.0)  # the window's first sizes settle, the viewer's news die down
            guest._step = counted  # type: ignore[method-assign]
            polls.clear()
            await trio.sleep(2.0)
            assert steps == [] and len(polls) <= 1, (steps, polls)  # polled every 0.25 s before
            copied = tmp_path / "copied.txt"
            copied.write_bytes(b"copied by another program")
            x11_sdl.display.copy_text(copied)
            with trio.fail_after(5):
                async for event in events:
                    if isinstance(event, srv.ClipboardOffered) and event.types:
                        break
                assert await agent.get_text() == "copied by another program"


@pytest.mark.interop
async def test_the_same_host_text_copied_again_after_a_guest_image_copy_reaches_the_guest(
    x11_sdl: Xvfb, tmp_path: Path
) -> None:
    """Host copies "A" (shared), the guest copies an image, the host copies "A" again: the
    guest is offered "A" again (it was taken for the text already shared)."""
    fb = srv.Framebuffer(320, 200)
    agent = srv.GuestAgent()
    events = agent.events()
    same = tmp_path / "same.txt"
    same.write_bytes(b"the same text")

    async def offered_text() -> str | None:
        async for event in events:
            if isinstance(event, srv.ClipboardOffered) and event.types:
                return await agent.get_text()
        return None

    with trio.fail_after(30):
        async with viewing(fb, agent) as (viewer, _session):
            assert viewer.guest is not None and viewer.guest.clipboard is not None
            assert viewer.guest.clipboard.reports_changes
            x11_sdl.display.copy_text(same)
            assert await offered_text() == "the same text"
            guest, grabs = viewer.guest, trio.Event()
            on_event = guest.on_event

            def seen(event: ss.events.Event) -> None:
                on_event(event)
                if isinstance(event, ss.events.ClipboardGrabbed):
                    grabs.set()

            guest.on_event = seen  # type: ignore[method-assign]
            agent.set_image(_png())  # the guest copies a picture
            await grabs.wait()
            x11_sdl.display.copy_text(same)
            with trio.fail_after(5):
                assert await offered_text() == "the same text"


@pytest.mark.interop
async def test_an_idle_viewer_on_x11_still_redraws_its_statistics_overlay(
    x11_sdl: Xvfb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overlay's figures are redrawn twice a second while nothing else happens: the idle
    wait without a deadline is not for a viewer showing them."""
    fb = srv.Framebuffer(320, 200)
    with trio.fail_after(30):
        async with viewing(fb, srv.GuestAgent()) as (viewer, _session):
            await trio.sleep(2.0)  # the viewer's news die down
            drawn: list[float] = []
            draw = viewer._draw_stats

            def counted(*args: Any) -> None:
                drawn.append(trio.current_time())
                draw(*args)

            monkeypatch.setattr(viewer, "_draw_stats", counted)
            viewer.stats_overlay = True  # as Ctrl+Alt+S does from inside the SDL loop
            viewer._wake()
            await trio.sleep(2.5)
    assert viewer._overlay_box is not None and len(drawn) >= 4, drawn
