"""A/V sync between spice_server and spice_session: a flash in a video stream and a click
played at the same instant come out of a media-clock presenter within 50 ms of each other.

The server animates an area until it is a stream (MJPEG), then at one instant turns the
area white and plays a click; the client pushes every stream frame (its
``multi_media_time``) and every audio chunk (its ``time``) into a MediaPresenter and notes
when the first white frame and the first loud chunk come out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import numpy as np
import simplejpeg
import spice_proto as sp
import spice_server as ss
import spice_session
import trio
from peers.av_sync import SKEW_S, H, W, flash_and_click, frozen_heap
from spice_session.lowlevel import MediaPresenter


def serve_on(server: ss.Server) -> Callable[..., Awaitable[None]]:
    return lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)


async def test_flash_and_click_come_out_together() -> None:
    fb = ss.Framebuffer(W, H)
    audio = ss.AudioSource()
    server = ss.Server(fb, audio=audio)
    shown: dict[str, tuple[float, int]] = {}  # kind -> (wall time it came out, its media time)
    with frozen_heap(), trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )
            async with spice_session.connect(f"spice://127.0.0.1:{addr.port}", audio=True) as session:
                presenter: MediaPresenter[str] = MediaPresenter(session.media_clock.now)
                arrived = trio.Event()

                async def receive() -> None:
                    async for event in session.events():
                        message = getattr(event, "message", None)
                        if isinstance(message, sp.DisplayStreamData):
                            pixels = simplejpeg.decode_jpeg(bytes(message.data), colorspace="RGB")
                            kind = "flash" if pixels.mean() > 200 else "frame"
                            presenter.push(message.multi_media_time, kind)
                        elif isinstance(event, spice_session.events.AudioChunk):
                            presenter.push(event.time, "click" if np.abs(event.pcm).max() > 1000 else "quiet")
                        arrived.set()

                async def present() -> None:
                    nonlocal arrived
                    while len(shown) < 2:
                        wait = presenter.wait_s()
                        if wait is None or wait > 0:
                            arrived = trio.Event()
                            with trio.move_on_after(wait if wait is not None else 1.0):
                                await arrived.wait()
                        for time, kind in presenter.due():
                            if kind in ("flash", "click") and kind not in shown:
                                shown[kind] = (trio.current_time(), time)

                async with trio.open_nursery() as inner:
                    inner.start_soon(receive)
                    # the stream goes on white while it is presented
                    inner.start_soon(partial(flash_and_click, server, fb, audio, white=24))
                    await present()
                    inner.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
    (flash_at, flash_mm), (click_at, click_mm) = shown["flash"], shown["click"]
    print(
        f"A/V: flash stamped {flash_mm}, click {click_mm} ({flash_mm - click_mm:+d} ms);"
        f" came out {1000 * (flash_at - click_at):+.1f} ms apart; {presenter.late} items late"
    )
    assert abs(flash_at - click_at) <= SKEW_S
