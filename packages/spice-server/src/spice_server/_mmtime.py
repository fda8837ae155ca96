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

While sound plays, its PLAYBACK_START/DATA times drive the clients' clocks and none is sent.
"""

from __future__ import annotations

from collections.abc import Callable

from spice_proto import MainMultiMediaTime

from ._video import MM_TIME_DELTA, media_time

__all__ = ["MAX_LATENCY", "MediaTimeControl"]

#: The most latency streams may ask of a client's media clock (ms; libspice-server's MJPEG cap).
MAX_LATENCY = 5000


def _nothing() -> None:
    pass


class MediaTimeControl:
    """One client's media clock: when MAIN_MULTI_MEDIA_TIME is due and what it says.

    ``wake`` is called when a message becomes due (the main channel's sender then
    :meth:`take` s it); ``clock`` is the server's media time.
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
        self._due = False

    def client_time(self) -> int:
        """What the client's media clock should read now."""
        return (self._clock() - self.latency) & 0xFFFFFFFF

    def playback_started(self) -> None:
        """Sound plays: its timeline drives the client's clock."""
        self.enabled = False

    def playback_stopped(self) -> None:
        """Sound stopped: the server's clock again, with the default latency."""
        self.enabled = True
        self.latency = MM_TIME_DELTA
        self._push()

    def stream_report(self, last_frame_delay: int) -> None:
        """A STREAM_REPORT's ``last_frame_delay`` (ms the last frame came before its time)."""
        transit = self.latency - last_frame_delay
        needed = min(MAX_LATENCY, 2 * transit)
        if self.enabled and needed > self.latency:
            self.latency = needed
            self._push()

    def _push(self) -> None:
        self._due = True
        self._wake()

    def take(self) -> MainMultiMediaTime | None:
        """The MAIN_MULTI_MEDIA_TIME to send now, if one is due."""
        if not self._due:
            return None
        self._due = False
        self.sent += 1
        return MainMultiMediaTime(self.client_time())
