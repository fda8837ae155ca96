"""Several monitors in one display channel: :class:`Heads` puts sources side by side on one
surface, and the clients get them as the heads of a MONITORS_CONFIG (as QXL with several
heads, or Xspice, sends them).

``Server(Heads([left, right]))``: remote-viewer opens a window per head; a client's
monitors config resizes each head's source (the guest agent maps its monitor i to head i);
a pointer event names the head it happened on (:attr:`PointerEvent.monitor`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import trio
from spice_proto import Head, Rect

from ._draw import PRIMARY_SURFACE
from ._source import MAX_SIDE, FrameSource, SourceError, _check_size

__all__ = ["Heads", "head_at", "heads_of", "monitor_sources"]

#: Heads one display channel may carry (spice-gtk and QXL stop at 16).
MAX_HEADS = 16


class Heads(FrameSource):
    """Sources shown as the heads of one surface, left to right, top-aligned.

    The surface is as wide as all of them and as tall as the tallest; what a source
    draws reaches the clients at its head's place.  A source that changes size lays the
    heads out again (the clients get a new surface with the new heads); past the largest
    surface side (:data:`~._source.MAX_SIDE`) a head shows only the top-left part of its
    source that fits.
    """

    def __init__(self, sources: Sequence[FrameSource]) -> None:
        if not 1 <= len(sources) <= MAX_HEADS:
            raise SourceError(f"Heads takes 1..{MAX_HEADS} sources, got {len(sources)}")
        if len({id(s) for s in sources}) != len(sources):
            raise SourceError("a source can be only one head")
        self.sources: tuple[FrameSource, ...] = tuple(sources)
        self.layout: tuple[Rect, ...] = ()
        _check_size(sum(s.width for s in sources), max(s.height for s in sources))
        width, height = self._lay_out()
        super().__init__(width, height)
        self._compose()
        for index, source in enumerate(self.sources):
            source.subscribe(_HeadListener(self, index))

    def _lay_out(self) -> tuple[int, int]:
        """Place the heads left to right, each clipped to what fits in a surface."""
        boxes: list[Rect] = []
        x = 0
        for source in self.sources:
            width = max(0, min(source.width, MAX_SIDE - x))
            boxes.append(Rect(x, 0, x + width, min(source.height, MAX_SIDE) if width else 0))
            x += width
        self.layout = tuple(boxes)
        return max(x, 1), max(box.bottom for box in boxes)

    def _compose(self) -> None:
        for source, box in zip(self.sources, self.layout, strict=True):
            self._frame[box.top : box.bottom, box.left : box.right] = source.frame[: box.height, : box.width]

    def _head_damaged(self, index: int, box: Rect) -> None:
        head = self.layout[index]
        box = box.intersect(Rect.of_size(head.width, head.height))
        if box.empty:
            return
        self._frame[
            head.top + box.top : head.top + box.bottom, head.left + box.left : head.left + box.right
        ] = self.sources[index].frame[box.top : box.bottom, box.left : box.right]
        self._damage(box.shifted(head.left, head.top))

    def _head_scrolled(self, index: int, box: Rect, dx: int, dy: int) -> None:
        head = self.layout[index]
        if not Rect.of_size(head.width, head.height).contains(box):
            self._head_damaged(index, box)  # partly beyond what the head shows: copy it again
            return
        self._scroll(box.shifted(head.left, head.top), dx, dy)  # the same move, on our copy

    def _head_resized(self) -> None:
        """A head changed size: a new surface with the heads laid out again (even at the same
        total size: the heads moved)."""
        width, height = self._lay_out()
        self._frame = np.zeros((height, width, 4), np.uint8)
        self._compose()
        self.serial += 1
        for listener in list(self._listeners):
            listener.resized(width, height)

    async def run(self) -> None:
        """The heads' own :meth:`FrameSource.run` (animated sources), until cancelled."""
        async with trio.open_nursery() as nursery:
            for source in self.sources:
                nursery.start_soon(source.run)


class _HeadListener:
    """What one head's source tells its :class:`Heads`."""

    def __init__(self, heads: Heads, index: int) -> None:
        self.heads, self.index = heads, index

    def damaged(self, box: Rect) -> None:
        self.heads._head_damaged(self.index, box)

    def scrolled(self, box: Rect, dx: int, dy: int) -> None:
        self.heads._head_scrolled(self.index, box, dx, dy)

    def resized(self, width: int, height: int) -> None:
        self.heads._head_resized()


def heads_of(source: FrameSource) -> tuple[Head, ...]:
    """The MONITORS_CONFIG heads of a display channel showing ``source`` (one head unless :class:`Heads`)."""
    if isinstance(source, Heads):
        return tuple(
            Head(i, PRIMARY_SURFACE, box.width, box.height, box.left, box.top, 0)
            for i, box in enumerate(source.layout)
            if not box.empty  # a head with no room left on the surface
        )
    return (Head(0, PRIMARY_SURFACE, source.width, source.height, 0, 0, 0),)


def head_at(source: FrameSource, x: int, y: int) -> int:
    """The head of ``source`` that surface point ``x, y`` is on (0 if none or a single head)."""
    if isinstance(source, Heads):
        for i, box in enumerate(source.layout):
            if box.left <= x < box.right and box.top <= y < box.bottom:
                return i
    return 0


def monitor_sources(displays: Sequence[FrameSource]) -> list[FrameSource]:
    """The sources of the monitors, in the order clients number them: channel by channel, head by head."""
    out: list[FrameSource] = []
    for display in displays:
        out.extend(display.sources if isinstance(display, Heads) else (display,))
    return out
