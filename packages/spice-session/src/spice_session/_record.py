"""The record channel: what the guest hears from us (a WAV file, an array, a generator).

:class:`Recorder` is the sans-I/O part (server START/STOP/VOLUME/MUTE in, our MODE,
START_MARK and DATA out); :class:`Record` is the session's face of it, with the
source you feed and the task that sends it in real time while the server records.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import trio
from spice_proto import (
    AudioDataMode,
    AudioFmt,
    Caps,
    ChannelType,
    Message,
    RecordCap,
    RecordClientData,
    RecordClientMode,
    RecordClientStartMark,
    RecordMute,
    RecordStart,
    RecordStop,
    RecordVolume,
    UnknownMessage,
)
from spice_proto.lowlevel import frozen

from ._audio import (
    OPUS_RATE,
    AudioError,
    OpusEncoder,
    Pcm,
    PcmEncoder,
    RawEncoder,
    apply_volume,
    opus_available,
    remix,
    resample,
)
from ._events import Event
from ._playback import AudioMuted, AudioProblem, AudioVolume

__all__ = [
    "ArraySource",
    "AudioInput",
    "GeneratorSource",
    "Record",
    "RecordStarted",
    "RecordStopped",
    "Recorder",
    "WavSource",
    "record_caps",
]

#: Frames per DATA packet at 48 kHz (10 ms, as Opus needs); other rates send 10 ms too.
PACKET_MS = 10


def record_caps(opus: bool = True) -> Caps:
    """What we advertise on the record channel: VOLUME, and OPUS when ``opus`` and PyAV can
    encode it."""
    caps = {RecordCap.VOLUME}
    if opus and opus_available():
        caps.add(RecordCap.OPUS)
    return Caps.of(*caps)


@frozen
class RecordStarted(Event):
    """The guest started recording: we send ``channels`` at ``rate`` Hz in ``mode``."""

    channels: int
    rate: int


@frozen
class RecordStopped(Event):
    """The guest stopped recording."""


class AudioInput(Protocol):
    """Sound to record: up to ``frames`` frames at ``rate`` with ``channels``; ``None`` when done."""

    def read(self, frames: int, rate: int, channels: int) -> Pcm | None: ...


class ArraySource:
    """A PCM array (frames, channels) int16 at ``rate``, converted to what the server asks."""

    def __init__(self, pcm: Pcm, rate: int, loop: bool = False) -> None:
        if pcm.ndim == 1:
            pcm = pcm[:, None]
        if pcm.ndim != 2 or pcm.dtype != np.int16:
            raise AudioError(f"a source array must be (frames, channels) int16, not {pcm.dtype} {pcm.shape}")
        self._pcm = pcm
        self._rate = rate
        self._loop = loop
        self._ready: tuple[int, int, Pcm] | None = None
        self._pos = 0

    def read(self, frames: int, rate: int, channels: int) -> Pcm | None:
        if self._ready is None or self._ready[:2] != (rate, channels):
            old_rate = self._ready[0] if self._ready is not None else rate
            self._pos = self._pos * rate // old_rate
            self._ready = (rate, channels, remix(resample(self._pcm, self._rate, rate), channels))
        data = self._ready[2]
        if self._pos >= len(data):
            if not self._loop or len(data) == 0:
                return None
            self._pos = 0
        out = data[self._pos : self._pos + frames]
        self._pos += len(out)
        return out


class WavSource(ArraySource):
    """A 16-bit PCM WAV file."""

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        try:
            with wave.open(str(path), "rb") as w:
                if w.getsampwidth() != 2:
                    raise AudioError(
                        f"{path}: {8 * w.getsampwidth()}-bit samples; only 16-bit WAV is supported"
                    )
                raw = w.readframes(w.getnframes())
                channels, rate = w.getnchannels(), w.getframerate()
        except (wave.Error, EOFError) as exc:
            raise AudioError(f"{path}: not a readable WAV file: {exc}") from None
        pcm = np.frombuffer(raw, dtype="<i2").astype(np.int16).reshape(-1, channels)
        super().__init__(pcm, rate, loop)


class GeneratorSource:
    """Arrays (frames, channels) int16 at ``rate`` from an iterable, in any sizes."""

    def __init__(self, chunks: Iterable[Pcm], rate: int) -> None:
        self._chunks: Iterator[Pcm] = iter(chunks)
        self._rate = rate
        self._pending: Pcm | None = None

    def read(self, frames: int, rate: int, channels: int) -> Pcm | None:
        parts: list[Pcm] = []
        have = 0
        while have < frames:
            if self._pending is None or len(self._pending) == 0:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                chunk = chunk[:, None] if chunk.ndim == 1 else chunk
                self._pending = remix(resample(np.asarray(chunk, np.int16), self._rate, rate), channels)
            take = self._pending[: frames - have]
            self._pending = self._pending[len(take) :]
            parts.append(take)
            have += len(take)
        return np.concatenate(parts) if parts else None


class Recorder:
    """Record channel state, sans-I/O: the server's requests in, our packets out."""

    def __init__(
        self,
        server_caps: Caps | None = None,
        encoder_for: Callable[[AudioDataMode, int], PcmEncoder] | None = None,
    ) -> None:
        self.server_caps = server_caps if server_caps is not None else Caps()
        self.recording = False
        self.channels = 0
        self.rate = 0
        self.volume: tuple[int, ...] = ()
        self.mute = False
        self.mode = AudioDataMode.RAW
        self._encoder_for = encoder_for or _encoder_for
        self._encoder: PcmEncoder | None = None
        self._pending = np.zeros((0, 1), np.int16)
        self._time = 0

    def handle(self, message: Message | UnknownMessage) -> list[Event]:
        """The events of one server message; :class:`AudioError` for a start we cannot serve."""
        if isinstance(message, RecordStart):
            if message.format != AudioFmt.S16:
                raise AudioError(f"record format {message.format.name} is not supported")
            if not 1 <= message.channels <= 2 or not 8000 <= message.frequency <= 192000:
                raise AudioError(f"record start with {message.channels} channels at {message.frequency} Hz")
            self.channels, self.rate = message.channels, message.frequency
            self.recording = True
            return [RecordStarted(self.channels, self.rate)]
        if isinstance(message, RecordStop):
            self.recording = False
            self._encoder = None
            return [RecordStopped()]
        if isinstance(message, RecordVolume):
            self.volume = message.volume
            return [AudioVolume(ChannelType.RECORD, message.volume)]
        if isinstance(message, RecordMute):
            self.mute = message.mute
            return [AudioMuted(ChannelType.RECORD, message.mute)]
        return []

    def handle_safely(self, message: Message | UnknownMessage) -> list[Event]:
        try:
            return self.handle(message)
        except AudioError as exc:
            return [AudioProblem(ChannelType.RECORD, exc.with_traceback(None))]

    @property
    def packet_frames(self) -> int:
        return self.rate * PACKET_MS // 1000

    def begin(self, time: int) -> list[Message]:
        """MODE (Opus when the server takes it and we can encode it at this rate, else raw) and START_MARK."""
        if not self.recording:
            raise AudioError("record data before the server's START")
        opus = RecordCap.OPUS in self.server_caps and opus_available() and self.rate == OPUS_RATE
        self.mode = AudioDataMode.OPUS if opus else AudioDataMode.RAW
        self._encoder = self._encoder_for(self.mode, self.channels)
        self._pending = np.zeros((0, self.channels), np.int16)
        self._time = time
        return [RecordClientMode(time, self.mode), RecordClientStartMark(time)]

    def packets(self, pcm: Pcm, time: int) -> list[Message]:
        """DATA messages for ``pcm`` (frames, channels) captured at media ``time``, scaled by the
        server's RECORD_VOLUME (silence while RECORD_MUTE); Opus keeps a partial frame for the next call."""
        if self._encoder is None:
            raise AudioError("record data before begin()")
        if pcm.ndim != 2 or pcm.shape[1] != self.channels:
            raise AudioError(f"record PCM of shape {pcm.shape} is not (frames, {self.channels})")
        pcm = np.zeros_like(pcm) if self.mute else apply_volume(pcm, self.volume)
        frame = self._encoder.frame
        if not frame:
            return [RecordClientData(time, self._encoder.encode(pcm))] if len(pcm) else []
        if len(self._pending) == 0:
            self._time = time
        data = np.concatenate([self._pending, pcm])
        out: list[Message] = []
        while len(data) >= frame:
            out.append(RecordClientData(self._time & 0xFFFFFFFF, self._encoder.encode(data[:frame])))
            self._time += frame * 1000 // self.rate
            data = data[frame:]
        self._pending = data
        return out


