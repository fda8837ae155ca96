"""Audio codecs of the playback and record channels: raw S16 and Opus (through PyAV), resampling.

PCM is always a C-contiguous ``(frames, channels)`` int16 numpy array.  Raw needs
nothing but numpy; Opus needs the optional PyAV (``pip install spice-session[video]``),
and is only advertised when :func:`opus_available` says it can be used.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ._errors import SessionError

__all__ = [
    "OPUS_FRAME",
    "OPUS_RATE",
    "AudioError",
    "OpusDecoder",
    "OpusEncoder",
    "PcmDecoder",
    "PcmEncoder",
    "RawDecoder",
    "RawEncoder",
    "apply_volume",
    "opus_available",
    "remix",
    "resample",
    "tone",
]

Pcm = npt.NDArray[np.int16]

#: SPICE sends Opus at 48 kHz in 10 ms frames (480 samples per channel).
OPUS_RATE = 48000
OPUS_FRAME = 480


class AudioError(SessionError):
    """Audio data that cannot be played or sent: a bad packet, a mode or format we do not know."""


class PcmDecoder(Protocol):
    """Turns one DATA packet into PCM."""

    def decode(self, data: bytes) -> Pcm: ...


class PcmEncoder(Protocol):
    """Turns PCM (exactly :attr:`frame` frames, or any count when ``frame`` is 0) into one packet."""

    frame: int

    def encode(self, pcm: Pcm) -> bytes: ...


def _check_channels(channels: int) -> None:
    if not 1 <= channels <= 8:
        raise AudioError(f"{channels} audio channels: 1 to 8 are supported")


class RawDecoder:
    """Raw S16 little-endian interleaved samples."""

    def __init__(self, channels: int) -> None:
        _check_channels(channels)
        self.channels = channels

    def decode(self, data: bytes) -> Pcm:
        step = 2 * self.channels
        if len(data) % step:
            raise AudioError(
                f"raw packet of {len(data)} bytes is not whole {self.channels}-channel S16 frames"
            )
        return np.frombuffer(data, dtype="<i2").astype(np.int16).reshape(-1, self.channels)


class RawEncoder:
    """Raw S16 little-endian interleaved samples, any number of frames per packet."""

    frame = 0

    def __init__(self, channels: int) -> None:
        _check_channels(channels)
        self.channels = channels

    def encode(self, pcm: Pcm) -> bytes:
        return _shaped(pcm, self.channels).astype("<i2").tobytes()


def _shaped(pcm: Pcm, channels: int) -> Pcm:
    if pcm.ndim != 2 or pcm.shape[1] != channels:
        raise AudioError(f"PCM of shape {pcm.shape} is not (frames, {channels})")
    return pcm


def _av() -> Any:
    return importlib.import_module("av")


@cache
def opus_available() -> bool:
    """Whether PyAV is installed with an Opus decoder and the libopus encoder."""
    try:
        av = _av()
        av.codec.Codec("opus", "r")
        av.codec.Codec("libopus", "w")
    except Exception:
        return False
    return True


def _layout(channels: int) -> str:
    if channels not in (1, 2):
        raise AudioError(f"Opus with {channels} channels: only mono and stereo are supported")
    return "mono" if channels == 1 else "stereo"


class OpusDecoder:
    """Opus packets (one per DATA, as SPICE sends them) at 48 kHz."""

    def __init__(self, channels: int, rate: int = OPUS_RATE) -> None:
        if not opus_available():
            raise AudioError("Opus needs PyAV with an Opus decoder (pip install av)")
        self.channels = channels
        self._av = _av()
        self._ctx: Any = self._av.CodecContext.create("opus", "r")
        self._ctx.sample_rate = rate
        self._ctx.layout = _layout(channels)

    def decode(self, data: bytes) -> Pcm:
        if not data:
            raise AudioError("empty Opus packet")
        try:
            frames = self._ctx.decode(self._av.Packet(data))
        except self._av.FFmpegError as exc:
            raise AudioError(f"Opus packet of {len(data)} bytes does not decode: {exc}") from None
        parts = [_to_s16(frame.to_ndarray(), frame.format.name, self.channels) for frame in frames]
        if not parts:
            return np.zeros((0, self.channels), np.int16)
        return np.ascontiguousarray(np.concatenate(parts))


def _to_s16(array: Any, fmt: str, channels: int) -> Pcm:
    """A PyAV frame's samples as (frames, channels) int16."""
    a = np.asarray(array)
    # planar frames are (channels, frames), packed ones (1, frames * channels)
    a = a.T if fmt.endswith("p") else a.reshape(-1, channels)
    if a.dtype.kind == "f":
        return np.clip(np.rint(a * 32767.0), -32768, 32767).astype(np.int16)
    return a.astype(np.int16)


