"""VP8/VP9/H.264 stream encoders shared by the clients of one source (sans-I/O).

Such an encoder's frame ``k`` refers to the frames before it, so clients can share one
only while they receive the same frame sequence.  A :class:`VideoGroup` is one encoder
for a (box, codec, bit rate) and the sequence of frames it made; each client stream is
a :class:`VideoMember` with its position in that sequence (the last frame it got).
When a member's stream is due (decided on the event loop):

- at the group's newest frame: it encodes the current picture as the next frame
  (*advance*), once every member has the newest frame or had :data:`GRACE` to take it;
- one frame behind: it gets the newest frame once encoded (*follow*), with its own stream
  id and media time; when damage touched the box since that frame was taken, the stream
  stays pending (its picture may be up to one frame old, the next one catches up);
- further behind (it skipped a frame: flow control, a lower frame-rate cap), or its rate
  drifted more than a quarter from the group's, or its box changed: it leaves the group.

A stream outside a group starts a new group (a fresh encoder: a key frame), joins one at
its newest frame if that is a key frame, or asks the group for a key frame: on its first
frame, or :data:`REJOIN` after it went its own way, it waits (:data:`JOINING`) for the
group's next frame, which is then a key frame (the encoder starts afresh) and its first.
Otherwise it encodes on its own (its own encoder, a key frame first).  So a client only
gets a group's frames from a key frame on, each right after the one before it.

A frame is taken only once the one before it is encoded, and a follower only gets a
finished frame: no job waits for another (a stream waiting for a frame is not due yet:
:meth:`VideoMember.ready`; a frame whose encoder left the group is not waited for).
Everything but the encoding runs on the event loop; encodes run in any thread, one at
a time per group.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from spice_proto import Rect, VideoCodecType

from ._shared import source_listener
from ._source import Frame, FrameSource
from ._video_encode import AvStreamEncoder, bit_rate

__all__ = ["GRACE", "JOINING", "REJOIN", "Take", "VideoGroup", "VideoMember", "VideoShares", "video_shares"]

#: How long (s) a finished frame waits for the members one frame behind before the group
#: moves on without them (they then leave it): two frame intervals at 30 frames a second.
GRACE = 2 / 30
#: A stream on its own encoder may ask a group for a key frame to join it after this long (s)
#: (at most one such key frame a second per stream).
REJOIN = 1.0
#: A member's position while it waits for the group's next frame (a key frame) to join.
JOINING = -1


@dataclass(eq=False)
class _Slot:
    """One frame of a group's sequence."""

    seq: int
    #: The group's damage count when the frame was taken (later damage: a newer picture exists).
    gen: int
    #: A key frame (the encoder starts afresh with it; after encoding: whatever it made).
    key: bool
    #: The member whose job encodes it.
    owner: VideoMember
    done: threading.Event = field(default_factory=threading.Event)
    data: bytes | None = None
    #: When a member first saw it encoded (the stream's clock).
    done_at: float | None = None


@dataclass(frozen=True)
class Take:
    """A stream's next frame: ``run()`` gives its data (``encodes``: it encodes, else it hands a
    finished frame over); ``stale``: the picture may be older than the current frame."""

    run: Callable[[], bytes]
    encodes: bool = True
    stale: bool = False