def _encoder_for(mode: AudioDataMode, channels: int) -> PcmEncoder:
    if mode == AudioDataMode.OPUS:
        return OpusEncoder(channels)
    return RawEncoder(channels)


class _Sender(Protocol):
    async def send(self, message: Message | UnknownMessage) -> object: ...


class Record:
    """The session's record channel: set :attr:`source` (an :class:`AudioInput`) to feed the guest.

    While the server records, :meth:`run` reads the source in real time, 10 ms at a
    time, and sends it; without a source (or once it is exhausted) nothing is sent.
    """

    def __init__(self, recorder: Recorder, clock: Callable[[], int]) -> None:
        self.recorder = recorder
        self._clock = clock
        self._source: AudioInput | None = None
        self._changed = trio.Event()
        #: Frames sent since the last START.
        self.frames_sent = 0

    @property
    def source(self) -> AudioInput | None:
        return self._source

    @source.setter
    def source(self, source: AudioInput | None) -> None:
        self._source = source
        self._wake()

    def handle(self, message: Message | UnknownMessage) -> list[Event]:
        events = self.recorder.handle_safely(message)
        self._wake()
        return events

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def run(self, channel: _Sender) -> None:
        """Send the source while the server records; returns only when cancelled or the channel fails."""
        while True:
            if not (self.recorder.recording and self._source is not None):
                await self._changed.wait()
                continue
            await self._send_while_recording(channel)

    async def _send_while_recording(self, channel: _Sender) -> None:
        rec = self.recorder
        for message in rec.begin(self._clock()):
            await channel.send(message)
        self.frames_sent = 0
        deadline = trio.current_time()
        while rec.recording and self._source is not None:
            pcm = self._source.read(rec.packet_frames, rec.rate, rec.channels)
            if pcm is None:
                self._source = None
                break
            for message in rec.packets(pcm, self._clock()):
                await channel.send(message)
            self.frames_sent += len(pcm)
            deadline += len(pcm) / rec.rate
            await trio.sleep_until(deadline)
