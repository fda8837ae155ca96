"""MediaTimeControl without I/O: when a client is sent MAIN_MULTI_MEDIA_TIME and what it says,
as libspice-server does (reds_enable_mm_time / reds_set_client_mm_time_latency)."""

from __future__ import annotations

from spice_proto import MainMultiMediaTime
from spice_server._mmtime import MAX_LATENCY, MediaTimeControl
from spice_server._video import MM_TIME_DELTA


class Clock:
    def __init__(self, now: int = 10_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def control() -> tuple[MediaTimeControl, Clock, list[int]]:
    clock, woken = Clock(), []
    return MediaTimeControl(lambda: woken.append(1), clock), clock, woken


def test_nothing_is_due_at_first_and_the_client_runs_the_default_delta_behind() -> None:
    media, clock, woken = control()
    assert media.take() is None and not woken
    assert media.client_time() == clock.now - MM_TIME_DELTA


def test_playback_stop_sends_the_time_with_the_default_latency_again() -> None:
    media, clock, woken = control()
    media.stream_report(-300)  # frames late: the latency grows ...
    assert media.latency > MM_TIME_DELTA and media.take() is not None
    media.playback_started()
    assert not media.enabled
    media.stream_report(-1000)  # ... but not while sound drives the client's clock
    assert media.take() is None
    clock.now += 5000
    media.playback_stopped()  # ... and goes back to the default when the sound stops
    assert media.enabled and media.latency == MM_TIME_DELTA
    assert media.take() == MainMultiMediaTime(clock.now - MM_TIME_DELTA)
    assert media.take() is None and media.sent == 2 and len(woken) == 2


def test_late_stream_frames_raise_the_latency_to_twice_their_transit() -> None:
    media, clock, _ = control()
    media.stream_report(300)  # 100 ms in transit: 200 needed, 400 given
    assert media.take() is None and media.latency == MM_TIME_DELTA
    media.stream_report(100)  # 300 ms in transit: 600 needed
    assert media.latency == 600
    assert media.take() == MainMultiMediaTime(clock.now - 600)
    media.stream_report(400)  # a better report never lowers it
    assert media.latency == 600 and media.take() is None
    media.stream_report(-10_000)
    assert media.latency == MAX_LATENCY


def test_the_time_wraps_like_a_u32() -> None:
    media, clock, _ = control()
    clock.now = 100
    assert media.client_time() == (100 - MM_TIME_DELTA) & 0xFFFFFFFF
