"""The demo's sound: a chime for every key typed, a level meter of what the client records."""

from __future__ import annotations

import numpy as np
import pytest
import spice_proto as sp
import spice_server
import spice_session
import trio
from spice_server._demo_audio import chime, level_of, run_demo_audio
from spice_session.events import AudioChunk

RATE = 48000


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    x = pcm[:, 0].astype(np.float64) * np.hanning(len(pcm))
    spectrum = np.abs(np.fft.rfft(x, 8 * len(x)))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-9)
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / (8 * len(pcm)))


def test_chime_and_levels() -> None:
    sound = chime()
    assert sound.shape == (12000, 2) and sound.dtype == np.int16
    assert abs(peak_hz(sound, RATE) - 880) <= 2
    assert np.abs(sound[-480:]).max() < np.abs(sound[:4800]).max() / 10  # it dies away
    assert level_of(np.zeros((480, 2), np.int16)) == 0.0
    assert level_of(spice_session.tone(440, 0.1, amplitude=1.0)) == pytest.approx(0.95, abs=0.01)  # -3 dBFS
    assert level_of(spice_session.tone(440, 0.1, amplitude=0.01)) == pytest.approx(0.28, abs=0.01)  # -43 dBFS


async def test_demo_chimes_on_keys_and_meters_the_microphone() -> None:
    source = spice_server.DemoSource()
    audio = spice_server.AudioSource(record=True)
    server = spice_server.Server(source, audio=audio)
    title = source.layout.title
    chunks: list[AudioChunk] = []
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(server.serve, "127.0.0.1", 0)
            nursery.start_soon(run_demo_audio, source, audio, server.input_events())
            async with spice_session.connect(f"spice://127.0.0.1:{addr.port}", audio=True) as session:
                loud = spice_session.tone(500, 1.0, amplitude=0.5)
                session.record.source = spice_session.ArraySource(loud, RATE, loop=True)
                while source.level < 0.8:  # a -9 dBFS tone: 0.85 on the meter
                    await trio.sleep(0.05)
                row = source.frame[title.top + 2 * source.layout.title_scale + 1]
                assert (row[:, :3] == (90, 200, 60)).all(axis=1).sum() > 0  # green (BGR) on the meter
                session.record.source = None
                while source.level > 0.0:
                    await trio.sleep(0.05)
                await session.inputs.key_down(0x1E)
                await session.inputs.key_up(0x1E)
                async for event in session.events():
                    if isinstance(event, AudioChunk):
                        chunks.append(event)
                        if sum(len(c.pcm) for c in chunks) >= 0.25 * RATE:
                            break
            nursery.cancel_scope.cancel()
    heard = np.concatenate([c.pcm for c in chunks])
    assert abs(peak_hz(heard, RATE) - 880) <= 2
    assert session.playback.mode in (sp.AudioDataMode.RAW, sp.AudioDataMode.OPUS)
