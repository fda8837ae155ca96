"""A bounded dirty region: damage rectangles coalesced into at most a few boxes.

Each client keeps one.  Damage is added as it happens; the display sender takes the
whole region when the client can accept more.  The region never grows without
limit: overlapping or adjacent boxes are merged when that wastes little area, and
past ``max_boxes`` the two boxes whose union wastes least are merged.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Box", "DirtyRegion"]


@dataclass(frozen=True)
class Box:
    """An axis-aligned box, ``right``/``bottom`` exclusive (same convention as ``spice_proto.Rect``)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def empty(self) -> bool:
        return self.right <= self.left or self.bottom <= self.top

    def union(self, other: Box) -> Box:
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def intersect(self, other: Box) -> Box:
        return Box(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )

    def contains(self, other: Box) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and self.right >= other.right
            and self.bottom >= other.bottom
        )

    def shifted(self, dx: int, dy: int) -> Box:
        """This box moved by ``dx, dy``."""
        return Box(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)

    @classmethod
    def of_size(cls, width: int, height: int) -> Box:
        return cls(0, 0, width, height)


class DirtyRegion:
    """The area a client has not seen yet, as at most ``max_boxes`` boxes inside ``bounds``."""

    def __init__(self, width: int, height: int, max_boxes: int = 16) -> None:
        if max_boxes < 1:
            raise ValueError("max_boxes must be at least 1")
        self.bounds = Box.of_size(width, height)
        self.max_boxes = max_boxes
        self._boxes: list[Box] = []

    def __bool__(self) -> bool:
        return bool(self._boxes)

    @property
    def boxes(self) -> tuple[Box, ...]:
        return tuple(self._boxes)

    @property
    def area(self) -> int:
        """Sum of the boxes' areas (boxes may overlap a little after merging)."""
        return sum(b.area for b in self._boxes)

    def resize(self, width: int, height: int) -> None:
        """New bounds; everything is dirty again."""
        self.bounds = Box.of_size(width, height)
        self._boxes = []
        self.add(self.bounds)

    def add(self, box: Box) -> None:
        """Mark ``box`` (clipped to the bounds) dirty."""
        box = box.intersect(self.bounds)
        if box.empty:
            return
        merged = True
        while merged:
            merged = False
            for i, have in enumerate(self._boxes):
                if have.contains(box):
                    return
                union = have.union(box)
                # Merge when the union costs no more than painting both separately.
                if union.area <= have.area + box.area:
                    del self._boxes[i]
                    box = union
                    merged = True
                    break
        self._boxes.append(box)
        while len(self._boxes) > self.max_boxes:
            self._merge_cheapest_pair()

    def _merge_cheapest_pair(self) -> None:
        boxes = self._boxes
        best: tuple[int, int, int] | None = None
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                waste = boxes[i].union(boxes[j]).area - boxes[i].area - boxes[j].area
                if best is None or waste < best[0]:
                    best = (waste, i, j)
        assert best is not None
        _, i, j = best
        union = boxes[i].union(boxes[j])
        del boxes[j], boxes[i]
        self._boxes = [b for b in boxes if not union.contains(b)]
        self._boxes.append(union)

    def clear(self) -> None:
        """Forget every box (nothing is dirty)."""
        self._boxes = []

    def take(self) -> list[Box]:
        """The dirty boxes, top to bottom; the region is clean afterwards."""
        out = sorted(self._boxes, key=lambda b: (b.top, b.left))
        self._boxes = []
        return out
