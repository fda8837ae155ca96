"""Scrolls (sans-I/O): when a scroll of the source can be a COPY_BITS, and where the damage goes.

A scroll of the source (:meth:`Framebuffer.scroll`) becomes COPY_BITS when the client's
copy of the source area is known to be mostly right; the damage not yet drawn moves
with the pixels.  Otherwise the scrolled area is plain damage.
"""

from __future__ import annotations

from collections.abc import Sequence

from spice_proto import Clip, DisplayCopyBits, Point, Rect

from ._draw import PRIMARY_SURFACE

__all__ = ["SCROLL_DIRTY_LIMIT", "Scroll"]

#: A scroll falls back to plain damage when more than this share of its source area is dirty.
SCROLL_DIRTY_LIMIT = 0.5


class Scroll:
    """The pixels of ``box`` moved by ``dx, dy`` (within ``box``; the rest of it is unchanged)."""

    def __init__(self, box: Rect, dx: int, dy: int) -> None:
        self.box = box
        self.dx = dx
        self.dy = dy
        #: Where pixels landed, and where they came from (:attr:`moved` is false if nowhere).
        self.dest = box.intersect(box.shifted(dx, dy))
        self.src = self.dest.shifted(-dx, -dy)

    @property
    def moved(self) -> bool:
        return not self.dest.empty

    def mostly_known(self, unknown: Sequence[Rect]) -> bool:
        """Whether at most :data:`SCROLL_DIRTY_LIMIT` of the source area is in ``unknown``."""
        dirty = sum(b.intersect(self.src).area for b in unknown)
        return dirty <= SCROLL_DIRTY_LIMIT * self.src.area

    def carry(self, unknown: Sequence[Rect]) -> list[Rect]:
        """What is still unknown on the client after the copy: ``unknown`` outside the
        destination, plus the parts inside the source moved along with the pixels."""
        kept = [b for b in unknown if not self.dest.contains(b)]
        moved = []
        for b in unknown:
            part = b.intersect(self.src)
            if not part.empty:
                moved.append(part.shifted(self.dx, self.dy))
        return kept + moved

    def message(self) -> DisplayCopyBits:
        return DisplayCopyBits(PRIMARY_SURFACE, self.dest, Clip(), Point(self.src.left, self.src.top))
