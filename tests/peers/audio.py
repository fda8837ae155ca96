"""Sound checks shared by the audio tests: the pitch of a recording, and feeding Xspice's FIFO."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import trio


def peak_hz(pcm: np.ndarray, rate: int) -> float:
    """The strongest frequency of the first channel (Hann window, parabolic interpolation)."""
    x = pcm[:, 0].astype(np.float64) * np.hanning(len(pcm))
    spectrum = np.abs(np.fft.rfft(x))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-9)
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(pcm))


async def write_fifo(path: Path, data: bytes) -> None:
    """Write ``data`` into the FIFO once its reader (Xspice) has opened it (non-blocking, trio)."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # no reader yet
                raise
            await trio.sleep(0.05)
    async with trio.lowlevel.FdStream(fd) as stream:
        await stream.send_all(data)
