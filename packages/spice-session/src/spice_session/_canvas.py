"""Draw commands onto surfaces: one function per DISPLAY_DRAW_* message, numpy underneath.

Each function takes the target :class:`Surface`, the message and an :class:`ImageDecoder`
and returns the damaged rectangle (``None`` when nothing changed).  Semantics follow
the SPICE canvas: the box is cut by the clip rectangles and the QMask, ROP descriptors
combine source (or brush) with the destination, images are decoded even when nothing is
visible so the caches and the GLZ window stay in step with the server.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import (
    AlphaFlags,
    Brush,
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
    ImageFlags,
    ImageScaleMode,
    MaskFlags,
    Message,
    QMask,
    Rect,
    Ropd,
    SurfaceFmt,
)
from spice_proto._display_images import GlzRgbImage, Image, SurfaceImage, ZlibGlzRgbImage

from ._composite import draw_composite
from ._errors import DisplayError
from ._images import ImageDecoder, Pixels, describe
from ._raster import Region, blend_over, region_for, rop2, rop3, scale_image
from ._strokes import draw_stroke
from ._surface import Surface
from ._text import draw_text

__all__ = ["DRAWERS", "draw"]

Array = npt.NDArray[Any]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]

_COPY_ONLY = int(Ropd.OP_PUT)
_NO_MASK = QMask()


# ------------------------------------------------------------------ plumbing
def target(surface: Surface, region: Region) -> Array:
    """The live destination pixels of ``region``: uint32 words or uint8 alpha."""
    if surface.words is not None:
        return surface.words[region.y0 : region.y1, region.x0 : region.x1]
    return surface.pixels[region.y0 : region.y1, region.x0 : region.x1]


def store(surface: Surface, region: Region, values: Array) -> None:
    """Write ``values`` (region-shaped) into the surface where the region's mask allows."""
    dest = target(surface, region)
    if region.mask is None:
        dest[...] = values
    else:
        np.copyto(dest, np.broadcast_to(values, dest.shape), where=region.mask)


def apply_qmask(region: Region, qmask: QMask, box: Rect, decoder: ImageDecoder) -> None:
    """Cut ``region`` by a QMask: dest ``(x, y)`` uses mask pixel ``(x - box.left + pos.x, ...)``."""
    if qmask.bitmap is None:
        return
    mask = decoder.decode_mask(qmask.bitmap, bool(qmask.flags & MaskFlags.INVERS))
    ox, oy = box.left - qmask.pos.x, box.top - qmask.pos.y
    mh, mw = mask.shape
    region.shrink(ox, oy, ox + mw, oy + mh)
    if region.is_empty():
        return
    part = mask[region.y0 - oy : region.y1 - oy, region.x0 - ox : region.x1 - ox]
    region.intersect_mask(part)


def as_surface_values(pixels: Array, alpha: bool, surface: Surface) -> Array:
    """Pixels (h, w, 4) or (h, w) converted to the surface's element type (words or alpha bytes)."""
    if surface.words is not None:
        if pixels.ndim == 2:  # alpha-only into a colour surface: alpha in the top byte
            shifted: Array = pixels.astype(np.uint32) << np.uint32(24)
            return shifted
        data = pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)
        return data.view(np.uint32).reshape(pixels.shape[0], pixels.shape[1])
    if pixels.ndim == 2:
        return pixels
    if not alpha:
        return np.full(pixels.shape[:2], 0xFF, np.uint8)
    return pixels[..., 3]


def brush_color(surface: Surface, color: int) -> int:
    """A solid brush colour as the surface stores it (16-bit colours widened to 8 bits a channel)."""
    if surface.format == SurfaceFmt.FMT_16_555:
        r, g, b = (color >> 10) & 31, (color >> 5) & 31, color & 31
        return _widen5(r) << 16 | _widen5(g) << 8 | _widen5(b)
    if surface.format == SurfaceFmt.FMT_16_565:
        r, g, b = (color >> 11) & 31, (color >> 5) & 63, color & 31
        return _widen5(r) << 16 | ((g << 2) | (g >> 4)) << 8 | _widen5(b)
    if surface.words is None:
        return color & 0xFF
    return color & 0xFFFFFFFF


def _widen5(v: int) -> int:
    return (v << 3) | (v >> 2)


def brush_values(surface: Surface, region: Region, brush: Brush, decoder: ImageDecoder) -> Array:
    """The brush over ``region``: a scalar for SOLID, a tiled array for PATTERN."""
    if brush.type == BrushType.SOLID:
        value = brush_color(surface, brush.color)
        return np.array(value, np.uint32 if surface.words is not None else np.uint8)
    if brush.type == BrushType.PATTERN and brush.pattern is not None:
        tile = decoder.decode(brush.pattern.image)
        values = as_surface_values(tile.data, tile.alpha, surface)
        th, tw = values.shape[0], values.shape[1]
        ys = (np.arange(region.y0, region.y1) - brush.pattern.pos.y) % th
        xs = (np.arange(region.x0, region.x1) - brush.pattern.pos.x) % tw
        tiled: Array = values[ys][:, xs]
        return tiled
    return np.array(0, np.uint32 if surface.words is not None else np.uint8)


def touch(image: Image, decoder: ImageDecoder) -> None:
    """Decode an image that will not be drawn when it feeds a cache or the GLZ window."""
    if image.flags & (ImageFlags.CACHE_ME | ImageFlags.CACHE_REPLACE_ME) or isinstance(
        image, (GlzRgbImage, ZlibGlzRgbImage)
    ):
        decoder.decode(image)


