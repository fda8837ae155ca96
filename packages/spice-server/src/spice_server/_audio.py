"""Sound for the server's clients: an :class:`AudioSource` the application plays into, and
what each client's microphone sends (:meth:`AudioSource.recordings`).

Clients get 48 kHz stereo S16, raw or Opus (PyAV) as their capabilities allow, in 10 ms
packets stamped with the media clock the display streams use.
"""

from __future__ import annotations

import importlib
import logging
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import trio
from spice_net import ServerChannel
from spice_proto import (
    AudioDataMode,
    AudioFmt,
    Caps,
    PlaybackCap,
    PlaybackData,
    PlaybackMode,
    PlaybackStart,
    PlaybackStop,
    ProtocolError,
    RecordCap,
    RecordClientData,
    RecordClientMode,
    RecordClientStartMark,
    RecordStart,
    RecordStop,
)

from ._mmtime import MediaTimeControl
from ._video import media_time
from ._wakeup import Wakeup

__all__ = ["AUDIO_RATE", "AudioSource", "RecordedAudio", "audio_caps"]

log = logging.getLogger("spice_server")

Pcm = npt.NDArray[np.int16]
AUDIO_RATE = 48000
CHANNELS = 2
PACKET = AUDIO_RATE // 100  # 10 ms
#: Silence after which a playing client is sent STOP.
IDLE_STOP = 0.2


@cache
def _opus() -> Any | None:
    try:
        av = importlib.import_module("av")
        av.codec.Codec("opus", "r")
        av.codec.Codec("libopus", "w")
    except Exception:
        return None
    return av


def audio_caps() -> tuple[Caps, Caps]:
    """Our playback and record channel capabilities (Opus only with PyAV)."""
    opus = _opus() is not None
    playback = {PlaybackCap.VOLUME} | ({PlaybackCap.OPUS} if opus else set())
    record = {RecordCap.VOLUME} | ({RecordCap.OPUS} if opus else set())
    return Caps.of(*playback), Caps.of(*record)


@dataclass(frozen=True, eq=False)
class RecordedAudio:
    """Sound a client recorded: (frames, 2) int16 at 48 kHz, its media ``time`` (ms)."""

    client: int
    time: int
    pcm: Pcm = field(repr=False)


def _to_stereo_48k(pcm: npt.ArrayLike, rate: int) -> Pcm:
    a = np.asarray(pcm)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2) or a.dtype != np.int16:
        raise ValueError(f"audio must be (frames, 1 or 2) int16, not {a.dtype} {a.shape}")
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, not {rate}")
    if rate != AUDIO_RATE and len(a):
        count = round(len(a) * AUDIO_RATE / rate)
        pos = np.arange(count) * (rate / AUDIO_RATE)
        a = np.stack([np.interp(pos, np.arange(len(a)), a[:, c]) for c in range(a.shape[1])], 1)
        a = np.rint(a).astype(np.int16)
    if a.shape[1] == 1:
        a = np.repeat(a, 2, axis=1)
    return np.ascontiguousarray(a, dtype=np.int16)


class _Listener:
    """One client's playback queue (bounded: the oldest sound goes first)."""

    def __init__(self, max_frames: int) -> None:
        self.queue: deque[Pcm] = deque()
        self.frames = 0
        self.max_frames = max_frames
        self.wake = trio.Event()
        self.dropped = 0

    def push(self, pcm: Pcm) -> None:
        self.queue.append(pcm)
        self.frames += len(pcm)
        while self.frames > self.max_frames and len(self.queue) > 1:
            self.frames -= len(self.queue.popleft())
            self.dropped += 1
        self.wake.set()

    def take(self, frames: int) -> Pcm | None:
        if self.frames < frames:
            return None
        parts: list[Pcm] = []
        need = frames
        while need:
            head = self.queue[0]
            parts.append(head[:need])
            if len(head) <= need:
                self.queue.popleft()
            else:
                self.queue[0] = head[need:]
            need -= len(parts[-1])
        self.frames -= frames
        return np.concatenate(parts)


