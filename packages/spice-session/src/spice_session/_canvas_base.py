"""Shared plumbing of the draw commands: destination access, masks, brushes, source images."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import (
    Brush,
    BrushType,
    GlzRgbImage,
    Image,
    ImageFlags,
    MaskFlags,
    QMask,
    Rect,
    SurfaceFmt,
    SurfaceImage,
    ZlibGlzRgbImage,
)

from ._images import ImageDecoder
from ._pixels import Pixels
from ._raster import Region, scale_image
from ._surface import Surface

__all__ = [
    "apply_qmask",
    "as_surface_values",
    "brush_color",
    "brush_values",
    "snapshot_if_same",
    "source_values",
    "store",
    "target",
    "touch",
]

Array = npt.NDArray[Any]


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
    part = scale_image(
        crop,
        box.width,
        box.height,
        scale_mode,
        (region.x0 - box.left, region.x1 - box.left),
        (region.y0 - box.top, region.y1 - box.top),
    )
    return as_surface_values(part, pixels.alpha, surface), region


def snapshot_if_same(surface: Surface, image: Image, pixels: Pixels) -> Pixels:
    """A copy when the source is the destination surface itself (overlapping copies)."""
    if isinstance(image, SurfaceImage) and np.shares_memory(pixels.data, surface.pixels):
        return Pixels(pixels.data.copy(), pixels.alpha, pixels.lossy)
    return pixels
