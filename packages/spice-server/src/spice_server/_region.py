"""A bounded dirty region: damage rectangles coalesced into at most a few boxes.

Each client keeps one.  Damage is added as it happens; the display sender takes the
whole region when the client can accept more.  The region never grows without
limit: overlapping or adjacent boxes are merged when that wastes little area, and
past ``max_boxes`` the two boxes whose union wastes least are merged.
"""

from __future__ import annotations

from spice_proto import Rect

__all__ = ["MAX_DRAW_PIXELS", "DirtyRegion", "split_box"]

#: Largest area sent as one DRAW_COPY; bigger boxes go as horizontal bands.
MAX_DRAW_PIXELS = 256 * 1024


def split_box(box: Rect, max_pixels: int = MAX_DRAW_PIXELS) -> list[Rect]:
    """``box`` cut into full-width horizontal bands of at most ``max_pixels`` pixels."""
    rows = max(1, max_pixels // max(1, box.width))
    return [
        Rect(box.left, top, box.right, min(box.bottom, top + rows))
        for top in range(box.top, box.bottom, rows)
    ]


class DirtyRegion:
    """The area a client has not seen yet, as at most ``max_boxes`` boxes inside ``bounds``."""

    def __init__(self, width: int, height: int, max_boxes: int = 16) -> None:
        if max_boxes < 1:
            raise ValueError("max_boxes must be at least 1")
        self.bounds = Rect.of_size(width, height)
        self.max_boxes = max_boxes
        self._boxes: list[Rect] = []

    def __bool__(self) -> bool:
        return bool(self._boxes)

    @property
    def boxes(self) -> tuple[Rect, ...]:
        return tuple(self._boxes)

    @property
    def area(self) -> int:
        """Sum of the boxes' areas (boxes may overlap a little after merging)."""
        return sum(b.area for b in self._boxes)

    def resize(self, width: int, height: int) -> None:
        """New bounds; everything is dirty again."""
        self.bounds = Rect.of_size(width, height)
        self._boxes = []
        self.add(self.bounds)

    def add(self, box: Rect) -> None:
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

    def take(self) -> list[Rect]:
        """The dirty boxes, top to bottom; the region is clean afterwards."""
        out = sorted(self._boxes, key=lambda b: (b.top, b.left))
        self._boxes = []
        return out
