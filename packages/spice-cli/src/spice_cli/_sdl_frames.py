"""Video stream frames on the media clock, so the picture stays with the sound.

The session draws a stream frame on the surface as it arrives; its :class:`Damage` carries
the frame's ``mm_time``.  :class:`StreamFrames` keeps a copy of the damaged pixels until the
media clock reaches that time (the clock the viewer's sound is played on), then hands it to
the window.  Holding is bounded: a frame stamped more than ``MAX_AHEAD_MS`` ahead is not
held, and past ``MAX_HELD_BYTES`` the oldest frame is shown early.  Frames already late come
out at once; a late frame covered by a later one due at the same moment is dropped unseen.

A frame need not wake the viewer at its exact time: when the viewer is awake anyway (the
next frame of the stream arrived, say), a frame due within ``EARLY_MS`` is shown then, and
a frame nothing else woke the viewer for is waited for until ``LATE_MS`` after its time.
A stream's frames then come out on the wake-ups their arrivals cause (one a frame instead
of two: the arrival, and a timer a few ms later), up to 25 ms early or 15 ms late; sound and
picture stay within what people notice (ITU-R BT.1359: sound 45 ms ahead, 125 ms behind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import spice_session as ss
from spice_proto import Rect
from spice_session.lowlevel import MediaPresenter

__all__ = ["EARLY_MS", "LATE_MS", "MAX_AHEAD_MS", "MAX_HELD_BYTES", "HeldFrame", "StreamFrames"]

#: A frame stamped further ahead of the media clock than this is shown at once (a clock gone wrong).
MAX_AHEAD_MS = 1000
#: Copies held at most; beyond, the oldest is shown early.
MAX_HELD_BYTES = 128 << 20
#: A frame may be shown this much before its time, on a wake-up the viewer has anyway.
EARLY_MS = 25
#: A frame no other wake-up showed is waited for until this much after its time.
LATE_MS = 15


@dataclass(frozen=True, eq=False)
class HeldFrame:
    """The pixels (height, width, 4) of ``rect`` of the primary surface as one stream frame left
    them, to be shown at media time ``mm_time``."""

    mm_time: int
    rect: Rect
    pixels: npt.NDArray[np.uint8]


class StreamFrames:
    """Stream frames of the primary surface held until their media time (``now`` reads the clock)."""

    def __init__(
        self,
        now: Callable[[], int],
        max_held_bytes: int = MAX_HELD_BYTES,
        *,
        early_ms: int = EARLY_MS,
        late_ms: int = LATE_MS,
    ) -> None:
        self._now = now
        self.presenter: MediaPresenter[HeldFrame] = MediaPresenter(now)
        self.max_held_bytes = max_held_bytes
        self.early_ms = early_ms
        self.late_ms = late_ms
        self.held_bytes = 0
        #: Late frames covered by a later one before they could be shown.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.presenter)

    def hold(
        self, mm_time: int, surface: ss.Surface, rect: Rect, frame: npt.NDArray[np.uint8] | None = None
    ) -> bool:
        """Keep a copy of ``rect`` of ``surface`` until ``mm_time``; ``False`` (draw it now) when
        it is stamped too far ahead or the surface has no BGRX pixels.  ``frame``: what ``rect``
        holds, read-only (a stream Damage's ``pixels``), kept as it is instead of a copy."""
        now = self._now()
        ahead = (mm_time - now) & 0xFFFFFFFF
        if surface.words is None or (ahead < 0x80000000 and ahead > MAX_AHEAD_MS):
            return False
        left, top = max(rect.left, 0), max(rect.top, 0)
        right, bottom = min(rect.right, surface.width), min(rect.bottom, surface.height)
        if right <= left or bottom <= top:
            return True
        whole = (left, top, right, bottom) == (rect.left, rect.top, rect.right, rect.bottom)
        if frame is not None and whole and frame.shape == (bottom - top, right - left, 4):
            copy = frame  # (not read from the surface: a frame the session kept back stays so)
        else:
            copy = surface.pixels[top:bottom, left:right].copy()
        inside = rect if whole else Rect(left, top, right, bottom)
        self.presenter.push(mm_time, HeldFrame(mm_time, inside, copy), now)
        self.held_bytes += copy.nbytes
        return True

    def arrive(
        self, mm_time: int, rect: Rect, frame: npt.NDArray[np.uint8], may_show: bool
    ) -> tuple[list[HeldFrame], float | None] | None:
        """Hold a whole stream frame (``frame``: what ``rect`` of the primary surface holds,
        read-only, ``rect`` inside the surface) and, when ``may_show``, take the frames
        :meth:`due` hands out now, in one look at the clock.  Returns (those frames, what
        :meth:`wait_s` says after), or ``None`` (nothing held: draw it now) for a frame
        stamped too far ahead.  :meth:`hold` and :meth:`due` in one call, for a viewer that
        shows such frames as they arrive."""
        now = self._now()
        ahead = (mm_time - now) & 0xFFFFFFFF
        if ahead < 0x80000000 and ahead > MAX_AHEAD_MS:
            return None
        presenter = self.presenter
        presenter.push(mm_time, HeldFrame(mm_time, rect, frame), now)
        self.held_bytes += frame.nbytes
        wait = presenter.wait_s(now)
        shown: list[HeldFrame] = []
        if may_show and wait is not None and wait * 1000 <= self.early_ms:  # showable
            # none due yet: due() would hand out the first alone (unless too much is held)
            shown = self._first(now) if wait and self.held_bytes <= self.max_held_bytes else self._due(now)
            wait = presenter.wait_s(now)
        if wait is None:
            return shown, None
        return shown, wait if not wait else wait + self.late_ms / 1000

    def due(self, now: int | None = None) -> list[HeldFrame]:
        """The frames to show now, oldest first (the oldest early when too much is held).

        When none is due, the first frame is handed out if it is due within ``EARLY_MS``
        (:meth:`showable`): only one, so that no frame is dropped for being covered by one
        that was not due yet.  ``now``: the media clock, when the caller has just read it."""
        return self._due(self._now() if now is None else now)  # (read once: every look is at it)

    def _due(self, now: int) -> list[HeldFrame]:
        presenter = self.presenter
        out = []
        for _, frame in presenter.due(now):
            out.append(frame)
            self.held_bytes -= frame.pixels.nbytes
        if not out:
            timing = self.timing(now)
            if timing is not None and timing[0]:  # showable
                out = self._first(now)
        while self.held_bytes > self.max_held_bytes and len(presenter):
            out += self._first(now)
        if len(out) < 2:
            return out  # (one a wake-up, mostly: nothing can cover it)
        shown = [f for i, f in enumerate(out) if not any(_covers(g.rect, f.rect) for g in out[i + 1 :])]
        self.dropped += len(out) - len(shown)
        return shown

    def _first(self, now: int | None = None) -> list[HeldFrame]:
        """The frame due first, taken out whatever its time."""
        first = self.presenter.pop_first(now)
        if first is None:
            return []
        frame = first[1]
        self.held_bytes -= frame.pixels.nbytes
        return [frame]

    def showable(self) -> bool:
        """Whether a frame is due now or within ``EARLY_MS`` (:meth:`due` would hand it out)."""
        timing = self.timing()
        return timing is not None and timing[0]

    def wait_s(self) -> float | None:
        """Seconds until the viewer must wake for the next frame: 0 when one is due, else its
        time plus ``LATE_MS`` from now; ``None`` when none is held."""
        timing = self.timing()
        return None if timing is None else timing[1]

    def timing(self, now: int | None = None) -> tuple[bool, float] | None:
        """:meth:`showable` and :meth:`wait_s` at once (one look at the clock, or at ``now``);
        ``None`` when no frame is held."""
        wait = self.presenter.wait_s(now)
        if wait is None:
            return None
        return wait * 1000 <= self.early_ms, wait if not wait else wait + self.late_ms / 1000

    def clear(self) -> None:
        """Forget what is held (the surface it was cut from is gone)."""
        self.presenter = MediaPresenter(self._now)
        self.held_bytes = 0


def _covers(outer: Rect, inner: Rect) -> bool:
    return (
        outer.left <= inner.left
        and outer.top <= inner.top
        and outer.right >= inner.right
        and outer.bottom >= inner.bottom
    )
