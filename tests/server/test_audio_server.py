"""Sound both ways between spice_server and spice_session over TCP, raw and Opus.

The server's AudioSource plays a 440 Hz tone given at 44.1 kHz mono (resampled to 48 kHz
stereo); the client's record source is a 700 Hz tone.  Each side's FFT peaks within 2 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest
import spice_proto as sp
import spice_server
import spice_session
import trio
from peers.audio import peak_hz
from spice_server import _server as server_module

RATE = 48000


async def serve(nursery: trio.Nursery, server: spice_server.Server) -> int:
    addr: spice_server.ServerAddress = await nursery.start(
        lambda task_status: server.serve("127.0.0.1", 0, task_status=task_status)
    )  # type: ignore[arg-type]
    assert addr.port is not None
    return addr.port


@pytest.mark.parametrize("mode", [sp.AudioDataMode.RAW, sp.AudioDataMode.OPUS])
async def test_playback_and_record_between_our_server_and_client(
    mode: sp.AudioDataMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == sp.AudioDataMode.OPUS and not spice_session.opus_available():
        pytest.skip("PyAV with Opus is not installed")
    if mode == sp.AudioDataMode.RAW:
        # a client that cannot decode Opus gets raw playback; a server that cannot take it, raw record
        no_opus = (sp.Caps.of(sp.PlaybackCap.VOLUME), sp.Caps.of(sp.RecordCap.VOLUME))
        monkeypatch.setattr(server_module, "audio_caps", lambda: no_opus)
    audio = spice_server.AudioSource(record=True)
    server = spice_server.Server(spice_server.Framebuffer(64, 48), audio=audio)
    played: list[spice_session.events.AudioChunk] = []
    recorded: list[spice_server.RecordedAudio] = []
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, server)
            raw = mode == sp.AudioDataMode.RAW
            async with spice_session.connect(
                f"spice://127.0.0.1:{port}", audio=True, opus=not raw
            ) as session:
                session.record.source = spice_session.ArraySource(spice_session.tone(700, 1.2), RATE)
                while not server.clients or (sp.ChannelType.PLAYBACK, 0) not in server.clients[0].channels:
                    await trio.sleep(0.01)
                audio.play(spice_session.tone(440, 1.2, rate=44100, channels=1), 44100)

                async def listen() -> None:
                    async for event in session.events():
                        if isinstance(event, spice_session.events.AudioChunk):
                            played.append(event)
                            if sum(len(c.pcm) for c in played) >= RATE:
                                return

                async def take_recording() -> None:
                    async for chunk in audio.recordings():
                        recorded.append(chunk)
                        if sum(len(c.pcm) for c in recorded) >= RATE:
                            return

                async with trio.open_nursery() as both:
                    both.start_soon(listen)
                    both.start_soon(take_recording)
                assert session.playback.mode == mode
                assert session.record.recorder.mode == mode
            nursery.cancel_scope.cancel()
    heard = np.concatenate([c.pcm for c in played])
    sent = np.concatenate([c.pcm for c in recorded])
    assert heard.shape[1] == 2 and sent.shape[1] == 2
    assert abs(peak_hz(heard[4800:], RATE) - 440) <= 2
    assert abs(peak_hz(sent[4800:], RATE) - 700) <= 2
    if mode == sp.AudioDataMode.RAW:  # lossless both ways: the client's samples arrive as they were
        expected = spice_session.tone(700, 1.2)
        assert np.array_equal(sent, expected[: len(sent)])
    assert {c.client for c in recorded} == {session.session_id}


def test_source_rejects_what_is_not_pcm() -> None:
    audio = spice_server.AudioSource()
    with pytest.raises(ValueError, match="int16"):
        audio.play(np.zeros((10, 2), np.float32))
    with pytest.raises(ValueError, match="positive"):
        audio.play(np.zeros((10, 2), np.int16), 0)


async def test_malformed_record_data_closes_only_the_record_channel() -> None:
    audio = spice_server.AudioSource(record=True)
    server = spice_server.Server(spice_server.Framebuffer(64, 48), audio=audio)
    record_key = (sp.ChannelType.RECORD, 0)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            port = await serve(nursery, server)
            async with spice_session.connect(f"spice://127.0.0.1:{port}", audio=True) as session:
                while not server.clients or record_key not in server.clients[0].channels:
                    await trio.sleep(0.01)
                channel = session.channel(sp.ChannelType.RECORD)
                await channel.send(sp.RecordClientMode(0, sp.AudioDataMode.RAW))
                await channel.send(sp.RecordClientData(0, b"\x01\x02\x03"))  # not whole stereo frames
                while record_key in server.clients[0].channels:
                    await trio.sleep(0.01)
                assert not server.clients[0].closed  # the client and its other channels stay
                assert (sp.ChannelType.PLAYBACK, 0) in server.clients[0].channels
                shot = await session.screenshot(timeout=5)
                assert (shot.width, shot.height) == (64, 48)
            nursery.cancel_scope.cancel()
    assert audio.recordings().statistics().current_buffer_used == 0
