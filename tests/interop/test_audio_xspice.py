"""Playback from a real libspice-server: Xspice's playback FIFO to our client, raw and Opus.

A 440 Hz sine then a 1 kHz sine (S16LE stereo 48 kHz) are written into the FIFO that
Xspice reads (``XSPICE_PLAYBACK_FIFO_DIR``); the server sends MODE, START(2, 48000) and
DATA to our playback channel.  The FFT of what we decoded peaks within 2 Hz of each tone
and the DATA times have no gap longer than one packet.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import spice_proto as sp
import spice_session as ss
import trio
from peers.audio import peak_hz, write_fifo
from peers.xspice import Xspice

pytestmark = pytest.mark.interop

RATE = 48000
SECONDS = 1.5  # of each tone
DEADLINE = 40.0


@pytest.mark.parametrize("mode", [sp.AudioDataMode.RAW, sp.AudioDataMode.OPUS])
async def test_xspice_fifo_tones_arrive(
    mode: sp.AudioDataMode, xspice_factory: Callable[..., Xspice], tmp_path: Path
) -> None:
    if mode == sp.AudioDataMode.OPUS and not ss.opus_available():
        pytest.skip("PyAV with Opus is not installed")
    fifo_dir = tmp_path / "audio"
    fifo_dir.mkdir()
    compression = "1" if mode == sp.AudioDataMode.OPUS else "0"
    env = {"XSPICE_PLAYBACK_FIFO_DIR": str(fifo_dir), "XSPICE_PLAYBACK_COMPRESSION": compression}
    xspice = xspice_factory(extra_env=env)
    sound = np.concatenate([ss.tone(440, SECONDS), ss.tone(1000, SECONDS)]).astype("<i2").tobytes()
    chunks: list[ss.events.AudioChunk] = []
    started: list[ss.events.PlaybackStarted] = []
    with trio.fail_after(DEADLINE):
        async with ss.connect(xspice.uri, audio=True, event_buffer=4096) as session:
            assert (sp.ChannelType.PLAYBACK, 0) in session.opened
            fifo = fifo_dir / "playback.fifo"
            os.mkfifo(fifo)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_fifo, fifo, sound)
                async for event in session.events():
                    if isinstance(event, ss.events.PlaybackStarted):
                        started.append(event)
                    elif isinstance(event, ss.events.AudioChunk):
                        chunks.append(event)
                        if sum(len(c.pcm) for c in chunks) >= (2 * SECONDS + 0.3) * RATE:
                            break
                    elif isinstance(event, ss.events.PlaybackStopped) and chunks:
                        break
                    elif isinstance(event, ss.events.AudioProblem):
                        raise AssertionError(event.error)
    assert started and started[0].channels == 2 and started[0].rate == RATE
    assert started[0].mode == mode and session.playback.mode == mode
    pcm = np.concatenate([c.pcm for c in chunks])
    # skip the edges of each tone: the start (codec warm-up) and the switch between them
    first = pcm[int(0.2 * RATE) : int((SECONDS - 0.1) * RATE)]
    second = pcm[int((SECONDS + 0.1) * RATE) : int((2 * SECONDS - 0.2) * RATE)]
    low, high = peak_hz(first, RATE), peak_hz(second, RATE)
    # No gap: the switch from 440 Hz to 1 kHz and the end of the sound come exactly where
    # they were written, to within one packet; a lost packet would shorten the sound by one.
    packet = max(len(c.pcm) for c in chunks)
    begin, switch, end = tone_edges(pcm)
    steps = [(b.time - a.time) & 0xFFFFFFFF for a, b in itertools.pairwise(chunks)]
    print(
        f"{mode.name}: peaks {low:.2f} Hz, {high:.2f} Hz; tone lengths {switch - begin}, {end - switch}"
        f" frames (written {int(SECONDS * RATE)}); packet {packet} frames; DATA time steps <= {max(steps)} ms"
    )
    assert abs(low - 440) <= 2
    assert abs(high - 1000) <= 2
    assert abs((switch - begin) - SECONDS * RATE) <= packet
    assert abs((end - switch) - SECONDS * RATE) <= packet
    assert all(step < 0x80000000 for step in steps)  # DATA times never go back
    if mode == sp.AudioDataMode.RAW:  # lossless: every sample as written
        written = np.frombuffer(sound, "<i2").reshape(-1, 2)
        assert np.array_equal(pcm[begin - 1 : begin - 1 + len(written)], written)


def tone_edges(pcm: np.ndarray) -> tuple[int, int, int]:
    """Where the sound starts, where 440 Hz turns to 1 kHz, where it ends (frames, 10 ms precision)."""
    block = RATE // 100
    loud = np.flatnonzero(np.abs(pcm[:, 0]) > 0)
    begin, end = int(loud[0]), int(loud[-1]) + 1
    freqs = np.fft.rfftfreq(block * 8, 1 / RATE)
    for start in range(begin, end - block, block // 4):
        spectrum = np.abs(np.fft.rfft(pcm[start : start + block, 0].astype(np.float64), block * 8))
        if freqs[int(np.argmax(spectrum))] > 700:
            return begin, start + block // 2, end
    raise AssertionError("no 1 kHz part found")