class OpusEncoder:
    """PCM to Opus packets of :data:`OPUS_FRAME` frames (10 ms) at 48 kHz."""

    frame = OPUS_FRAME

    def __init__(self, channels: int, bit_rate: int = 64000) -> None:
        if not opus_available():
            raise AudioError("Opus needs PyAV with libopus (pip install av)")
        self.channels = channels
        self._av = _av()
        ctx: Any = self._av.CodecContext.create("libopus", "w")
        ctx.sample_rate = OPUS_RATE
        ctx.layout = _layout(channels)
        ctx.format = "s16"
        ctx.bit_rate = bit_rate
        ctx.options = {"frame_duration": "10", "application": "audio"}
        ctx.open()
        self._ctx = ctx
        self._pts = 0

    def encode(self, pcm: Pcm) -> bytes:
        pcm = _shaped(pcm, self.channels)
        if pcm.shape[0] != OPUS_FRAME:
            raise AudioError(f"an Opus packet takes {OPUS_FRAME} frames, not {pcm.shape[0]}")
        frame = self._av.AudioFrame.from_ndarray(
            np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1),
            format="s16",
            layout=self._ctx.layout.name,
        )
        frame.sample_rate = OPUS_RATE
        frame.pts = self._pts
        self._pts += OPUS_FRAME
        packets = self._ctx.encode(frame)
        return b"".join(bytes(p) for p in packets)


def resample(pcm: Pcm, from_rate: int, to_rate: int) -> Pcm:
    """``pcm`` at ``to_rate`` by linear interpolation (enough for tones and voice)."""
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"sample rates must be positive, not {from_rate} -> {to_rate}")
    if from_rate == to_rate or len(pcm) == 0:
        return pcm
    count = round(len(pcm) * to_rate / from_rate)
    src = np.arange(len(pcm), dtype=np.float64)
    dst = np.arange(count, dtype=np.float64) * (from_rate / to_rate)
    out = np.empty((count, pcm.shape[1]), np.int16)
    for ch in range(pcm.shape[1]):
        out[:, ch] = np.rint(np.interp(dst, src, pcm[:, ch].astype(np.float64)))
    return out


def remix(pcm: Pcm, channels: int) -> Pcm:
    """``pcm`` with ``channels`` channels: mono is copied to each, more are averaged to mono."""
    have = pcm.shape[1]
    if have == channels:
        return pcm
    mono = pcm if have == 1 else pcm.astype(np.int32).mean(axis=1, keepdims=True).astype(np.int16)
    return np.ascontiguousarray(np.repeat(mono, channels, axis=1))


def apply_volume(pcm: Pcm, volume: tuple[int, ...]) -> Pcm:
    """``pcm`` scaled by a SPICE volume: one u16 per channel, a linear gain of ``v / 65535``
    (65535 leaves it as is, 0 is silence); an empty volume changes nothing, and a channel
    beyond the volume's count takes its last value."""
    if not volume or all(v >= 0xFFFF for v in volume):
        return pcm
    channels = pcm.shape[1]
    levels = [min(max(v, 0), 0xFFFF) for v in volume[:channels]]
    levels += [levels[-1]] * (channels - len(levels))
    gain = np.asarray(levels, np.float64) / 0xFFFF
    return np.rint(pcm.astype(np.float64) * gain).astype(np.int16)


def tone(
    frequency: float, seconds: float, rate: int = OPUS_RATE, channels: int = 2, amplitude: float = 0.3
) -> Pcm:
    """A sine of ``frequency`` Hz as (frames, channels) int16, ``amplitude`` of full scale."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    wave = np.rint(np.sin(2 * np.pi * frequency * t) * amplitude * 32767).astype(np.int16)
    return np.ascontiguousarray(np.repeat(wave[:, None], channels, axis=1))