class VideoGroup:
    """One encoder for ``box`` in ``codec`` at ``quality``'s rate, and the frames it made."""

    def __init__(self, box: Rect, codec: VideoCodecType, fps: float, quality: int) -> None:
        self.box = box
        self.codec = codec
        self.fps = fps
        self.quality = quality
        self.rate = bit_rate(box.width, box.height, fps, quality)
        self.encoder = AvStreamEncoder(codec, fps)
        self.members: list[VideoMember] = []
        #: Frames taken so far; the newest one.
        self.seq = 0
        self.latest: _Slot | None = None
        #: Damage that touched the box so far.
        self.gen = 0
        #: Frames encoded (once each, whatever the number of members).
        self.encodes = 0
        self._lock = threading.Lock()

    def fits(self, box: Rect, codec: VideoCodecType, quality: int) -> bool:
        """Whether a stream of ``box`` in ``codec`` at ``quality`` may use this group's frames."""
        rate = bit_rate(box.width, box.height, self.fps, quality)
        return box == self.box and codec is self.codec and abs(rate - self.rate) * 4 <= self.rate

    def finished(self, slot: _Slot, now: float) -> bool:
        """Whether ``slot`` is encoded (noting when that was first seen)."""
        if not slot.done.is_set():
            return False
        if slot.done_at is None:
            slot.done_at = now
        return True

    def may_advance(self, now: float) -> bool:
        """Whether the next frame may be taken: the newest one is encoded and every member has it,
        or had :data:`GRACE` to take it (those who did not will leave)."""
        latest = self.latest
        if latest is None:
            return True
        if not self.finished(latest, now):
            return latest.owner not in self.members  # its encode will never run
        assert latest.done_at is not None
        caught_up = all(m.pos in (self.seq, JOINING) for m in self.members)
        return caught_up or now - latest.done_at >= GRACE

    def claim(self, owner: VideoMember, frame: Frame, key: bool = False) -> Take:
        """Take the current picture as the next frame (a key frame when asked or when a member
        waits to join); ``owner``'s job encodes it."""
        joining = [m for m in self.members if m.pos == JOINING]
        key = key or bool(joining)
        for m in joining:
            m.pos = self.seq  # they get this frame next
        self.seq += 1
        slot = self.latest = _Slot(self.seq, self.gen, key, owner)
        owner.pos = self.seq
        owner.fresh = False
        box, quality = self.box, self.quality

        def encode() -> bytes:
            try:
                with self._lock:
                    if key:
                        self.encoder.restart()
                    data = self.encoder.encode(frame, box, quality)
                    slot.key = self.encoder.key
                    slot.data = data
                    self.encodes += 1
            finally:
                slot.done.set()
            return data

        return Take(encode)


