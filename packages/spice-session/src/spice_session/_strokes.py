"""DRAW_STROKE: thin lines along a path, painted with a brush."""

from __future__ import annotations

from spice_proto import DisplayDrawStroke, Rect

from ._errors import DisplayError
from ._images import ImageDecoder
from ._surface import Surface

__all__ = ["draw_stroke"]


def draw_stroke(surface: Surface, msg: DisplayDrawStroke, decoder: ImageDecoder) -> Rect | None:
    """Draw ``msg``'s path on ``surface``."""
    raise DisplayError("DRAW_STROKE is not supported yet")
