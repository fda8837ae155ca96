"""Encoding off the event loop: large encodes (QUIC/LZ/GLZ/JPEG) run in worker threads under the
server's shared CapacityLimiter while the loop goes on, small ones inline; every client still
decodes its GLZ sequence exactly (per-client order kept); the media clock of MAIN_INIT and of
stream frames agree."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import spice_server as ss
import spice_session
import trio
from miniclient import mini_session
from peers.viewers import pattern_frame
from spice_proto import DisplayStreamData, Rect
from spice_server._client import THREAD_MIN_PIXELS
from spice_server._draw import MJPEG_THREAD_MIN_PIXELS
from spice_server._video import MM_TIME_DELTA, media_time
from spice_server.lowlevel import ImageEncoder
from test_server_streams_session import animate, rgb, serve, smooth

W, H = 800, 600


class Probe:
    """Wraps encoders to record which thread ran them and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls: list[tuple[int, bool]] = []  # (pixels, on the event loop's thread)

    def wrap(self, fn: Callable[..., Any], pixels_of: Callable[..., int]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
                self.calls.append((pixels_of(*args), threading.current_thread() is threading.main_thread()))
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    self.running -= 1

        return run


async def test_large_encodes_run_in_worker_threads_within_the_limit(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = Probe()
    monkeypatch.setattr(
        ImageEncoder,
        "encode",
        probe.wrap(ImageEncoder.encode, lambda self, frame, box, *a, **k: box.area),
    )
    fb = ss.Framebuffer(W, H)
    fb.update(pattern_frame(W, H))
    server = ss.Server(fb, encode_threads=2)
    port = await serve(nursery, server)
    async with mini_session(port) as a, mini_session(port) as b, mini_session(port) as c:
        for s in (a, b, c):
            await s.show(fb.frame)
        for v in range(1, 6):
            new = pattern_frame(W, H, variant=v)
            fb.update(new[:, : W // 2], Rect(0, 0, W // 2, H))  # photo-like: QUIC
            for s in (a, b, c):
                await s.show(fb.frame, timeout=30)
            fb.update(new[:, W // 2 :], Rect(W // 2, 0, W, H))  # flat: GLZ
            for s in (a, b, c):
                await s.show(fb.frame, timeout=30)
            fb.fill((v, 2 * v, 3 * v), Rect(10, 10, 30, 30))  # a tiny area
            for s in (a, b, c):
                await s.show(fb.frame, timeout=30)
    big = [on_loop for pixels, on_loop in probe.calls if pixels >= THREAD_MIN_PIXELS]
    small = [on_loop for pixels, on_loop in probe.calls if pixels < THREAD_MIN_PIXELS]
    assert big and not any(big)  # never on the event loop
    assert small and all(small)  # not worth a thread
    assert probe.most <= server.encode_limiter.total_tokens == 2
    # every client decoded its own GLZ sequence exactly, so per-client order held
    for s in (a, b, c):
        assert s.screen.image_types["GlzRgbImage"] > 0


async def exact_soon(session: spice_session.Session, fb: ss.Framebuffer, timeout: float = 30) -> bool:
    """Whether the client shows the frame exactly within ``timeout`` (the stream ends once the
    animation stops, and its area is drawn losslessly: later on a loaded machine)."""
    with trio.move_on_after(timeout):
        while True:
            shot = await session.screenshot(settle=0.3)
            if (shot.to_rgb() == rgb(fb.frame)).all():
                return True
            await trio.sleep(0.1)  # a settled picture comes back at once: let the server go on
    return False


async def test_small_jpeg_frames_are_encoded_inline(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spice_server import _video_encode

    probe = Probe()
    monkeypatch.setattr(
        _video_encode,
        "encode_mjpeg",
        probe.wrap(_video_encode.encode_mjpeg, lambda frame, box, quality: box.area),
    )
    fb = ss.Framebuffer(480, 320)
    server = ss.Server(fb)
    port = await serve(nursery, server)
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        await session.screenshot(settle=0.1)
        await animate(fb, range(30))
        assert probe.calls
        assert all(pixels < MJPEG_THREAD_MIN_PIXELS and on_loop for pixels, on_loop in probe.calls)
        assert await exact_soon(session, fb)


async def test_large_jpeg_frames_are_encoded_in_worker_threads_while_the_loop_runs(
    nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spice_server import _video_encode

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.005)

    real = _video_encode.encode_mjpeg
    calls: list[tuple[int, bool, bool]] = []  # (pixels, on the event loop's thread, loop ran meanwhile)

    def encode(frame: Any, box: Rect, quality: int) -> bytes:
        on_loop = threading.current_thread() is threading.main_thread()
        start, deadline = ticks, time.monotonic() + 10
        # hold the encode until the event loop went on twice (never, if it is this thread)
        while len(calls) < 3 and ticks < start + 2 and time.monotonic() < deadline:
            time.sleep(0.001)
        calls.append((box.area, on_loop, ticks >= start + 2))
        return real(frame, box, quality)

    monkeypatch.setattr(_video_encode, "encode_mjpeg", encode)
    width = 800
    box = Rect(0, 0, width, -(-MJPEG_THREAD_MIN_PIXELS // width))  # just large enough
    fb = ss.Framebuffer(width, box.bottom + 40)
    server = ss.Server(fb)
    port = await serve(nursery, server)
    nursery.start_soon(tick)
    async with spice_session.connect(f"spice://127.0.0.1:{port}") as session:
        session.events().close()
        await session.screenshot(settle=0.1)
        pictures = [smooth(i, box) for i in range(8)]  # drawn ahead: a stream needs 25 frames/s
        for i in range(40):
            fb.update(pictures[i % len(pictures)], box)
            await trio.sleep(1 / 25)
        assert len(calls) >= 3
        assert all(pixels >= MJPEG_THREAD_MIN_PIXELS and not on_loop for pixels, on_loop, _ in calls)
        assert all(went_on for _, _, went_on in calls[:3])  # the loop kept serving during encodes
        assert await exact_soon(session, fb)


def _mm_diff(a: int, b: int) -> int:
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


async def test_stream_frames_are_stamped_on_the_clock_main_init_gave(nursery: trio.Nursery) -> None:
    fb = ss.Framebuffer(480, 320)
    server = ss.Server(fb)
    port = await serve(nursery, server)
    async with mini_session(port) as s:
        # MAIN_INIT's clock runs MM_TIME_DELTA behind the server's: frames play that much later
        assert abs(_mm_diff(media_time() - MM_TIME_DELTA, s.init.multi_media_time)) < 200
        await s.show(fb.frame)
        async with trio.open_nursery() as inner:
            inner.start_soon(animate, fb, range(30))
            with trio.fail_after(10):
                await s.read_display_until(lambda sc: isinstance(sc.messages[-1], DisplayStreamData))
            age = _mm_diff(media_time(), s.screen.messages[-1].multi_media_time)  # type: ignore[union-attr]
        assert 0 <= age < 300, age  # stamped with the server's clock when it was taken


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="streaming_video"):
        ss.Server(streaming_video="sometimes")
    with pytest.raises(ValueError, match="encode_threads"):
        ss.Server(encode_threads=0)
