"""DRAW_TEXT: glyph rasters (A1, A4, A8) painted with the fore brush over an optional background."""

from __future__ import annotations

from spice_proto import DisplayDrawText, Rect

from ._errors import DisplayError
from ._images import ImageDecoder
from ._surface import Surface

__all__ = ["draw_text"]


def draw_text(surface: Surface, msg: DisplayDrawText, decoder: ImageDecoder) -> Rect | None:
    """Draw ``msg``'s glyphs on ``surface``."""
    raise DisplayError("DRAW_TEXT is not supported yet")
