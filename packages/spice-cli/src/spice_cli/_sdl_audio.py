"""SDL audio for the viewer: the guest's sound out, the microphone in, both mutable.

SDL's queue API is used both ways (``SDL_QueueAudio`` / ``SDL_DequeueAudio``), so no SDL
callback runs on SDL's audio thread: every call happens on the trio thread.
:class:`ViewerAudio` holds playback chunks in a media-clock presenter and queues each
when its time comes, so sound stays with the stream video stamped on the same clock.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress

import numpy as np
import numpy.typing as npt
import spice_session as ss
import trio
from spice_proto import ChannelType
from spice_session.events import AudioChunk, AudioMuted, AudioVolume, PlaybackStarted
from spice_session.lowlevel import MediaPresenter, apply_volume

from ._sdl_import import import_sdl2

import_sdl2()  # pysdl2 without its slow system search, and quiet
import sdl2  # noqa: E402

from ._sdl_window import SDLError  # noqa: E402

__all__ = ["SdlMicrophone", "SdlSpeaker", "ViewerAudio", "audio_device", "sdl_audio", "session_audio"]

Pcm = npt.NDArray[np.int16]
#: Queued output beyond this is dropped (the device fell behind): latency stays bounded.
MAX_QUEUED_MS = 300
#: Chunks are queued this long before their media time, so the device never runs dry between them.
LEAD_MS = 60
#: Less queued than this is a device that ran dry (at the start, or after a pause).
DRY_MS = 5


def _fail(what: str) -> SDLError:
    detail = sdl2.SDL_GetError().decode(errors="replace") or "unknown SDL error"
    return SDLError(f"{what}: {detail}")


@contextmanager
def sdl_audio() -> Iterator[None]:
    """SDL's audio subsystem for the duration of the block (SDLError when there is no audio driver)."""
    if sdl2.SDL_InitSubSystem(sdl2.SDL_INIT_AUDIO) != 0:
        raise _fail("SDL audio")
    try:
        yield
    finally:
        sdl2.SDL_QuitSubSystem(sdl2.SDL_INIT_AUDIO)


def _open(rate: int, channels: int, capture: bool) -> int:
    want = sdl2.SDL_AudioSpec(rate, sdl2.AUDIO_S16LSB, channels, 512)
    have = sdl2.SDL_AudioSpec(0, 0, 0, 0)
    device: int = sdl2.SDL_OpenAudioDevice(None, int(capture), ctypes.byref(want), ctypes.byref(have), 0)
    if device == 0:
        raise _fail("SDL capture device" if capture else "SDL output device")
    sdl2.SDL_PauseAudioDevice(device, 0)
    return device


