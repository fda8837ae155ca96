"""The viewer's SDL audio, through SDL's ``disk`` driver (output to a file, capture from a file):
the speaker writes what it is given (silence when muted), the microphone reads the capture
file as a record source, and ViewerAudio plays our server's AudioSource at its media time."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import spice_proto as sp
import spice_server
import spice_session
import trio
from peers.audio import peak_hz
from spice_cli._sdl_audio import SdlMicrophone, SdlSpeaker, ViewerAudio, sdl_audio
from spice_cli._sdl_window import SDLError
from spice_session.events import AudioChunk, AudioMuted, AudioVolume, PlaybackStarted

RATE = 48000


def loud_part(path: Path) -> np.ndarray:
    pcm = np.frombuffer(path.read_bytes(), "<i2")
    pcm = pcm[: len(pcm) // 2 * 2].reshape(-1, 2)
    loud = np.flatnonzero(np.abs(pcm[:, 0]) > 1000)
    return pcm[loud[0] : loud[-1] + 1] if len(loud) else pcm[:0]


@pytest.fixture
def disk_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """SDL audio into tmp_path/out.raw and from tmp_path/in.raw (S16LE stereo 48 kHz)."""
    out, mic = tmp_path / "out.raw", tmp_path / "in.raw"
    monkeypatch.setenv("SDL_AUDIODRIVER", "disk")
    monkeypatch.setenv("SDL_DISKAUDIOFILE", str(out))
    monkeypatch.setenv("SDL_DISKAUDIOFILEIN", str(mic))
    return out, mic


def test_speaker_writes_what_it_plays_and_silence_when_muted(disk_audio: tuple[Path, Path]) -> None:
    out, _ = disk_audio
    with sdl_audio():
        speaker = SdlSpeaker(RATE, 2)
        speaker.play(spice_session.tone(440, 0.25))
        time.sleep(0.35)
        speaker.muted = True
        speaker.play(spice_session.tone(440, 0.25))
        time.sleep(0.4)
        speaker.close()
    heard = loud_part(out)
    assert abs(len(heard) - 0.25 * RATE) <= 480  # the muted quarter second is silent
    assert abs(peak_hz(heard, RATE) - 440) <= 2
    with pytest.raises(ValueError, match="not \\(frames, 2\\)"):
        SdlSpeaker.play(speaker, np.zeros((4, 1), np.int16))


def test_microphone_reads_the_capture_device(disk_audio: tuple[Path, Path]) -> None:
    _, mic = disk_audio
    mic.write_bytes(spice_session.tone(700, 1.0).astype("<i2").tobytes())
    source = SdlMicrophone()
    with sdl_audio():
        parts = []
        for _ in range(100):
            pcm = source.read(480, RATE, 2)
            assert pcm is not None and pcm.shape == (480, 2)
            parts.append(pcm)
            time.sleep(0.012)
        source.muted = True
        muted = source.read(480, RATE, 2)
        source.close()
    got = np.concatenate(parts)
    loud = got[np.abs(got[:, 0]) > 0]
    assert len(loud) > 0.5 * RATE
    assert abs(peak_hz(got[np.flatnonzero(np.abs(got[:, 0]) > 1000)[0] :], RATE) - 700) <= 2
    assert muted is not None and not muted.any()


async def test_viewer_audio_plays_our_server_on_the_media_clock(disk_audio: tuple[Path, Path]) -> None:
    out, _ = disk_audio
    audio = spice_server.AudioSource()
    server = spice_server.Server(spice_server.Framebuffer(64, 48), audio=audio)
    with sdl_audio(), trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            addr = await nursery.start(
                lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
            )
            # raw (lossless) playback, so the samples that come out can be counted exactly
            uri = f"spice://127.0.0.1:{addr.port}"
            async with spice_session.connect(uri, audio=True, opus=False) as session:
                player = ViewerAudio(session.media_clock.now)
                nursery.start_soon(player.run)
                while not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                    await trio.sleep(0.01)
                audio.play(spice_session.tone(1000, 0.6))
                with trio.move_on_after(1.6):
                    async for event in session.events():
                        player.on_event(event)
                assert player.toggle_mute() and player.speaker is not None and player.speaker.muted
            nursery.cancel_scope.cancel()
    heard = loud_part(out)
    # every sample once: as many loud samples as the tone has (a lost or doubled 10 ms chunk is
    # 480 off); a stall of the loop may put silence in between, bounded here
    loud_in_tone = int((np.abs(spice_session.tone(1000, 0.6)[:, 0]) > 1000).sum())
    assert int((np.abs(heard[:, 0]) > 1000).sum()) == loud_in_tone
    assert len(heard) - 0.6 * RATE <= 0.25 * RATE
    assert abs(peak_hz(heard, RATE) - 1000) <= 2


async def test_viewer_audio_follows_the_server_volume_and_mute(disk_audio: tuple[Path, Path]) -> None:
    out, _ = disk_audio
    player = ViewerAudio(lambda: 0)  # every chunk is due at once
    played = spice_session.tone(440, 0.25)
    with sdl_audio(), trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(player.run)
            player.on_event(PlaybackStarted(2, RATE, sp.AudioDataMode.RAW, 0))
            player.on_event(AudioVolume(sp.ChannelType.PLAYBACK, (16384, 65535)))
            player.on_event(AudioVolume(sp.ChannelType.RECORD, (0, 0)))  # not for the speaker
            player.on_event(AudioChunk(0, RATE, played))
            await trio.sleep(0.4)
            player.on_event(AudioMuted(sp.ChannelType.PLAYBACK, True))
            player.on_event(AudioChunk(0, RATE, played))
            await trio.sleep(0.4)
            nursery.cancel_scope.cancel()
    assert player.volume == (16384, 65535) and player.server_muted
    pcm = np.frombuffer(out.read_bytes(), "<i2")
    pcm = pcm[: len(pcm) // 2 * 2].reshape(-1, 2).astype(np.int32)
    right = np.flatnonzero(np.abs(pcm[:, 1]) > 1000)
    # the muted quarter second is silent: only the first chunk is loud
    assert abs(len(pcm[right[0] : right[-1] + 1]) - 0.25 * RATE) <= 480
    full = int(np.abs(played[:, 0]).max())
    assert int(np.abs(pcm[:, 1]).max()) == full
    assert abs(int(np.abs(pcm[:, 0]).max()) - full // 4) <= 1  # 16384 / 65535 of it


def test_missing_devices_mean_silence_not_a_crash(
    disk_audio: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDL_DISKAUDIOFILEIN", str(disk_audio[0].parent / "missing" / "in.raw"))
    with sdl_audio():
        assert SdlMicrophone().read(480, RATE, 2) is None  # the record source is simply done

    def no_device(rate: int, channels: int) -> SdlSpeaker:
        raise SDLError("no output device")

    async def play() -> ViewerAudio:
        player = ViewerAudio(lambda: 0, make_speaker=no_device)
        player.on_event(AudioChunk(0, RATE, spice_session.tone(440, 0.01)))
        with trio.move_on_after(0.2):
            await player.run()
        return player

    player = trio.run(play)
    assert player.failed and player.speaker is None
