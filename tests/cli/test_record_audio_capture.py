"""The recorders read the session's playback buffer late without losing sound."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import trio
from spice_cli._record_audio import RECORDER_BUFFER_MS, capture, keep_sound
from spice_session.events import AudioChunk
from spice_session.lowlevel import JitterBuffer


def _chunks(count: int, start_ms: int = 0) -> list[AudioChunk]:
    """``count`` 10 ms chunks of 48 kHz stereo, each filled with its index."""
    return [AudioChunk(start_ms + 10 * i, 48000, np.full((480, 2), i, np.int16)) for i in range(count)]


def test_keep_sound_lets_the_buffer_hold_a_burst_and_restores_it() -> None:
    jitter = JitterBuffer()
    session = SimpleNamespace(playback=SimpleNamespace(jitter=jitter))
    with keep_sound(session):  # type: ignore[arg-type]
        assert jitter.max_ms == RECORDER_BUFFER_MS
        for chunk in _chunks(200):  # 2 s at once: four times a player's buffer
            jitter.push(chunk)
        assert len(jitter.drain()) == 200 and jitter.dropped == 0
    assert jitter.max_ms == 500.0
    for chunk in _chunks(200):  # a player's buffer again: the oldest go
        jitter.push(chunk)
    assert jitter.dropped == 150


async def test_capture_keeps_a_second_of_sound_that_came_at_once_between_two_reads() -> None:
    """Xspice may send a second of sound from its FIFO at once; a read 50 ms later (or
    later still on a loaded machine) used to find only the last 500 ms."""
    jitter = JitterBuffer()
    session = SimpleNamespace(playback=SimpleNamespace(jitter=jitter))
    sent = _chunks(100)

    async def burst() -> None:
        await trio.sleep(0.01)  # after capture's first read
        for chunk in sent:
            jitter.push(chunk)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(burst)
        got = await capture(session, 0.2)  # type: ignore[arg-type]
    assert [c.time for c in got] == [c.time for c in sent] and jitter.dropped == 0
    assert jitter.max_ms == 500.0
