"""The automation verbs (async Driver and the blocking sync API) against our own server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import spice_server as srv
import spice_session as ss
import trio
from peers.server_task import serve_uri
from spice_proto import MouseButton, Rect
from spice_session import sync
from spice_session._driver import Driver
from spice_session._match import MatchError

W, H = 320, 200


def _needle(seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (20, 30, 3), np.uint8)


async def test_expect_waits_for_the_needle_to_be_drawn(nursery: trio.Nursery) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((20, 30, 40))
    needle = _needle()
    uri = await serve_uri(nursery, srv.Server(fb))
    async with ss.connect(uri) as session:
        vm = Driver(session)
        assert (await vm.screenshot()).shape == (H, W, 3)

        async def draw_later() -> None:
            await trio.sleep(0.3)
            fb.update(needle, Rect(200, 120, 230, 140), format="rgb")

        nursery.start_soon(draw_later)
        match = await vm.expect(needle, timeout=10)
        assert (match.x, match.y, match.w, match.h, match.score) == (200, 120, 30, 20, 1.0)
        region = await vm.screenshot(region=(200, 120, 30, 20))
        assert np.array_equal(region, needle)


async def test_a_miss_names_best_score_and_saves_the_frame(nursery: trio.Nursery, tmp_path: Path) -> None:
    fb = srv.Framebuffer(W, H)
    fb.fill((20, 30, 40))
    uri = await serve_uri(nursery, srv.Server(fb))
    async with ss.connect(uri) as session:
        vm = Driver(session, save_misses=tmp_path)
        with pytest.raises(MatchError, match=r"best score 0\.\d+ at \(\d+, \d+\); frame saved to") as info:
            await vm.expect(_needle(), timeout=0.5)
        assert info.value.best is not None and info.value.best.score < 0.9
        assert info.value.frame_path is not None and info.value.frame_path.exists()


async def test_wait_still_returns_after_the_screen_settles(nursery: trio.Nursery) -> None:
    fb = srv.Framebuffer(W, H)
    uri = await serve_uri(nursery, srv.Server(fb))
    async with ss.connect(uri) as session:
        vm = Driver(session)

        async def animate() -> None:
            for i in range(10):
                fb.fill((i * 20, 0, 0), Rect(0, 0, 50, 50))
                await trio.sleep(0.05)

        nursery.start_soon(animate)
        await trio.sleep(0.1)
        await vm.wait_still(0.3, timeout=10)
        assert trio.current_time() - session.last_display_change >= 0.3
        assert (await vm.screenshot())[10, 10].tolist() == [180, 0, 0]
        nursery.start_soon(animate)
        with pytest.raises(MatchError, match="did not stay still"):
            await vm.wait_still(5, timeout=0.3)


async def test_keys_and_clicks_reach_the_server(nursery: trio.Nursery) -> None:
    fb = srv.Framebuffer(W, H)
    server = srv.Server(fb)
    uri = await serve_uri(nursery, server)
    events = server.input_events()
    async with ss.connect(uri) as session:
        vm = Driver(session, layout="de")
        await vm.type("z")
        await vm.key("ctrl-alt-del")
        await vm.click(100, 50, button="right")
        await vm.scroll(-1)
        got: list[object] = []
        with trio.fail_after(10):
            while sum(isinstance(e, srv.ButtonEvent) for e in got) < 4:
                got.append(await events.receive())
    keys = [(e.scancode, e.pressed) for e in got if isinstance(e, srv.KeyEvent) and e.scancode != 0x3A]
    assert keys[:2] == [(0x15, True), (0x15, False)]  # z is where US has y
    assert [k for k, down in keys[2:] if down] == [0x1D, 0x38, 0xE053]
    buttons = [(e.button, e.pressed, e.x, e.y) for e in got if isinstance(e, srv.ButtonEvent)]
    assert buttons[:2] == [(MouseButton.RIGHT, True, 100, 50), (MouseButton.RIGHT, False, 100, 50)]
    assert buttons[2][0] == MouseButton.DOWN


class ThreadedServer:
    def __init__(self, fb: srv.Framebuffer, uri: str, token: trio.lowlevel.TrioToken) -> None:
        self.fb, self.uri, self.token = fb, uri, token

    def draw(self, pixels: np.ndarray, rect: tuple[int, int, int, int]) -> None:
        """Update the frame from another thread (through the server's trio run)."""
        trio.from_thread.run_sync(
            lambda: self.fb.update(pixels, Rect(*rect), format="rgb"), trio_token=self.token
        )


@pytest.fixture
def threaded_server() -> Iterator[ThreadedServer]:
    """Our server in a thread of its own, for the blocking API."""
    fb = srv.Framebuffer(W, H)
    fb.fill((20, 30, 40))
    started = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            box["uri"] = await serve_uri(nursery, srv.Server(fb))
            box["token"] = trio.lowlevel.current_trio_token()
            box["cancel"] = nursery.cancel_scope
            started.set()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    started.wait(10)
    token = box["token"]
    scope = box["cancel"]
    assert isinstance(token, trio.lowlevel.TrioToken) and isinstance(scope, trio.CancelScope)
    yield ThreadedServer(fb, str(box["uri"]), token)
    trio.from_thread.run_sync(scope.cancel, trio_token=token)
    thread.join(10)


def test_sync_api_without_trio(threaded_server: ThreadedServer) -> None:
    needle = _needle(7)
    with sync.connect(threaded_server.uri, layout="us") as vm:
        frame = vm.screenshot()
        assert frame.shape == (H, W, 3) and frame[0, 0].tolist() == [20, 30, 40]
        with pytest.raises(MatchError, match="not on screen"):
            vm.expect(needle, timeout=0.3)
        timer = threading.Timer(0.2, threaded_server.draw, (needle, (10, 10, 40, 30)))
        timer.start()
        index, match = vm.expect_any([_needle(8), needle], timeout=10)
        timer.join()
        assert index == 1 and (match.x, match.y) == (10, 10)
        vm.click_on(needle)
        vm.type("hello\n")
        vm.wait_still(0.2)
        assert vm.image().size == (W, H)


def test_sync_connect_errors_are_raised_in_the_callers_thread() -> None:
    with pytest.raises(ss.LayoutError), sync.connect("spice://127.0.0.1:1", layout="xx"):
        pass
    with pytest.raises(Exception, match=r"127\.0\.0\.1"), sync.connect("spice://127.0.0.1:1", timeout=2):
        pass
