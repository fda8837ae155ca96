"""DRAW_TEXT: glyph rasters (A1, A4, A8) painted with the fore brush over an optional background.

As in the SPICE canvas: the back brush is copied over ``back_area`` (inside the clip),
then the glyphs, merged into one coverage mask (A1 bits OR-ed, A4/A8 levels maxed), are
painted with the fore brush OVER the destination.  Glyph rows are stored bottom-up unless
the string has ``RASTER_TOP_DOWN``; A1 bits are most significant first, A4 high nibble first
(levels kept as ``nibble << 4``, as the reference canvas does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import BrushType, DisplayDrawText, Rect, StringFlags

from ._canvas_base import brush_values, store, target, touch
from ._images import ImageDecoder
from ._raster import Region, mul_un8, region_for
from ._surface import Surface

__all__ = ["coverage", "draw_text"]

U8 = npt.NDArray[np.uint8]


def coverage(msg: DisplayDrawText) -> tuple[int, int, U8] | None:
    """The glyphs' combined coverage (0-255) and its top-left corner; ``None`` without glyphs."""
    flags = msg.string.flags
    glyphs = [g for g in msg.string.glyphs if g.width > 0 and g.height > 0]
    if not glyphs:
        return None
    boxes = [
        (g.render_pos.x + g.glyph_origin.x, g.render_pos.y + g.glyph_origin.y, g.width, g.height)
        for g in glyphs
    ]
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    if (right - left) * (bottom - top) > 1 << 24:
        return None
    out = np.zeros((bottom - top, right - left), np.uint8)
    top_down = bool(flags & StringFlags.RASTER_TOP_DOWN)
    for glyph, (x, y, w, h) in zip(glyphs, boxes, strict=True):
        raw = np.frombuffer(glyph.data, np.uint8)
        if flags & StringFlags.RASTER_A1:
            rows = raw.reshape(h, (w + 7) // 8)
            levels = np.unpackbits(rows, axis=1, bitorder="big")[:, :w] * np.uint8(255)
        elif flags & StringFlags.RASTER_A4:
            rows = raw.reshape(h, (4 * w + 7) // 8)
            both = np.empty((h, rows.shape[1] * 2), np.uint8)
            both[:, 0::2] = rows & 0xF0
            both[:, 1::2] = (rows & 0x0F) << 4
            levels = both[:, :w]
        else:
            levels = raw.reshape(h, w)
        if not top_down:
            levels = levels[::-1]
        spot = out[y - top : y - top + h, x - left : x - left + w]
        np.maximum(spot, levels, out=spot)
    return left, top, out


def draw_text(surface: Surface, msg: DisplayDrawText, decoder: ImageDecoder) -> Rect | None:
    """Draw ``msg``'s background and glyphs on ``surface``."""
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if region.is_empty():
        for brush in (msg.fore_brush, msg.back_brush):
            if brush.type == BrushType.PATTERN and brush.pattern is not None:
                touch(brush.pattern.image, decoder)
        return None
    damaged: list[Rect] = []
    back = msg.back_area
    if back.width > 0 and back.height > 0 and msg.back_brush.type != BrushType.NONE:
        part = Region(region.x0, region.y0, region.x1, region.y1, region.mask)
        part.shrink(back.left, back.top, back.right, back.bottom)
        if not part.is_empty():
            store(surface, part, brush_values(surface, part, msg.back_brush, decoder))
            damaged.append(part.rect)
    cover = coverage(msg)
    if cover is not None and msg.fore_brush.type != BrushType.NONE:
        left, top, mask = cover
        part = Region(region.x0, region.y0, region.x1, region.y1, region.mask)
        part.shrink(left, top, left + mask.shape[1], top + mask.shape[0])
        if not part.is_empty():
            m = mask[part.y0 - top : part.y1 - top, part.x0 - left : part.x1 - left]
            _paint_over(surface, part, brush_values(surface, part, msg.fore_brush, decoder), m)
            damaged.append(part.rect)
    if not damaged:
        return None
    return Rect(
        min(r.left for r in damaged),
        min(r.top for r in damaged),
        max(r.right for r in damaged),
        max(r.bottom for r in damaged),
    )


def _paint_over(surface: Surface, region: Region, brush: npt.NDArray[Any], cover: U8) -> None:
    """``brush`` OVER the destination through the coverage mask (pixman rounding)."""
    region.intersect_mask(cover != 0)
    dest = target(surface, region)
    m = cover.astype(np.uint16)
    if surface.words is None:
        src = np.broadcast_to(brush, dest.shape).astype(np.uint16)
        out = mul_un8(src, m) + mul_un8(dest.astype(np.uint16), 255 - m)
        store(surface, region, np.minimum(out, 255).astype(np.uint8))
        return
    d = np.ascontiguousarray(dest).view(np.uint8).reshape(*dest.shape, 4).astype(np.uint16)
    s = np.ascontiguousarray(np.broadcast_to(brush, dest.shape)).view(np.uint8).reshape(*dest.shape, 4)
    s16 = s.astype(np.uint16)
    s16[..., 3] = 255  # a solid or pattern brush is opaque
    mm = m[..., None]
    out = mul_un8(s16, mm) + mul_un8(d, 255 - mm)
    packed = np.minimum(out, 255).astype(np.uint8)
    store(surface, region, packed.view(np.uint32).reshape(dest.shape))
