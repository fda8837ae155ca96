"""Client audio, sans-I/O: playback decoding and jitter buffer, record encoding and sources."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import trio
from peers.audio import peak_hz
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
from spice_session import (
    ArraySource,
    AudioError,
    GeneratorSource,
    Playback,
    Record,
    WavSource,
    opus_available,
    tone,
)
from spice_session._presenter import MediaPresenter
from spice_session.events import (
    AudioChunk,
    AudioMuted,
    AudioProblem,
    AudioVolume,
    PlaybackLatencyChanged,
    PlaybackStarted,
    PlaybackStopped,
    RecordStarted,
)
from spice_session.lowlevel import (
    AudioInput,
    JitterBuffer,
    OpusDecoder,
    OpusEncoder,
    Recorder,
    apply_volume,
    playback_caps,
    record_caps,
    resample,
)

needs_opus = pytest.mark.skipif(not opus_available(), reason="PyAV with Opus is not installed")


def test_raw_playback_gives_pcm_chunks_with_times() -> None:
    pb = Playback()
    assert pb.handle(PlaybackMode(0, AudioDataMode.RAW)) == []
    pcm = tone(440, 0.01)
    events = pb.handle(PlaybackStart(2, AudioFmt.S16, 48000, 1000))
    assert events == [PlaybackStarted(2, 48000, AudioDataMode.RAW, 1000)]
    [chunk] = pb.handle(PlaybackData(1000, pcm.astype("<i2").tobytes()))
    assert isinstance(chunk, AudioChunk)
    assert chunk.time == 1000 and chunk.rate == 48000
    assert np.array_equal(chunk.pcm, pcm) and chunk.duration_ms == pytest.approx(10.0)
    assert pb.handle(PlaybackStop()) == [PlaybackStopped()]


def test_volume_mute_latency_events_and_state() -> None:
    pb = Playback()
    assert pb.handle(PlaybackVolume((100, 200))) == [AudioVolume(ChannelType.PLAYBACK, (100, 200))]
    assert pb.handle(PlaybackMute(True)) == [AudioMuted(ChannelType.PLAYBACK, True)]
    assert pb.handle(PlaybackLatency(120)) == [PlaybackLatencyChanged(120)]
    assert (pb.volume, pb.mute, pb.latency_ms) == ((100, 200), True, 120)


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([PlaybackData(0, b"\0\0\0\0")], "DATA before START"),
        ([PlaybackStart(2, AudioFmt.S16, 48000, 0), PlaybackData(0, b"\0\0\0")], "not whole 2-channel"),
        ([PlaybackStart(2, AudioFmt.INVALID, 48000, 0)], "format INVALID"),
        ([PlaybackStart(2, AudioFmt.S16, 0, 0)], "rate 0 Hz"),
        ([PlaybackStart(9, AudioFmt.S16, 48000, 0)], "9 audio channels"),
        ([PlaybackMode(0, AudioDataMode.CELT_0_5_1)], "CELT_0_5_1 is not supported"),
    ],
)
def test_bad_playback_input_is_an_audio_problem(messages: list[Message], match: str) -> None:
    pb = Playback()
    *setup, last = messages
    for m in setup:
        pb.handle(m)
    with pytest.raises(AudioError, match=match):
        pb.handle(last)
    [problem] = Playback().handle_safely(last) if not setup else _fresh_problem(setup, last)
    assert isinstance(problem, AudioProblem) and problem.channel_type == ChannelType.PLAYBACK


def _fresh_problem(setup: list[Message], last: Message) -> list[object]:
    pb = Playback()
    for m in setup:
        pb.handle(m)
    return list(pb.handle_safely(last))


@needs_opus
def test_opus_playback_decodes_a_tone_at_its_frequency() -> None:
    enc = OpusEncoder(2)
    source = tone(1000, 1.0)
    packets = [enc.encode(source[i : i + 480]) for i in range(0, len(source), 480)]
    pb = Playback()
    pb.handle(PlaybackMode(0, AudioDataMode.OPUS))
    pb.handle(PlaybackStart(2, AudioFmt.S16, 48000, 0))
    chunks = [e for i, p in enumerate(packets) for e in pb.handle(PlaybackData(10 * i, p))]
    pcm = np.concatenate([c.pcm for c in chunks if isinstance(c, AudioChunk)])
    assert pcm.shape == (48000, 2)
    assert abs(peak_hz(pcm[4800:], 48000) - 1000) < 2


@needs_opus
def test_garbage_opus_packet_is_an_audio_error() -> None:
    dec = OpusDecoder(2)
    with pytest.raises(AudioError, match="3 bytes does not decode"):
        dec.decode(b"\xff" * 3)
    with pytest.raises(AudioError, match="2001 bytes"):
        dec.decode(b"\xfc" + b"\xff" * 2000)
    with pytest.raises(AudioError, match="empty"):
        dec.decode(b"")


def test_caps_offer_opus_only_when_it_can_be_decoded() -> None:
    assert (PlaybackCap.OPUS in playback_caps()) == opus_available()
    assert (RecordCap.OPUS in record_caps()) == opus_available()
    assert PlaybackCap.VOLUME in playback_caps() and PlaybackCap.LATENCY in playback_caps()


def _chunk(time: int, ms: int = 10) -> AudioChunk:
    return AudioChunk(time, 48000, np.zeros((48 * ms, 2), np.int16))


def test_jitter_buffer_is_bounded_and_hands_out_due_chunks() -> None:
    jb = JitterBuffer(max_ms=50)
    for t in range(0, 100, 10):
        jb.push(_chunk(t))
    assert len(jb) == 5 and jb.dropped == 5 and jb.buffered_ms == pytest.approx(50)
    assert [c.time for c in jb.due(now=70)] == [50, 60, 70]
    assert [c.time for c in jb.due(now=100, delay=15)] == [80]
    wrapped = JitterBuffer()
    wrapped.push(_chunk(0xFFFFFFF6))  # the u32 media time wraps between these two
    wrapped.push(_chunk(4))
    assert [c.time for c in wrapped.due(now=0)] == [0xFFFFFFF6]
    assert [c.time for c in wrapped.due(now=4)] == [4]


# --------------------------------------------------------------------------- record


def _started(caps: Caps | None = None, rate: int = 48000) -> Recorder:
    rec = Recorder(caps)
    assert rec.handle(RecordStart(2, AudioFmt.S16, rate)) == [RecordStarted(2, rate)]
    return rec


def test_recorder_raw_mode_when_server_lacks_opus() -> None:
    rec = _started()
    assert rec.begin(500) == [RecordClientMode(500, AudioDataMode.RAW), RecordClientStartMark(500)]
    pcm = tone(440, 0.01)
    [data] = rec.packets(pcm, 510)
    assert data == RecordClientData(510, pcm.astype("<i2").tobytes())
    rec.handle(RecordMute(True))
    [muted] = rec.packets(pcm, 520)
    assert isinstance(muted, RecordClientData) and not any(muted.data)
    assert rec.handle(RecordStop()) and not rec.recording


def test_volume_is_a_linear_gain_per_channel() -> None:
    pcm = np.array([[32767, -32768], [1000, -1000]], np.int16)
    assert apply_volume(pcm, ()) is pcm and apply_volume(pcm, (65535, 65535)) is pcm
    half = apply_volume(pcm, (32768, 0))
    assert half.tolist() == [[16384, 0], [500, 0]]
    # one volume for two channels: the second takes the first's
    assert apply_volume(pcm, (16384,)).tolist() == [[8192, -8192], [250, -250]]


def test_recorder_applies_the_server_record_volume() -> None:
    rec = _started()
    rec.begin(0)
    assert rec.handle(RecordVolume((65535, 13107))) == [AudioVolume(ChannelType.RECORD, (65535, 13107))]
    pcm = tone(440, 0.01)
    [data] = rec.packets(pcm, 10)
    assert isinstance(data, RecordClientData)
    sent = np.frombuffer(data.data, "<i2").reshape(-1, 2)
    assert np.array_equal(sent[:, 0], pcm[:, 0])
    assert np.abs(sent[:, 1].astype(np.int32) - pcm[:, 1] // 5).max() <= 1
    assert int(np.abs(sent[:, 1]).max()) > 1000  # a fifth of 0.3 full scale, not silence


@needs_opus
def test_recorder_opus_packets_of_10_ms_round_trip() -> None:
    rec = _started(Caps.of(RecordCap.OPUS))
    assert rec.begin(0)[0] == RecordClientMode(0, AudioDataMode.OPUS)
    source = tone(700, 0.5)
    out: list[Message] = []
    for i in range(0, len(source), 300):  # odd sizes: partial frames wait for the next call
        out += rec.packets(source[i : i + 300], i // 48)
    assert len(out) == len(source) // 480
    assert [m.time for m in out if isinstance(m, RecordClientData)][:3] == [0, 10, 20]
    dec = OpusDecoder(2)
    pcm = np.concatenate([dec.decode(m.data) for m in out if isinstance(m, RecordClientData)])
    assert abs(peak_hz(pcm[2400:], 48000) - 700) < 2


def test_recorder_refuses_what_it_cannot_serve() -> None:
    with pytest.raises(AudioError, match="before the server's START"):
        Recorder().begin(0)
    with pytest.raises(AudioError, match="3 channels"):
        Recorder().handle(RecordStart(3, AudioFmt.S16, 48000))
    [problem] = Recorder().handle_safely(RecordStart(2, AudioFmt.INVALID, 48000))
    assert isinstance(problem, AudioProblem) and problem.channel_type == ChannelType.RECORD
    rec = _started()
    rec.begin(0)
    with pytest.raises(AudioError, match="not \\(frames, 2\\)"):
        rec.packets(np.zeros((10, 1), np.int16), 0)


def _drain(src: AudioInput, frames: int) -> list[np.ndarray]:
    out = []
    while (pcm := src.read(frames, 48000, 2)) is not None:
        out.append(pcm)
    return out


def test_sources_resample_and_remix(tmp_path: Path) -> None:
    mono = tone(500, 1.0, rate=16000, channels=1)
    src = ArraySource(mono, 16000)
    pcm = np.concatenate(_drain(src, 480))
    assert pcm.shape == (48000, 2) and np.array_equal(pcm[:, 0], pcm[:, 1])
    assert abs(peak_hz(pcm, 48000) - 500) < 2
    path = tmp_path / "t.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(mono.tobytes())
    wav = WavSource(path)
    first = wav.read(480, 48000, 2)
    assert first is not None and np.array_equal(first, pcm[:480])
    gen = GeneratorSource((tone(500, 0.1, channels=2)[i : i + 100] for i in range(0, 4800, 100)), 48000)
    sizes = [len(p) for p in _drain(gen, 480)]
    assert sizes == [480] * 10
    assert len(resample(mono, 16000, 44100)) == 44100


def test_bad_sources_are_audio_errors(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="int16"):
        ArraySource(np.zeros((4, 2), np.float32), 48000)  # type: ignore[arg-type]
    (tmp_path / "bad.wav").write_bytes(b"RIFF....nope")
    with pytest.raises(AudioError, match="not a readable WAV"):
        WavSource(tmp_path / "bad.wav")
    with pytest.raises(AudioError, match="positive"):
        resample(np.zeros((4, 1), np.int16), 0, 48000)


class _Sent:
    def __init__(self) -> None:
        self.messages: list[Message | UnknownMessage] = []

    async def send(self, message: Message | UnknownMessage) -> int:
        self.messages.append(message)
        return 0


async def test_record_sends_the_source_in_real_time_while_the_server_records() -> None:
    record = Record(Recorder(), lambda: 7)
    sent = _Sent()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(record.run, sent)
        record.source = ArraySource(tone(440, 0.2), 48000)
        await trio.sleep(0.05)
        assert sent.messages == []  # the server has not started recording
        start = trio.current_time()
        record.handle(RecordStart(2, AudioFmt.S16, 48000))
        while record.source is not None:
            await trio.sleep(0.01)
        elapsed = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert sent.messages[:2] == [RecordClientMode(7, AudioDataMode.RAW), RecordClientStartMark(7)]
    data = [m for m in sent.messages if isinstance(m, RecordClientData)]
    assert sum(len(m.data) for m in data) == 0.2 * 48000 * 4
    assert elapsed >= 0.18  # paced, not sent in one burst


def test_presenter_hands_out_items_at_their_media_time() -> None:
    now = [1000]
    p: MediaPresenter[str] = MediaPresenter(lambda: now[0], delay_ms=20)
    p.push(1010, "frame")
    p.push(1005, "audio")
    p.push(990, "old")  # due at 1010: not late yet
    assert p.due() == [] and p.wait_s() == pytest.approx(0.010)
    now[0] = 1025
    assert p.due() == [(990, "old"), (1005, "audio")]
    now[0] = 1030
    assert p.due() == [(1010, "frame")] and p.wait_s() is None
    p.push(900, "late")
    assert p.late == 1 and p.due() == [(900, "late")]


def test_presenter_orders_across_the_u32_wrap_and_stays_bounded() -> None:
    now = [0xFFFFFF00]
    p: MediaPresenter[int] = MediaPresenter(lambda: now[0], limit=2)
    p.push(0x10, 2)
    p.push(0xFFFFFFF0, 1)
    p.push(0x20, 3)  # over the limit: the first due comes out early
    assert p.due() == [(0xFFFFFFF0, 1)] and p.early == 1
    now[0] = 0x15
    assert p.due() == [(0x10, 2)]


def test_presenter_pop_first_takes_the_earliest_whatever_its_time() -> None:
    now = [0xFFFFFF00]
    p: MediaPresenter[int] = MediaPresenter(lambda: now[0])
    assert p.pop_first() is None
    p.push(0x10, 2)
    p.push(0xFFFFFE00, 1)  # due already
    p.push(0xFFFFFFF0, 3)
    assert p.pop_first() == (0xFFFFFE00, 1) and p.early == 0
    assert p.pop_first() == (0xFFFFFFF0, 3) and p.early == 1  # before 0x10, across the wrap
    assert p.pop_first() == (0x10, 2) and p.early == 2 and len(p) == 0


def test_presenter_takes_the_clock_reading_from_its_caller() -> None:
    """Given ``now``, no method reads the clock, and each answers as it would at that time."""

    def no_clock() -> int:
        raise AssertionError("the clock was read")

    p: MediaPresenter[str] = MediaPresenter(no_clock, delay_ms=20)
    p.push(1010, "frame", 1000)
    p.push(900, "late", 1000)
    assert p.late == 1 and p.wait_s(1000) == 0.0
    assert p.due(1000) == [(900, "late")] and p.wait_s(1000) == pytest.approx(0.030)
    assert p.due(1029) == [] and p.due(1030) == [(1010, "frame")]
    p.push(2000, "early", 1030)
    assert p.pop_first(1030) == (2000, "early") and p.early == 1


def test_jitter_buffer_drain_hands_out_everything_in_order() -> None:
    jb = JitterBuffer()
    for t in (0, 10, 20):
        jb.push(_chunk(t))
    assert [c.time for c in jb.drain()] == [0, 10, 20]
    assert len(jb) == 0 and jb.buffered_ms == 0 and jb.drain() == []
