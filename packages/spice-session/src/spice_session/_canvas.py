"""Draw commands onto surfaces: one function per DISPLAY_DRAW_* message, numpy underneath.

Each function takes the target :class:`Surface`, the message and an :class:`ImageDecoder`
and returns the damaged rectangle (``None`` when nothing changed).  Semantics follow
the SPICE canvas: the box is cut by the clip rectangles and the QMask, ROP descriptors
combine source (or brush) with the destination, images are decoded even when nothing is
visible so the caches and the GLZ window stay in step with the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import (
    AlphaFlags,
    BrushType,
    ClipType,
    DisplayCopyBits,
    DisplayDrawAlphaBlend,
    DisplayDrawBlackness,
    DisplayDrawBlend,
    DisplayDrawComposite,
    DisplayDrawCopy,
    DisplayDrawFill,
    DisplayDrawInvers,
    DisplayDrawOpaque,
    DisplayDrawRop3,
    DisplayDrawStroke,
    DisplayDrawText,
    DisplayDrawTransparent,
    DisplayDrawWhiteness,
    ImageScaleMode,
    Message,
    QMask,
    Rect,
    Ropd,
)

from ._canvas_base import (
    apply_qmask,
    brush_color,
    brush_values,
    snapshot_if_same,
    source_values,
    store,
    target,
    touch,
)
from ._composite import draw_composite
from ._errors import DisplayError
from ._images import ImageDecoder
from ._pixels import describe
from ._raster import Region, blend_over, region_for, rop2, rop3
from ._strokes import draw_stroke
from ._surface import Surface
from ._text import draw_text

__all__ = ["DRAWERS", "Drawer", "draw"]

Array = npt.NDArray[Any]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]

_COPY_ONLY = int(Ropd.OP_PUT)
_OP_PUT = Ropd.OP_PUT
#: Rop descriptor bits other than INVERS_DEST (as an int: flag enum arithmetic is slow).
_NOT_INVERS_DEST = ~int(Ropd.INVERS_DEST)
_NO_MASK = QMask()
# enum members as ints: an enum attribute lookup costs ~0.1 us, a flag operator ~1 us, per draw
_RECTS = int(ClipType.RECTS)
_SOLID = int(BrushType.SOLID)
_PATTERN = int(BrushType.PATTERN)


# ------------------------------------------------------------------ commands
def draw_fill(surface: Surface, msg: DisplayDrawFill, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    brush = msg.brush
    if region.is_empty():
        if brush.type == _PATTERN and brush.pattern is not None:
            touch(brush.pattern.image, decoder)
        return None
    desc = int(msg.rop_descriptor)
    if brush.type == _SOLID and region.mask is None and desc & _NOT_INVERS_DEST == _COPY_ONLY:
        # a plain solid fill (the common clear): the colour written into the box as it is
        target(surface, region)[...] = brush_color(surface, brush.color)
        return region.rect
    values = brush_values(surface, region, brush, decoder)
    dest = target(surface, region)
    store(surface, region, rop2(desc, values, dest, Ropd.INVERS_BRUSH, Ropd.INVERS_DEST))
    return region.rect


def _fits_whole(surface: Surface, msg: DisplayDrawCopy) -> bool:
    """The zero-copy conditions of DRAW_COPY (see :meth:`ImageDecoder.decode_into`)."""
    rop = msg.rop_descriptor  # (the flag member itself first: int() of a flag costs more)
    if (rop is not _OP_PUT and int(rop) & _NOT_INVERS_DEST != _COPY_ONLY) or msg.mask.bitmap is not None:
        return False
    box, area, image = msg.box, msg.src_area, msg.src_bitmap
    width, height = image.width, image.height
    if area.left or area.top or area.right != width or area.bottom != height:
        return False
    left, top, right, bottom = box.left, box.top, box.right, box.bottom
    if right - left != width or bottom - top != height:
        return False
    if left < 0 or top < 0 or right > surface.width or bottom > surface.height:
        return False
    clip = msg.clip
    if clip.type == _RECTS:
        if len(clip.rects) != 1:
            return False
        r = clip.rects[0]
        if r.left > left or r.top > top or r.right < right or r.bottom < bottom:
            return False
    return True


def _sourced_region(
    surface: Surface,
    decoder: ImageDecoder,
    msg: DisplayDrawCopy | DisplayDrawBlend | DisplayDrawOpaque | DisplayDrawRop3 | DisplayDrawTransparent,
    mask: QMask | None,
    scale_mode: int,
) -> tuple[Array, Region] | None:
    """The clipped (and masked) destination region of an image draw and the source pixels
    lined up with it.  ``None`` when nothing is drawn; the image is still decoded when it
    feeds a cache or the GLZ window, so those stay in step with the server."""
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if mask is not None:
        apply_qmask(region, mask, msg.box, decoder)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        return None
    pixels = snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    return source_values(surface, region, msg.box, pixels, msg.src_area, scale_mode)


def draw_copy(
    surface: Surface, msg: DisplayDrawCopy | DisplayDrawBlend, decoder: ImageDecoder
) -> Rect | None:
    if (
        isinstance(msg, DisplayDrawCopy)
        and _fits_whole(surface, msg)
        and decoder.decode_into(msg.src_bitmap, surface, msg.box.left, msg.box.top)
    ):
        return msg.box
    got = _sourced_region(surface, decoder, msg, msg.mask, msg.scale_mode)
    if got is None:
        return None
    src, region = got
    desc = int(msg.rop_descriptor)
    if desc & _NOT_INVERS_DEST == _COPY_ONLY:
        store(surface, region, src)
    else:
        dest = target(surface, region)
        store(surface, region, rop2(desc, src, dest, Ropd.INVERS_SRC, Ropd.INVERS_DEST))
    return region.rect


def draw_opaque(surface: Surface, msg: DisplayDrawOpaque, decoder: ImageDecoder) -> Rect | None:
    got = _sourced_region(surface, decoder, msg, msg.mask, msg.scale_mode)
    if got is None:
        return None
    src, region = got
    brush = brush_values(surface, region, msg.brush, decoder)
    # the image is the destination of the brush: INVERS_SRC inverts it, INVERS_BRUSH the brush
    store(surface, region, rop2(msg.rop_descriptor, brush, src, Ropd.INVERS_BRUSH, Ropd.INVERS_SRC))
    return region.rect


def _fill_constant(surface: Surface, region: Region, value: int | None) -> None:
    dest = target(surface, region)
    if value is None:
        store(surface, region, np.bitwise_not(dest))
    else:
        store(surface, region, np.array(value).astype(dest.dtype))


def draw_blackness(surface: Surface, msg: DisplayDrawBlackness, decoder: ImageDecoder) -> Rect | None:
    return _simple(surface, msg, decoder, 0)


def draw_whiteness(surface: Surface, msg: DisplayDrawWhiteness, decoder: ImageDecoder) -> Rect | None:
    return _simple(surface, msg, decoder, 0xFFFFFFFF if surface.words is not None else 0xFF)


def draw_invers(surface: Surface, msg: DisplayDrawInvers, decoder: ImageDecoder) -> Rect | None:
    return _simple(surface, msg, decoder, None)


def _simple(
    surface: Surface,
    msg: DisplayDrawBlackness | DisplayDrawWhiteness | DisplayDrawInvers,
    decoder: ImageDecoder,
    value: int | None,
) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    if region.is_empty():
        return None
    _fill_constant(surface, region, value)
    return region.rect


def draw_rop3(surface: Surface, msg: DisplayDrawRop3, decoder: ImageDecoder) -> Rect | None:
    got = _sourced_region(surface, decoder, msg, msg.mask, msg.scale_mode)
    if got is None:
        return None
    src, region = got
    brush = brush_values(surface, region, msg.brush, decoder)
    dest = target(surface, region)
    store(surface, region, rop3(msg.rop3, src, brush, dest))
    return region.rect


def draw_transparent(surface: Surface, msg: DisplayDrawTransparent, decoder: ImageDecoder) -> Rect | None:
    got = _sourced_region(surface, decoder, msg, None, ImageScaleMode.NEAREST)
    if got is None:
        return None
    src, region = got
    if surface.words is not None:
        key = brush_color(surface, msg.true_color) & 0xFFFFFF
        keep = (np.asarray(src, np.uint32) & np.uint32(0xFFFFFF)) != np.uint32(key)
    else:
        keep = np.asarray(src) != np.uint8(msg.true_color & 0xFF)
    region.intersect_mask(keep)
    store(surface, region, src)
    return region.rect


def draw_alpha_blend(surface: Surface, msg: DisplayDrawAlphaBlend, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if region.is_empty() or msg.alpha == 0:
        touch(msg.src_bitmap, decoder)
        return None
    pixels = snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    mode = ImageScaleMode.NEAREST
    src_alpha = bool(msg.alpha_flags & AlphaFlags.SRC_SURFACE_HAS_ALPHA)
    if pixels.is_mask or surface.words is None:
        raise DisplayError(f"ALPHA_BLEND of {describe(msg.src_bitmap)} onto an alpha-only surface")
    got = source_values(surface, region, msg.box, pixels, msg.src_area, mode)
    if got is None:
        return None
    src_words, region = got
    src = np.ascontiguousarray(src_words).view(np.uint8).reshape(region.height, region.width, 4)
    dest_words = target(surface, region)
    dest = np.ascontiguousarray(dest_words).view(np.uint8).reshape(region.height, region.width, 4)
    out = blend_over(src, dest, msg.alpha, src_alpha)
    if not msg.alpha_flags & AlphaFlags.DEST_HAS_ALPHA:
        out[..., 3] = dest[..., 3]
    store(surface, region, out.view(np.uint32).reshape(region.height, region.width))
    return region.rect


def draw_copy_bits(surface: Surface, msg: DisplayCopyBits, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    dx, dy = msg.box.left - msg.src_pos.x, msg.box.top - msg.src_pos.y
    region.shrink(dx, dy, dx + surface.width, dy + surface.height)
    if region.is_empty():
        return None
    pixels = surface.words if surface.words is not None else surface.pixels
    src = pixels[region.y0 - dy : region.y1 - dy, region.x0 - dx : region.x1 - dx].copy()
    store(surface, region, src)
    return region.rect


def _stroke(surface: Surface, msg: DisplayDrawStroke, decoder: ImageDecoder) -> Rect | None:
    return draw_stroke(surface, msg, decoder)


def _text(surface: Surface, msg: DisplayDrawText, decoder: ImageDecoder) -> Rect | None:
    return draw_text(surface, msg, decoder)


def _composite(surface: Surface, msg: DisplayDrawComposite, decoder: ImageDecoder) -> Rect | None:
    return draw_composite(surface, msg, decoder)


#: A draw command: the surface, the message, the decoder -> the damaged rectangle or None.
Drawer = Callable[[Surface, Any, ImageDecoder], "Rect | None"]

DRAWERS: dict[type[object], Drawer] = {
    DisplayDrawFill: draw_fill,
    DisplayDrawCopy: draw_copy,
    DisplayDrawBlend: draw_copy,
    DisplayDrawOpaque: draw_opaque,
    DisplayDrawBlackness: draw_blackness,
    DisplayDrawWhiteness: draw_whiteness,
    DisplayDrawInvers: draw_invers,
    DisplayDrawRop3: draw_rop3,
    DisplayDrawTransparent: draw_transparent,
    DisplayDrawAlphaBlend: draw_alpha_blend,
    DisplayCopyBits: draw_copy_bits,
    DisplayDrawStroke: _stroke,
    DisplayDrawText: _text,
    DisplayDrawComposite: _composite,
}


def draw(surface: Surface, message: Message, decoder: ImageDecoder) -> Rect | None:
    """Run one draw command on ``surface``; the damaged rectangle or ``None``."""
    fn = DRAWERS.get(type(message))
    if fn is None:
        raise DisplayError(f"{type(message).__name__} is not a draw command")
    return fn(surface, message, decoder)