class VideoMember:
    """One client stream's use of the shared encoders (see the module).  ``now`` is the
    stream's clock (seconds)."""

    def __init__(self, shares: VideoShares, fps: float) -> None:
        self.shares = shares
        self.fps = fps
        self.group: VideoGroup | None = None
        #: The last frame of ``group`` this stream got (:data:`JOINING`: it waits for a key frame).
        self.pos = 0
        #: The stream's own encoder while it is in no group.
        self.solo: AvStreamEncoder | None = None
        #: Nothing sent yet (it may ask a group for a key frame to join it).
        self.fresh = True
        #: When it last went its own way (it may ask for a key frame again :data:`REJOIN` later).
        self.alone_since: float | None = None

    def ready(self, box: Rect, codec: VideoCodecType, quality: int, now: float) -> bool:
        """Whether a frame can be taken now; else it waits for a frame being encoded, for the
        members one frame behind, or (having asked a group to join it) for the group's next frame.
        A stream outside a group may ask one here."""
        g = self.group
        if g is not None and g.latest is not None and g.fits(box, codec, quality):
            if self.pos in (g.seq, JOINING):
                return g.may_advance(now)
            if self.pos == g.seq - 1:
                return g.finished(g.latest, now) or g.latest.owner not in g.members
            return True  # it fell behind: it leaves
        if g is not None:
            return True  # another box or rate: it leaves
        found = self.shares.find(box, codec, quality)
        if found is None or found.latest is None:
            return True
        latest = found.latest
        if not found.finished(latest, now) and latest.owner in found.members:
            if latest.key:
                return False  # join at that key frame once it is encoded
        elif latest.key and latest.data is not None:
            return True  # join there now
        if self._may_ask(now):
            self._join(found, JOINING)
            return found.may_advance(now)
        return True  # on its own

    def take(self, frame: Frame, box: Rect, codec: VideoCodecType, quality: int, now: float) -> Take:
        """The stream's next frame (see the module and :class:`Take`)."""
        g = self.group
        if g is not None:
            behind = self.pos != JOINING and self.pos < g.seq - 1
            if g.latest is None or not g.fits(box, codec, quality) or behind:
                self.leave()  # another box or rate, or it skipped a frame of the group
                g = None
        if g is None:
            g = self.shares.find(box, codec, quality)
            if g is None or g.latest is None:
                g = g or self.shares.start(box, codec, self.fps, quality)
                self._join(g, g.seq)
                return g.claim(self, frame, key=True)
            if g.latest.key and g.finished(g.latest, now) and g.latest.data is not None:
                self._join(g, g.seq - 1)  # from the group's key frame on
            elif self._may_ask(now):
                self._join(g, JOINING)
            else:
                return self._alone(frame, box, codec, quality, now)
        slot = g.latest
        assert slot is not None
        if self.pos in (g.seq, JOINING):
            return g.claim(self, frame)
        if not g.finished(slot, now) or slot.data is None:  # its encoder left, or it failed
            self.leave()
            return self._alone(frame, box, codec, quality, now)
        self.pos = slot.seq
        self.fresh = False
        self.shares.reused += 1
        data = slot.data
        return Take(lambda: data, encodes=False, stale=slot.gen != g.gen)

    def observe(self, now: float) -> None:
        """Note when the group's newest frame was found encoded (its :data:`GRACE` starts)."""
        g = self.group
        if g is not None and g.latest is not None:
            g.finished(g.latest, now)

    def leave(self) -> None:
        """Stop using the group's frames (the stream ended or goes its own way)."""
        if self.group is not None:
            self.shares.drop(self.group, self)
            self.group = None

    def _may_ask(self, now: float) -> bool:
        """Whether it may ask a group for a key frame: on the stream's first frame, or
        :data:`REJOIN` after it went its own way."""
        return self.fresh or (self.alone_since is not None and now - self.alone_since >= REJOIN)

    def _join(self, g: VideoGroup, pos: int) -> None:
        self.group, self.pos, self.solo, self.alone_since = g, pos, None, None
        g.members.append(self)

    def _alone(self, frame: Frame, box: Rect, codec: VideoCodecType, quality: int, now: float) -> Take:
        if self.solo is None or self.solo.codec is not codec:
            self.solo = AvStreamEncoder(codec, self.fps)
        if self.alone_since is None:
            self.alone_since = now
        encoder = self.solo
        self.fresh = False
        self.shares.alone += 1
        return Take(lambda: encoder.encode(frame, box, quality))


class VideoShares:
    """The video groups of one source; it listens to the source's damage."""

    def __init__(self) -> None:
        self.groups: list[VideoGroup] = []
        #: Frames handed over from a group, and frames encoded by a stream on its own.
        self.reused = 0
        self.alone = 0

    def member(self, fps: float) -> VideoMember:
        return VideoMember(self, fps)

    def find(self, box: Rect, codec: VideoCodecType, quality: int) -> VideoGroup | None:
        return next((g for g in self.groups if g.fits(box, codec, quality)), None)

    def start(self, box: Rect, codec: VideoCodecType, fps: float, quality: int) -> VideoGroup:
        group = VideoGroup(box, codec, fps, quality)
        self.groups.append(group)
        return group

    def drop(self, group: VideoGroup, member: VideoMember) -> None:
        if member in group.members:
            group.members.remove(member)
        if not group.members and group in self.groups:
            self.groups.remove(group)

    @property
    def encodes(self) -> int:
        """Frames the live groups encoded."""
        return sum(g.encodes for g in self.groups)

    # --- DamageListener / ScrollListener ------------------------------------------------------

    def damaged(self, box: Rect) -> None:
        for g in self.groups:
            if not g.box.intersect(box).empty:
                g.gen += 1

    def scrolled(self, box: Rect, dx: int, dy: int) -> None:
        self.damaged(box)

    def resized(self, width: int, height: int) -> None:
        for g in self.groups:
            g.gen += 1


_BY_SOURCE: WeakKeyDictionary[FrameSource, VideoShares] = WeakKeyDictionary()


def video_shares(source: FrameSource) -> VideoShares:
    """The video groups of ``source`` (created and subscribed to it on first use)."""
    return source_listener(_BY_SOURCE, source, VideoShares)
