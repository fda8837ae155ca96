"""MediaClock without I/O: MAIN_INIT / MAIN_MULTI_MEDIA_TIME set it; while sound plays a
PLAYBACK_LATENCY sets it that far behind the last sound stamp (as spice-gtk's clock follows the
sound less its delay), and a later START keeps the latency asked."""

from __future__ import annotations

from spice_proto import (
    AudioFmt,
    MainMultiMediaTime,
    PlaybackData,
    PlaybackLatency,
    PlaybackStart,
    PlaybackStop,
)
from spice_session._mediaclock import MediaClock


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def clock() -> tuple[MediaClock, FakeTime]:
    t = FakeTime()
    c = MediaClock(t)
    c.observe(MainMultiMediaTime(50_000))
    return c, t


def test_sound_alone_leaves_the_clock_alone() -> None:
    c, t = clock()
    c.observe(PlaybackStart(2, AudioFmt.S16, 48000, 90_000))
    c.observe(PlaybackData(90_000, b""))
    t.t += 0.5
    assert c.now() == 50_500 and c.latency_ms == 0


def test_playback_latency_puts_the_clock_that_far_behind_the_last_sound_stamp() -> None:
    c, t = clock()
    c.observe(PlaybackStart(2, AudioFmt.S16, 48000, 90_000))
    c.observe(PlaybackData(90_010, b""))
    t.t += 0.02  # 20 ms after that stamp arrived
    c.observe(PlaybackLatency(700))
    assert c.latency_ms == 700
    assert c.now() == 90_010 + 20 - 700
    t.t += 1.0
    assert c.now() == 90_010 + 1020 - 700  # then it runs on
    c.observe(MainMultiMediaTime(123_456))  # the server's time again once the sound stopped
    assert c.now() == 123_456


def test_a_latency_before_any_sound_only_remembers_it_until_the_next_start() -> None:
    c, _ = clock()
    c.observe(PlaybackLatency(600))
    assert c.now() == 50_000 and c.latency_ms == 600
    c.observe(PlaybackStart(2, AudioFmt.S16, 48000, 70_000))
    assert c.now() == 70_000 - 600


def test_after_stop_a_latency_does_not_use_the_old_sound() -> None:
    c, _ = clock()
    c.observe(PlaybackData(90_000, b""))
    c.observe(PlaybackStop())
    c.observe(PlaybackLatency(800))
    assert c.now() == 50_000


def test_the_clock_wraps_like_a_u32() -> None:
    c, _ = clock()
    c.observe(PlaybackData(100, b""))
    c.observe(PlaybackLatency(400))
    assert c.now() == (100 - 400) & 0xFFFFFFFF