class SdlSpeaker:
    """The default output device at ``rate`` Hz with ``channels``; :meth:`play` queues PCM."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate
        self.channels = channels
        self.muted = False
        #: Frames not queued because the device was more than MAX_QUEUED_MS behind.
        self.dropped = 0
        self._device = _open(rate, channels, capture=False)

    @property
    def queued_ms(self) -> float:
        queued: int = sdl2.SDL_GetQueuedAudioSize(self._device)
        return 1000.0 * queued / (2 * self.channels * self.rate)

    def play(self, pcm: Pcm) -> None:
        """Queue (frames, channels) int16; muted, silence of the same length keeps the timing."""
        if pcm.ndim != 2 or pcm.shape[1] != self.channels:
            raise ValueError(f"PCM of shape {pcm.shape} is not (frames, {self.channels})")
        if self.queued_ms > MAX_QUEUED_MS:
            self.dropped += len(pcm)
            return
        data = (np.zeros_like(pcm) if self.muted else pcm).astype("<i2").tobytes()
        if sdl2.SDL_QueueAudio(self._device, data, len(data)) != 0:
            raise _fail("SDL_QueueAudio")

    def close(self) -> None:
        sdl2.SDL_CloseAudioDevice(self._device)


class SdlMicrophone:
    """The default capture device as a record source (an ``AudioInput``); muted, it sends silence.

    The device is opened at the rate and channel count the server asks for; what the device
    has not delivered yet is filled with silence so the record channel keeps real time.
    """

    def __init__(self) -> None:
        self.muted = False
        self._device: int | None = None
        self._format: tuple[int, int] | None = None

    def read(self, frames: int, rate: int, channels: int) -> Pcm | None:
        """``frames`` of what the device captured; ``None`` (the source is done) when it cannot open."""
        if self._format != (rate, channels):
            self.close()
            try:
                self._device = _open(rate, channels, capture=True)
            except SDLError as exc:
                print(f"no microphone: {exc}", file=sys.stderr, flush=True)
                return None
            self._format = (rate, channels)
        assert self._device is not None
        buf = ctypes.create_string_buffer(frames * channels * 2)
        got = sdl2.SDL_DequeueAudio(self._device, buf, len(buf))
        pcm = np.zeros((frames, channels), np.int16)
        if got and not self.muted:
            flat = np.frombuffer(buf.raw[: got - got % (2 * channels)], "<i2")
            pcm[: len(flat) // channels] = flat.reshape(-1, channels)
        return pcm

    def close(self) -> None:
        if self._device is not None:
            sdl2.SDL_CloseAudioDevice(self._device)
            self._device = None
            self._format = None


def _mm_diff(a: int, b: int) -> int:
    d = (a - b) & 0xFFFFFFFF
    return d - (1 << 32) if d & 0x80000000 else d


class ViewerAudio:
    """Playback for the viewer: :meth:`on_event` takes the session's audio events and
    :meth:`run` queues each chunk on the speaker when the media clock reaches its time.

    The server's PLAYBACK_VOLUME scales what is played (linear gain ``v / 65535`` per
    channel) and its PLAYBACK_MUTE plays silence, like the user's mute key.
    """

    def __init__(
        self, now: Callable[[], int], make_speaker: Callable[[int, int], SdlSpeaker] = SdlSpeaker
    ) -> None:
        self.presenter: MediaPresenter[Pcm] = MediaPresenter(now, delay_ms=-LEAD_MS)
        self._now = now
        self.muted = False
        #: The server's PLAYBACK_VOLUME (one u16 per channel; empty: full) and PLAYBACK_MUTE.
        self.volume: tuple[int, ...] = ()
        self.server_muted = False
        self.speaker: SdlSpeaker | None = None
        #: No output device could be opened: the sound is dropped.
        self.failed = False
        self._make_speaker = make_speaker
        self._format: tuple[int, int] | None = None
        self._wake = trio.Event()

    def toggle_mute(self) -> bool:
        self.muted = not self.muted
        if self.speaker is not None:
            self.speaker.muted = self.muted
        return self.muted

    def on_event(self, event: object) -> None:
        """Follow PlaybackStarted (the format), AudioChunk (sound to present) and the server's
        playback volume and mute; ignore the rest."""
        if isinstance(event, PlaybackStarted):
            self._format = (event.rate, event.channels)
        elif isinstance(event, AudioVolume) and event.channel_type == ChannelType.PLAYBACK:
            self.volume = event.volume
        elif isinstance(event, AudioMuted) and event.channel_type == ChannelType.PLAYBACK:
            self.server_muted = event.mute
        elif isinstance(event, AudioChunk):
            self.presenter.push(event.time, event.pcm)
            self._wake.set()

    async def run(self) -> None:
        """Queue due chunks until cancelled."""
        try:
            while True:
                wait = self.presenter.wait_s()
                if wait is None or wait > 0:
                    self._wake = trio.Event()
                    with trio.move_on_after(wait if wait is not None else 1.0):
                        await self._wake.wait()
                for time, pcm in self.presenter.due():
                    speaker = self._speaker_for(pcm)
                    if speaker is None:
                        continue
                    queued = speaker.queued_ms
                    ahead = _mm_diff(time, self._now()) - queued
                    if queued < DRY_MS and ahead > 1:  # (nearly) dry: start this chunk at its media time
                        frames = int(ahead * speaker.rate / 1000)
                        speaker.play(np.zeros((frames, speaker.channels), np.int16))
                    speaker.play(np.zeros_like(pcm) if self.server_muted else apply_volume(pcm, self.volume))
        finally:
            if self.speaker is not None:
                self.speaker.close()
                self.speaker = None

    def _speaker_for(self, pcm: Pcm) -> SdlSpeaker | None:
        """The speaker for this chunk's format; ``None`` (sound dropped) when no device opens."""
        rate = self._format[0] if self._format is not None else 48000
        if self.failed:
            return None
        if self.speaker is None or (self.speaker.rate, self.speaker.channels) != (rate, pcm.shape[1]):
            if self.speaker is not None:
                self.speaker.close()
                self.speaker = None
            try:
                self.speaker = self._make_speaker(rate, pcm.shape[1])
            except SDLError as exc:
                print(f"no sound: {exc}", file=sys.stderr, flush=True)
                self.failed = True
                return None
            self.speaker.muted = self.muted
        return self.speaker


def audio_device(stack: ExitStack, who: str) -> bool:
    """SDL audio until ``stack`` closes; without a device, ``who`` says so on stderr (then silent)."""
    try:
        stack.enter_context(sdl_audio())
    except SDLError as exc:
        print(f"{who}: no sound: {exc}", file=sys.stderr, flush=True)
        return False
    return True


@contextmanager
def session_audio(session: ss.Session) -> Iterator[tuple[ViewerAudio, SdlMicrophone | None]]:
    """A player for ``session``'s sound, and the microphone as its record source (when it has
    a record channel), closed at the end."""
    microphone = None
    with suppress(ss.ChannelUnavailable):
        session.record.source = microphone = SdlMicrophone()
    try:
        yield ViewerAudio(session.media_clock.now), microphone
    finally:
        if microphone is not None:
            microphone.close()
