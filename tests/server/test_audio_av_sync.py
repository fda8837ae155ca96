"""A/V sync between spice_server and spice_session: a flash in a video stream and a click
played at the same instant come out of a media-clock presenter within 50 ms of each other.

The server animates an area until it is a stream (MJPEG), then at one instant turns the
area white and plays a click; the client pushes every stream frame (its
``multi_media_time``) and every audio chunk (its ``time``) into a MediaPresenter and notes
when the first white frame and the first loud chunk come out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import numpy as np
import simplejpeg
import spice_proto as sp
import spice_server as ss
import spice_session
import trio
from spice_session.lowlevel import MediaPresenter

W, H = 320, 240
BOX = sp.Rect(64, 48, 64 + 160, 48 + 120)
SKEW_S = 0.050
PLAYBACK = (sp.ChannelType.PLAYBACK, 0)


def serve_on(server: ss.Server) -> Callable[..., Awaitable[None]]:
    return lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)


def picture(variant: int, white: bool = False) -> np.ndarray:
    y, x = np.mgrid[0 : BOX.height, 0 : BOX.width]
    out = np.zeros((BOX.height, BOX.width, 4), np.uint8)
    if white:
        out[:, :, :3] = 245 + (variant % 5)
        return out
    out[:, :, 0] = 128 + 100 * np.sin((x + 4 * variant) / 23)
    out[:, :, 1] = 128 + 100 * np.cos((y - 3 * variant) / 17)
    out[:, :, 2] = 128 + 90 * np.sin((x + y + 5 * variant) / 31)
    return out


async def test_flash_and_click_come_out_together() -> None:
    fb = ss.Framebuffer(W, H)
    audio = ss.AudioSource()
    server = ss.Server(fb, audio=audio)
    shown: dict[str, tuple[float, int]] = {}  # kind -> (wall time it came out, its media time)
    with trio.fail_after(30):
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

                async def animate() -> None:
                    while (
                        not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels
                    ):
                        await trio.sleep(0.01)
                    for i in range(60):  # 2.4 s at 25 fps: long enough to become a stream
                        fb.update(picture(i), BOX)
                        await trio.sleep(0.04)
                    pipe = server.clients[0].display
                    assert pipe is not None and pipe.streams, "the animation did not become a stream"
                    fb.update(picture(0, white=True), BOX)
                    audio.play(spice_session.tone(1000, 0.1, amplitude=0.5))
                    for i in range(1, 25):  # keep the stream going (white) while it is presented
                        await trio.sleep(0.04)
                        fb.update(picture(i, white=True), BOX)

                async with trio.open_nursery() as inner:
                    inner.start_soon(receive)
                    inner.start_soon(animate)
                    await present()
                    inner.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
    (flash_at, flash_mm), (click_at, click_mm) = shown["flash"], shown["click"]
    print(
        f"A/V: flash stamped {flash_mm}, click {click_mm} ({flash_mm - click_mm:+d} ms);"
        f" came out {1000 * (flash_at - click_at):+.1f} ms apart; {presenter.late} items late"
    )
    assert abs(flash_at - click_at) <= SKEW_S
