"""MediaTimeControl without I/O: when a client is sent MAIN_MULTI_MEDIA_TIME or PLAYBACK_LATENCY
and what it says, as libspice-server does (reds_enable_mm_time / reds_set_client_mm_time_latency
/ snd_set_playback_latency)."""

from __future__ import annotations

from spice_proto import MainMultiMediaTime, PlaybackLatency
from spice_server._mmtime import MAX_LATENCY, SETTLE, MediaTimeControl
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


def playing(latency_cap: bool = True) -> tuple[MediaTimeControl, Clock, list[int], list[int]]:
    """A control whose playback channel is attached, its clock, and the main / playback wake-ups."""
    woken: list[int] = []
    clock = Clock()
    media = MediaTimeControl(lambda: woken.append(1), clock)
    playback_woken: list[int] = []
    media.attach_playback(latency_cap, lambda: playback_woken.append(1))
    return media, clock, woken, playback_woken


def test_late_frames_while_sound_plays_ask_the_playback_channel_for_more_latency() -> None:
    media, clock, woken, playback_woken = playing()
    media.playback_started()
    assert media.take_playback() is None and not playback_woken  # the default latency: nothing
    media.stream_report(150)  # in time (the client's audio delay is unknown): nothing
    media.stream_report(0)
    assert media.take_playback() is None and not playback_woken
    media.stream_report(-100)  # 100 ms late: twice that more
    assert playback_woken and media.take_playback() == PlaybackLatency(MM_TIME_DELTA + 200)
    assert media.take_playback() is None
    clock.now += SETTLE - 1
    media.stream_report(-50)  # the client has not had the time to follow yet
    assert media.take_playback() is None and media.latency == MM_TIME_DELTA + 200
    clock.now += 1
    media.stream_report(-50)  # it followed (50 ms less late: a quarter of the 200 asked)
    assert media.take_playback() == PlaybackLatency(MM_TIME_DELTA + 300)
    clock.now += SETTLE
    media.stream_report(-10)  # followed again, still late
    assert media.take_playback() == PlaybackLatency(MM_TIME_DELTA + 320)
    clock.now += SETTLE
    media.stream_report(-10_000)  # the path got slower: a quarter of the 20 more is 5 ms
    assert media.take_playback() is None and media.unfollowed
    assert media.take() is None and not woken  # no MAIN_MULTI_MEDIA_TIME meanwhile
    assert media.playback_sent == 3 and media.sent == 0


def test_a_client_that_does_not_follow_is_asked_no_more_until_the_sound_stops() -> None:
    media, clock, _, _ = playing()
    media.playback_started()
    media.stream_report(-400)
    assert media.take_playback() == PlaybackLatency(MM_TIME_DELTA + 800)
    clock.now += SETTLE
    media.stream_report(-300)  # 100 ms better: less than a quarter of the 800 asked
    assert media.take_playback() is None and media.unfollowed
    clock.now += SETTLE
    media.stream_report(-300)
    assert media.take_playback() is None and media.latency == MM_TIME_DELTA + 800
    media.playback_stopped()
    media.playback_started()  # a new sound: asking again
    assert not media.unfollowed
    media.stream_report(-3000)
    assert media.take_playback() == PlaybackLatency(MAX_LATENCY)
    clock.now += SETTLE
    media.stream_report(-1)  # at the cap: nothing more
    assert media.take_playback() is None


def test_a_latency_the_streams_needed_before_the_sound_is_asked_when_it_starts() -> None:
    media, _, _, _ = playing()
    media.stream_report(100)  # no sound: MAIN_MULTI_MEDIA_TIME with 600
    assert media.take() is not None and media.take_playback() is None
    media.playback_started()
    assert media.take_playback() == PlaybackLatency(600)
    media.stream_report(-10)  # settling after that ask
    assert media.take_playback() is None
    media.playback_stopped()  # the default latency again, on the main channel
    assert media.latency == MM_TIME_DELTA and media.take() is not None
    media.playback_started()
    assert media.take_playback() is None
    media.stream_report(-10)  # a new sound: no settling left over
    assert media.take_playback() == PlaybackLatency(MM_TIME_DELTA + 20)


def test_playback_stop_drops_a_latency_not_yet_sent() -> None:
    media, _, _, _ = playing()
    media.playback_started()
    media.stream_report(-100)
    media.playback_stopped()
    assert media.take_playback() is None and media.take() is not None


def test_clients_without_the_latency_cap_are_not_sent_playback_latency() -> None:
    media, _, woken, playback_woken = playing(latency_cap=False)
    media.playback_started()
    media.stream_report(-1000)
    assert media.take_playback() is None and not playback_woken
    assert media.take() is None and not woken


def test_a_detached_playback_channel_is_not_woken() -> None:
    media, _, _, playback_woken = playing()
    media.playback_started()
    media.detach_playback()
    media.stream_report(-1000)
    assert media.take_playback() is None and not playback_woken