def source_values(
    surface: Surface,
    region: Region,
    box: Rect,
    pixels: Pixels,
    area: Rect,
    scale_mode: int,
) -> tuple[Array, Region] | None:
    """The source pixels lined up with ``region`` (cut to the source's bounds), converted
    to the surface's element type; the region may shrink.  ``None``: nothing left."""
    data = pixels.data
    ih, iw = data.shape[0], data.shape[1]
    if area.width == box.width and area.height == box.height:
        dx, dy = box.left - area.left, box.top - area.top
        region.shrink(dx, dy, dx + iw, dy + ih)
        if region.is_empty():
            return None
        part = data[region.y0 - dy : region.y1 - dy, region.x0 - dx : region.x1 - dx]
        return as_surface_values(part, pixels.alpha, surface), region
    # scaled: the src area (cut to the image) stretched over the whole box
    a0, b0 = max(area.left, 0), max(area.top, 0)
    a1, b1 = min(area.right, iw), min(area.bottom, ih)
    if a1 <= a0 or b1 <= b0 or box.width <= 0 or box.height <= 0:
        return None
    crop = data[b0:b1, a0:a1]
    scaled = scale_image(crop, box.width, box.height, scale_mode)
    part = scaled[region.y0 - box.top : region.y1 - box.top, region.x0 - box.left : region.x1 - box.left]
    return as_surface_values(part, pixels.alpha, surface), region


def _snapshot_if_same(surface: Surface, image: Image, pixels: Pixels) -> Pixels:
    """A copy when the source is the destination surface itself (overlapping copies)."""
    if isinstance(image, SurfaceImage) and np.shares_memory(pixels.data, surface.pixels):
        return Pixels(pixels.data.copy(), pixels.alpha, pixels.lossy)
    return pixels


# ------------------------------------------------------------------ commands
def draw_fill(surface: Surface, msg: DisplayDrawFill, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    if region.is_empty():
        if msg.brush.type == BrushType.PATTERN and msg.brush.pattern is not None:
            touch(msg.brush.pattern.image, decoder)
        return None
    brush = brush_values(surface, region, msg.brush, decoder)
    dest = target(surface, region)
    store(surface, region, rop2(msg.rop_descriptor, brush, dest, Ropd.INVERS_BRUSH, Ropd.INVERS_DEST))
    return region.rect


def _fits_whole(surface: Surface, msg: DisplayDrawCopy) -> bool:
    """The zero-copy conditions of DRAW_COPY (see :meth:`ImageDecoder.decode_into`)."""
    box, area, image = msg.box, msg.src_area, msg.src_bitmap
    if msg.rop_descriptor & ~int(Ropd.INVERS_DEST) != _COPY_ONLY or msg.mask.bitmap is not None:
        return False
    if (area.left, area.top, area.right, area.bottom) != (0, 0, image.width, image.height):
        return False
    if (box.width, box.height) != (image.width, image.height):
        return False
    if box.left < 0 or box.top < 0 or box.right > surface.width or box.bottom > surface.height:
        return False
    clip = msg.clip
    if clip.type == ClipType.RECTS:
        if len(clip.rects) != 1:
            return False
        r = clip.rects[0]
        if r.left > box.left or r.top > box.top or r.right < box.right or r.bottom < box.bottom:
            return False
    return True


def draw_copy(
    surface: Surface, msg: DisplayDrawCopy | DisplayDrawBlend, decoder: ImageDecoder
) -> Rect | None:
    if (
        isinstance(msg, DisplayDrawCopy)
        and _fits_whole(surface, msg)
        and decoder.decode_into(msg.src_bitmap, surface, msg.box.left, msg.box.top)
    ):
        return msg.box
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        return None
    pixels = _snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    got = source_values(surface, region, msg.box, pixels, msg.src_area, msg.scale_mode)
    if got is None:
        return None
    src, region = got
    desc = msg.rop_descriptor
    if desc & ~int(Ropd.INVERS_DEST) == _COPY_ONLY:
        store(surface, region, src)
    else:
        dest = target(surface, region)
        store(surface, region, rop2(desc, src, dest, Ropd.INVERS_SRC, Ropd.INVERS_DEST))
    return region.rect


def draw_opaque(surface: Surface, msg: DisplayDrawOpaque, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        return None
    pixels = _snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    got = source_values(surface, region, msg.box, pixels, msg.src_area, msg.scale_mode)
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
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    apply_qmask(region, msg.mask, msg.box, decoder)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        return None
    pixels = _snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    got = source_values(surface, region, msg.box, pixels, msg.src_area, msg.scale_mode)
    if got is None:
        return None
    src, region = got
    brush = brush_values(surface, region, msg.brush, decoder)
    dest = target(surface, region)
    store(surface, region, rop3(msg.rop3, src, brush, dest))
    return region.rect


def draw_transparent(surface: Surface, msg: DisplayDrawTransparent, decoder: ImageDecoder) -> Rect | None:
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        return None
    pixels = _snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
    got = source_values(surface, region, msg.box, pixels, msg.src_area, ImageScaleMode.NEAREST)
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
    pixels = _snapshot_if_same(surface, msg.src_bitmap, decoder.decode(msg.src_bitmap))
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


DRAWERS: dict[type[Message], object] = {
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
    result: Rect | None = fn(surface, message, decoder)  # type: ignore[operator]
    return result