class AudioSource:
    """What the server plays to every client with a playback channel, and what they record.

    :meth:`play` takes int16 PCM at any rate (mono or stereo); each client gets it from the
    moment it is connected, at most ``max_seconds`` buffered.  With ``record`` the server asks
    clients for their microphone; :meth:`recordings` yields what arrives.
    """

    def __init__(self, *, record: bool = False, max_seconds: float = 2.0, record_buffer: int = 1000) -> None:
        self.record = record
        self._max_frames = int(max_seconds * AUDIO_RATE)
        self._listeners: list[_Listener] = []
        self._rec_send, self._rec_recv = trio.open_memory_channel[RecordedAudio](record_buffer)
        #: Recorded chunks dropped because nobody read :meth:`recordings` fast enough.
        self.record_dropped = 0

    def play(self, pcm: npt.ArrayLike, rate: int = AUDIO_RATE) -> None:
        """Queue sound for every connected client (ValueError for what is not int16 PCM)."""
        data = _to_stereo_48k(pcm, rate)
        for listener in self._listeners:
            listener.push(data)

    def recordings(self) -> trio.MemoryReceiveChannel[RecordedAudio]:
        """What the clients record, as :class:`RecordedAudio`, in arrival order."""
        return self._rec_recv

    # --- per client channels (run by the client session) ------------------------------------

    async def serve_playback(self, ch: ServerChannel, media: MediaTimeControl | None = None) -> None:
        """Send this source to one client's playback channel until it closes.

        ``media``: the client's media clock, told when sound starts and stops (and what
        PLAYBACK_LATENCY it asks for while sound plays)."""
        media = media if media is not None else MediaTimeControl()
        latency_due = Wakeup()
        media.attach_playback(PlaybackCap.LATENCY in ch.client_channel_caps, latency_due.set)
        opus = PlaybackCap.OPUS in ch.client_channel_caps and _opus() is not None
        mode = AudioDataMode.OPUS if opus else AudioDataMode.RAW
        encode = _OpusEncoder() if opus else None
        listener = _Listener(self._max_frames)
        self._listeners.append(listener)
        try:
            await ch.send(PlaybackMode(media_time(), mode))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_drain, ch, nursery.cancel_scope)
                nursery.start_soon(_latencies, ch, media, latency_due)
                while True:
                    while listener.frames < PACKET:
                        listener.wake = trio.Event()
                        await listener.wake.wait()
                    # DATA times follow the samples from here (a steady timeline, however the
                    # sends jitter), until the next STOP
                    start, frames_sent = media_time(), 0
                    await ch.send(PlaybackStart(CHANNELS, AudioFmt.S16, AUDIO_RATE, start))
                    media.playback_started()  # (a PLAYBACK_LATENCY it asks for follows START)
                    deadline = trio.current_time()
                    idle_since = None
                    while True:
                        pcm = listener.take(PACKET)
                        now = trio.current_time()
                        if pcm is None:
                            idle_since = now if idle_since is None else idle_since
                            if now - idle_since >= IDLE_STOP:
                                break
                            deadline = max(deadline, now) + PACKET / AUDIO_RATE
                            await trio.sleep_until(deadline)
                            continue
                        idle_since = None
                        data = encode.encode(pcm) if encode is not None else pcm.astype("<i2").tobytes()
                        stamp = (start + frames_sent * 1000 // AUDIO_RATE) & 0xFFFFFFFF
                        await ch.send(PlaybackData(stamp, data))
                        frames_sent += PACKET
                        deadline = max(deadline, now - 0.05) + PACKET / AUDIO_RATE
                        await trio.sleep_until(deadline)
                    await ch.send(PlaybackStop())
                    media.playback_stopped()
        finally:
            self._listeners.remove(listener)
            media.detach_playback()
            if not media.enabled:
                media.playback_stopped()  # the channel went while sound played

    async def serve_record(self, ch: ServerChannel, client: int) -> None:
        """Ask one client to record (when ``record``) and deliver what it sends."""
        if not self.record:
            await _drain(ch, None)
            return
        await ch.send(RecordStart(CHANNELS, AudioFmt.S16, AUDIO_RATE))
        decoder: _OpusDecoder | None = None
        mode = AudioDataMode.RAW
        async for msg in ch:
            if isinstance(msg, RecordClientMode):
                if msg.mode == AudioDataMode.OPUS and _opus() is not None:
                    decoder = _OpusDecoder()
                elif msg.mode != AudioDataMode.RAW:
                    raise ProtocolError(f"record mode {msg.mode.name} is not supported")
                mode = msg.mode
            elif isinstance(msg, RecordClientData):
                pcm = _decode_record(msg.data, mode, decoder)
                try:
                    self._rec_send.send_nowait(RecordedAudio(client, msg.time, pcm))
                except trio.WouldBlock:
                    self.record_dropped += 1
            elif not isinstance(msg, RecordClientStartMark):
                log.debug("record channel: ignoring %s", type(msg).__name__)

    async def stop_recording(self, ch: ServerChannel) -> None:
        """Tell one client to stop recording."""
        await ch.send(RecordStop())


def _decode_record(data: bytes, mode: AudioDataMode, decoder: _OpusDecoder | None) -> Pcm:
    if mode == AudioDataMode.OPUS and decoder is not None:
        return decoder.decode(data)
    if len(data) % (2 * CHANNELS):
        raise ProtocolError(f"raw record packet of {len(data)} bytes is not whole stereo S16 frames")
    return np.frombuffer(data, "<i2").astype(np.int16).reshape(-1, CHANNELS)


async def _latencies(ch: ServerChannel, media: MediaTimeControl, due: Wakeup) -> None:
    """Send PLAYBACK_LATENCY whenever the client's media clock asks for one."""
    while True:
        await due.wait()
        msg = media.take_playback()
        if msg is not None:
            await ch.send(msg)


async def _drain(ch: ServerChannel, scope: trio.CancelScope | None) -> None:
    try:
        async for msg in ch:
            log.debug("audio channel: ignoring %s", type(msg).__name__)
    finally:
        if scope is not None:
            scope.cancel()


class _OpusEncoder:
    def __init__(self) -> None:
        av: Any = _opus()
        ctx: Any = av.CodecContext.create("libopus", "w")
        ctx.sample_rate, ctx.layout, ctx.format, ctx.bit_rate = AUDIO_RATE, "stereo", "s16", 96000
        ctx.options = {"frame_duration": "10", "application": "audio"}
        ctx.open()
        self._av, self._ctx, self._pts = av, ctx, 0

    def encode(self, pcm: Pcm) -> bytes:
        frame = self._av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = AUDIO_RATE, self._pts
        self._pts += len(pcm)
        return b"".join(bytes(p) for p in self._ctx.encode(frame))


class _OpusDecoder:
    def __init__(self) -> None:
        av: Any = _opus()
        self._av = av
        self._ctx: Any = av.CodecContext.create("opus", "r")
        self._ctx.sample_rate, self._ctx.layout = AUDIO_RATE, "stereo"

    def decode(self, data: bytes) -> Pcm:
        try:
            frames = self._ctx.decode(self._av.Packet(data))
        except self._av.FFmpegError as exc:
            raise ProtocolError(f"record Opus packet of {len(data)} bytes does not decode: {exc}") from None
        parts = [np.asarray(f.to_ndarray()).T for f in frames]  # fltp: (channels, frames)
        if not parts:
            return np.zeros((0, CHANNELS), np.int16)
        return np.clip(np.rint(np.concatenate(parts) * 32767.0), -32768, 32767).astype(np.int16)
