"""A flash in a video stream and a click played at the same instant, from a spice_server:
what the A/V sync tests of spice_session and of spice view play to their client."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import spice_proto as sp
import spice_server
import spice_session
import trio

from .viewers import smooth_frame

W, H = 320, 240
#: The area that becomes a stream.
BOX = sp.Rect(64, 48, 64 + 160, 48 + 120)
#: The most the flash and the click may come out apart.
SKEW_S = 0.050


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What ``spice view`` does at start (gc.freeze()): the objects alive now stop being
    walked by the cyclic collector.  In a test process that ran many tests before, a full
    collection otherwise takes 70-100 ms, which came out as 88-97 ms of A/V skew."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def picture(variant: int, white: bool = False) -> np.ndarray:
    """A photo-like BGRX picture for BOX that moves with ``variant``; nearly white with ``white``."""
    if not white:
        return smooth_frame(BOX.width, BOX.height, variant)
    out = np.zeros((BOX.height, BOX.width, 4), np.uint8)
    out[:, :, :3] = 245 + (variant % 5)
    return out


async def flash_and_click(
    server: spice_server.Server,
    fb: spice_server.Framebuffer,
    source: spice_server.AudioSource,
    *,
    white: int,
    until: Callable[[], bool] = lambda: True,
) -> None:
    """Once the first client's playback channel is up, animate BOX at 25 fps until it is a
    stream, then at one instant turn it white and play a 100 ms 1 kHz click; the stream
    goes on white for ``white`` frames, then until ``until()`` (39 frames at most)."""
    while not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
        await trio.sleep(0.01)
    for i in range(60):  # 2.4 s at 25 fps: long enough to become a stream
        fb.update(picture(i), BOX)
        await trio.sleep(0.04)
    pipe = server.clients[0].display
    assert pipe is not None and pipe.streams, "the animation did not become a stream"
    fb.update(picture(0, white=True), BOX)
    source.play(spice_session.tone(1000, 0.1, amplitude=0.5))
    for i in range(1, 40):
        await trio.sleep(0.04)
        fb.update(picture(i, white=True), BOX)
        if i >= white and until():
            break
