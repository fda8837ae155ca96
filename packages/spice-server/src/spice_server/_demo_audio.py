"""Sound for the demo: a chime when a key is typed, and a meter of what the clients record."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import trio

from ._audio import AUDIO_RATE, AudioSource
from ._demo import DemoSource
from ._events import InputEvent, KeyEvent

__all__ = ["chime", "level_of", "run_demo_audio"]

#: The chime's two partials (Hz) and length (s).
CHIME = (880.0, 1320.0)
CHIME_SECONDS = 0.25
#: The meter falls back to zero this long after the last recorded packet (s).
METER_HOLD = 0.5
#: Levels below this many dBFS show as an empty meter.
FLOOR_DB = -60.0


def chime(seconds: float = CHIME_SECONDS) -> npt.NDArray[np.int16]:
    """A short two-partial chime with a fast decay, stereo int16 at 48 kHz."""
    t = np.arange(round(seconds * AUDIO_RATE), dtype=np.float64) / AUDIO_RATE
    wave = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate(CHIME))
    envelope = np.exp(-t * 12.0) * np.minimum(1.0, t * 400.0)  # 2.5 ms attack, no click
    mono = np.rint(wave * envelope * 0.3 * 32767).astype(np.int16)
    return np.repeat(mono[:, None], 2, axis=1)


def level_of(pcm: npt.NDArray[np.int16]) -> float:
    """The RMS of ``pcm`` on a 0-1 scale (FLOOR_DB dBFS to 0 dBFS)."""
    if pcm.size == 0:
        return 0.0
    rms = math.sqrt(float(np.mean(pcm.astype(np.float64) ** 2))) / 32768.0
    if rms <= 0.0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - 20.0 * math.log10(rms) / FLOOR_DB))


async def run_demo_audio(
    source: DemoSource, audio: AudioSource, events: trio.MemoryReceiveChannel[InputEvent]
) -> None:
    """Chime on every key press in ``events``; show the level of ``audio.recordings()`` on ``source``."""
    sound = chime()

    async def chimes() -> None:
        async with events:
            async for event in events:
                if isinstance(event, KeyEvent) and event.pressed:
                    audio.play(sound)

    async def meter() -> None:
        recordings = audio.recordings()
        while True:
            with trio.move_on_after(METER_HOLD) as idle:
                chunk = await recordings.receive()
            level = 0.0 if idle.cancelled_caught else level_of(chunk.pcm)
            if abs(level - source.level) >= 0.02:
                source.show_level(level)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(chimes)
        nursery.start_soon(meter)
