"""The playback channel, sans-I/O: MODE/START/DATA/STOP/VOLUME/MUTE/LATENCY to decoded PCM events.

:class:`Playback` turns each message into events; every DATA packet becomes an
:class:`AudioChunk` (PCM and its media time) that also goes into a bounded
:class:`JitterBuffer`, from which a player takes what is due on the media clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from spice_proto import (
    AudioDataMode,
    AudioFmt,
    Caps,
    ChannelType,
    Message,
    PlaybackCap,
    PlaybackData,
    PlaybackLatency,
    PlaybackMode,
    PlaybackMute,
    PlaybackStart,
    PlaybackStop,
    PlaybackVolume,
    UnknownMessage,
)
from spice_proto.lowlevel import frozen

from ._audio import AudioError, OpusDecoder, Pcm, PcmDecoder, RawDecoder, opus_available
from ._events import Event

__all__ = [
    "AudioChunk",
    "AudioMuted",
    "AudioProblem",
    "AudioVolume",
    "JitterBuffer",
    "Playback",
    "PlaybackLatencyChanged",
    "PlaybackStarted",
    "PlaybackStopped",
    "playback_caps",
]


def playback_caps(opus: bool = True) -> Caps:
    """What we advertise on the playback channel: VOLUME, LATENCY, and OPUS when ``opus``
    and PyAV can decode it."""
    caps = {PlaybackCap.VOLUME, PlaybackCap.LATENCY}
    if opus and opus_available():
        caps.add(PlaybackCap.OPUS)
    return Caps.of(*caps)


@frozen
class PlaybackStarted(Event):
    """The guest started playing: ``channels``, ``rate`` (Hz), ``mode`` and the media ``time`` (ms)."""

    channels: int
    rate: int
    mode: AudioDataMode
    time: int


@frozen
class PlaybackStopped(Event):
    """The guest stopped playing."""


@dataclass(frozen=True, eq=False)
class AudioChunk(Event):
    """Decoded sound: ``pcm`` is (frames, channels) int16 at ``rate``; ``time`` its media time (ms)."""

    time: int
    rate: int
    pcm: Pcm = field(repr=False)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.pcm) / self.rate


@frozen
class AudioVolume(Event):
    """The server set the volume of a ``channel_type`` (playback or record): one u16 per audio channel."""

    channel_type: ChannelType
    volume: tuple[int, ...]


@frozen
class AudioMuted(Event):
    """The server muted or unmuted a ``channel_type`` (playback or record)."""

    channel_type: ChannelType
    mute: bool


@frozen
class PlaybackLatencyChanged(Event):
    """The latency (ms) the server asks the client to keep."""

    latency_ms: int


@frozen
class AudioProblem(Event):
    """An audio packet or message that was skipped, and why."""

    channel_type: ChannelType
    error: AudioError


class JitterBuffer:
    """Decoded chunks in media-time order, at most ``max_ms`` of them; the oldest go first.

    :meth:`due` hands out the chunks whose time has come on the media clock, ``delay``
    ms late (the latency the server asked for); ``dropped`` counts chunks pushed out
    because the buffer was full or that arrived after their time had passed.
    """

    def __init__(self, max_ms: float = 500.0) -> None:
        self.max_ms = max_ms
        self._chunks: deque[AudioChunk] = deque()
        self._ms = 0.0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def buffered_ms(self) -> float:
        return self._ms

    def push(self, chunk: AudioChunk) -> None:
        self._chunks.append(chunk)
        self._ms += chunk.duration_ms
        while self._ms > self.max_ms and len(self._chunks) > 1:
            self._ms -= self._chunks.popleft().duration_ms
            self.dropped += 1

    def due(self, now: int, delay: int = 0) -> list[AudioChunk]:
        """The chunks with ``time + delay <= now`` (u32 media times, wrapping)."""
        out: list[AudioChunk] = []
        while self._chunks and _mm_diff(now, self._chunks[0].time + delay) >= 0:
            chunk = self._chunks.popleft()
            self._ms -= chunk.duration_ms
            out.append(chunk)
        return out

    def drain(self) -> list[AudioChunk]:
        """Every chunk held, oldest first (for a recorder that keeps everything)."""
        out = list(self._chunks)
        self.clear()
        return out

    def clear(self) -> None:
        self._chunks.clear()
        self._ms = 0.0


def _mm_diff(a: int, b: int) -> int:
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


class Playback:
    """State of one playback channel: mode, format, volume, mute, latency, and the jitter buffer."""

    def __init__(
        self,
        jitter_ms: float = 500.0,
        decoder_for: Callable[[AudioDataMode, int, int], PcmDecoder] | None = None,
    ) -> None:
        self.mode = AudioDataMode.RAW
        self.channels = 0
        self.rate = 0
        self.playing = False
        self.volume: tuple[int, ...] = ()
        self.mute = False
        self.latency_ms = 0
        self.jitter = JitterBuffer(jitter_ms)
        self._decoder_for = decoder_for or _decoder_for
        self._decoder: PcmDecoder | None = None

    def handle(self, message: Message | UnknownMessage) -> list[Event]:
        """The events of one message; :class:`AudioError` for what cannot be played."""
        if isinstance(message, PlaybackData):
            return self._data(message)
        if isinstance(message, PlaybackMode):
            if message.mode not in (AudioDataMode.RAW, AudioDataMode.OPUS):
                raise AudioError(f"playback mode {message.mode.name} is not supported")
            self.mode = message.mode
            self._decoder = None
        elif isinstance(message, PlaybackStart):
            if message.format != AudioFmt.S16:
                raise AudioError(f"playback format {message.format.name} is not supported")
            if not 1 <= message.frequency <= 192000:
                raise AudioError(f"playback rate {message.frequency} Hz is out of range")
            self.channels, self.rate = message.channels, message.frequency
            self._decoder = self._decoder_for(self.mode, self.channels, self.rate)
            self.playing = True
            self.jitter.clear()
            return [PlaybackStarted(self.channels, self.rate, self.mode, message.time)]
        elif isinstance(message, PlaybackStop):
            self.playing = False
            return [PlaybackStopped()]
        elif isinstance(message, PlaybackVolume):
            self.volume = message.volume
            return [AudioVolume(ChannelType.PLAYBACK, message.volume)]
        elif isinstance(message, PlaybackMute):
            self.mute = message.mute
            return [AudioMuted(ChannelType.PLAYBACK, message.mute)]
        elif isinstance(message, PlaybackLatency):
            self.latency_ms = message.latency_ms
            return [PlaybackLatencyChanged(message.latency_ms)]
        return []

    def handle_safely(self, message: Message | UnknownMessage) -> list[Event]:
        """Like :meth:`handle`, with an :class:`AudioError` reported as an :class:`AudioProblem`."""
        try:
            return self.handle(message)
        except AudioError as exc:
            return [AudioProblem(ChannelType.PLAYBACK, exc.with_traceback(None))]

    def _data(self, message: PlaybackData) -> list[Event]:
        if not self.playing or self._decoder is None:
            raise AudioError("playback DATA before START")
        pcm = self._decoder.decode(message.data)
        if len(pcm) == 0:
            return []
        chunk = AudioChunk(message.time, self.rate, pcm)
        self.jitter.push(chunk)
        return [chunk]


def _decoder_for(mode: AudioDataMode, channels: int, rate: int) -> PcmDecoder:
    if mode == AudioDataMode.OPUS:
        return OpusDecoder(channels, rate)
    return RawDecoder(channels)
