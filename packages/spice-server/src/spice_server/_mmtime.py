"""The media clock a client is given (sans-I/O), kept the way libspice-server keeps it.

Stream frames and sound carry the server's multimedia time (:func:`~._video.media_time`,
u32 ms).  A client plays each when its own copy of that clock reaches the stamp, and its
copy runs ``latency`` ms behind ours: that is how long a frame has to arrive and be decoded.
MAIN_INIT sets the copy to now - :data:`~._video.MM_TIME_DELTA`.  While no sound plays the
server owns the client's clock (libspice-server's "mm-time enabled") and sends
MAIN_MULTI_MEDIA_TIME = now - ``latency``:

- when playback stops (or the playback channel goes while playing), the latency back to
  :data:`~._video.MM_TIME_DELTA`;
- when a stream's reports show its frames need more latency than the client's clock gives:
  at least twice what a frame takes to arrive (capped at :data:`MAX_LATENCY`); the latency
  only grows until playback resets it.

While sound plays, its PLAYBACK_START/DATA times drive the client's clock (minus the sound
it buffers) and no MAIN_MULTI_MEDIA_TIME is sent.  Then streams that need more latency ask
the playback channel for it with PLAYBACK_LATENCY (clients with ``PlaybackCap.LATENCY``), as
libspice-server's snd_set_playback_latency does:

- when the sound starts, if the streams already needed more than the default;
- when a report shows a frame came ``late`` ms after its time: the latency asked so far plus
  twice that, at most once per :data:`SETTLE` ms (the time a client takes to follow), and
  again only if the client followed the previous ask (its frames came at least a quarter of
  the raise less late): spice-gtk's clock moves only partly (asked 1344 ms, it ran ~110 ms
  further behind), and asking more of it would only climb to :data:`MAX_LATENCY`.  How far
  the client's clock runs behind ours is its audio delay, which the server does not know
  (spice-gtk keeps less than 400 ms), so frames that came in time ask nothing: reading their
  spare time against an assumed latency would raise it on every report.
"""

from __future__ import annotations

from collections.abc import Callable

from spice_proto import MainMultiMediaTime, PlaybackLatency

from ._video import MM_TIME_DELTA, media_time

__all__ = ["MAX_LATENCY", "SETTLE", "MediaTimeControl"]

#: The most latency streams may ask of a client's media clock (ms; libspice-server's MJPEG cap).
MAX_LATENCY = 5000
#: After asking a playing client for more latency, the time (ms) reports get to show it.
SETTLE = 1000


def _nothing() -> None:
    pass


class MediaTimeControl:
    """One client's media clock: when MAIN_MULTI_MEDIA_TIME or PLAYBACK_LATENCY is due and
    what it says.

    ``wake`` is called when a MAIN_MULTI_MEDIA_TIME becomes due (the main channel's sender
    then :meth:`take` s it); ``clock`` is the server's media time.  The playback channel
    registers with :meth:`attach_playback` and :meth:`take_playback` s its messages.
    """

    def __init__(self, wake: Callable[[], None] = _nothing, clock: Callable[[], int] = media_time) -> None:
        self._wake = wake
        self._clock = clock
        #: The server owns the client's clock (no sound playing).
        self.enabled = True
        #: How far (ms) the client's clock runs behind ours.
        self.latency = MM_TIME_DELTA
        #: MAIN_MULTI_MEDIA_TIME messages taken for sending.
        self.sent = 0
        #: PLAYBACK_LATENCY messages taken for sending.
        self.playback_sent = 0
        self._due = False
        self._playback_due = False
        #: The last ask while sound plays: (when, raise, the late report's delay or None).
        self._ask: tuple[int, int, int | None] | None = None
        #: The playing client did not follow an ask: none more until the sound stops.
        self.unfollowed = False
        self._latency_cap = False
        self._playback_wake = _nothing

    def attach_playback(self, latency_cap: bool, wake: Callable[[], None]) -> None:
        """The client's playback channel: ``latency_cap`` if it has ``PlaybackCap.LATENCY``;
        ``wake`` is called when a PLAYBACK_LATENCY becomes due."""
        self._latency_cap, self._playback_wake = latency_cap, wake

    def detach_playback(self) -> None:
        """The playback channel is gone (nothing more is due on it)."""
        self._latency_cap, self._playback_wake, self._playback_due = False, _nothing, False

    def client_time(self) -> int:
        """What the client's media clock should read now."""
        return (self._clock() - self.latency) & 0xFFFFFFFF

    def playback_started(self) -> None:
        """Sound plays: its timeline drives the client's clock (kept ``latency`` behind if
        the streams already need more than the default)."""
        self.enabled = False
        self._ask, self.unfollowed = None, False
        if self.latency > MM_TIME_DELTA:
            self._ask = (self._clock(), self.latency - MM_TIME_DELTA, None)
            self._push_playback()

    def playback_stopped(self) -> None:
        """Sound stopped: the server's clock again, with the default latency."""
        self.enabled = True
        self.latency = MM_TIME_DELTA
        self._playback_due = False
        self._push()

    def stream_report(self, last_frame_delay: int) -> None:
        """A STREAM_REPORT's ``last_frame_delay`` (ms the last frame came before its time)."""
        if self.enabled:
            transit = self.latency - last_frame_delay
            needed = min(MAX_LATENCY, 2 * transit)
            if needed > self.latency:
                self.latency = needed
                self._push()
            return
        if last_frame_delay >= 0 or self.unfollowed or self.latency >= MAX_LATENCY:
            return
        now = self._clock()
        if self._ask is not None:
            when, raised, delay = self._ask
            if (now - when) & 0xFFFFFFFF < SETTLE:
                return
            if delay is not None and 4 * (last_frame_delay - delay) < raised:
                self.unfollowed = True
                return
        latency = min(MAX_LATENCY, self.latency - 2 * last_frame_delay)
        self._ask = (now, latency - self.latency, last_frame_delay)
        self.latency = latency
        self._push_playback()

    def _push(self) -> None:
        self._due = True
        self._wake()

    def _push_playback(self) -> None:
        if self._latency_cap:
            self._playback_due = True
            self._playback_wake()

    def take(self) -> MainMultiMediaTime | None:
        """The MAIN_MULTI_MEDIA_TIME to send now, if one is due."""
        if not self._due:
            return None
        self._due = False
        self.sent += 1
        return MainMultiMediaTime(self.client_time())

    def take_playback(self) -> PlaybackLatency | None:
        """The PLAYBACK_LATENCY to send now, if one is due."""
        if not self._playback_due:
            return None
        self._playback_due = False
        self.playback_sent += 1
        return PlaybackLatency(self.latency)
