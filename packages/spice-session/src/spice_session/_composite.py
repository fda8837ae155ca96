"""DRAW_COMPOSITE: Render-style compositing (pixman operators) of a source, optional mask, and the surface."""

from __future__ import annotations

from spice_proto import DisplayDrawComposite, Rect

from ._errors import DisplayError
from ._images import ImageDecoder
from ._surface import Surface

__all__ = ["draw_composite"]


def draw_composite(surface: Surface, msg: DisplayDrawComposite, decoder: ImageDecoder) -> Rect | None:
    """Composite ``msg``'s source (through its mask) onto ``surface``."""
    raise DisplayError("DRAW_COMPOSITE is not supported yet")
