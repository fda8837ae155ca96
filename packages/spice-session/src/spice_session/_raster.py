"""Pixel arithmetic shared by the draw commands: regions, raster ops, pixman-style blending, scaling.

All of it is numpy on whole rectangles; nothing loops over pixels in Python.
4-byte surfaces are handled as uint32 words ``0xAARRGGBB``, alpha surfaces as uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import Clip, ClipType, ImageScaleMode, Rect, Ropd

__all__ = [
    "Region",
    "blend_over",
    "mul_un8",
    "region_for",
    "rop2",
    "rop3",
    "scale_image",
]

Array = npt.NDArray[Any]
U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
Mask = npt.NDArray[np.bool_]

_ALL = np.uint32(0xFFFFFFFF)
_RECTS = int(ClipType.RECTS)
# Ropd bits as ints: IntFlag operators cost ~1 us each, per draw
_OP_PUT, _OP_OR, _OP_AND, _OP_XOR = int(Ropd.OP_PUT), int(Ropd.OP_OR), int(Ropd.OP_AND), int(Ropd.OP_XOR)
_OP_ANY = _OP_PUT | _OP_OR | _OP_AND | _OP_XOR
_OP_BLACKNESS, _OP_WHITENESS, _OP_INVERS = int(Ropd.OP_BLACKNESS), int(Ropd.OP_WHITENESS), int(Ropd.OP_INVERS)
_INVERS_RES = int(Ropd.INVERS_RES)


@dataclass
class Region:
    """The pixels a command may touch: the bounding box ``x0, y0, x1, y1`` and, when it is
    not the whole box, a bool ``mask`` of shape ``(y1 - y0, x1 - x0)``."""

    x0: int
    y0: int
    x1: int
    y1: int
    mask: Mask | None = None

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def rect(self) -> Rect:
        return Rect(self.x0, self.y0, self.x1, self.y1)

    def is_empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0 or (self.mask is not None and not self.mask.any())

    def intersect_mask(self, mask: Mask) -> None:
        """AND ``mask`` (box-shaped) into the region."""
        self.mask = mask if self.mask is None else self.mask & mask

    def shrink(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Cut the region down to the rectangle ``x0, y0, x1, y1`` (in surface coordinates)."""
        nx0, ny0 = max(self.x0, x0), max(self.y0, y0)
        nx1, ny1 = max(nx0, min(self.x1, x1)), max(ny0, min(self.y1, y1))
        if self.mask is not None:
            self.mask = self.mask[ny0 - self.y0 : ny1 - self.y0, nx0 - self.x0 : nx1 - self.x0]
        self.x0, self.y0, self.x1, self.y1 = nx0, ny0, nx1, ny1


def region_for(width: int, height: int, box: Rect, clip: Clip) -> Region:
    """``box`` inside a ``width`` x ``height`` surface, cut by ``clip`` (a union of rectangles)."""
    x0, y0 = max(box.left, 0), max(box.top, 0)
    x1, y1 = max(x0, min(box.right, width)), max(y0, min(box.bottom, height))
    region = Region(x0, y0, x1, y1)
    if clip.type != _RECTS or region.is_empty():
        return region
    rects = clip.rects
    if not rects:
        region.x1, region.y1 = x0, y0
        return region
    if len(rects) == 1:
        r = rects[0]
        region.shrink(r.left, r.top, r.right, r.bottom)
        return region
    left = max(x0, min(r.left for r in rects))
    top = max(y0, min(r.top for r in rects))
    right = min(x1, max(r.right for r in rects))
    bottom = min(y1, max(r.bottom for r in rects))
    region.shrink(left, top, right, bottom)
    if region.is_empty():
        return region
    mask = np.zeros((region.height, region.width), np.bool_)
    for r in rects:
        a, b = max(r.left, region.x0) - region.x0, max(r.top, region.y0) - region.y0
        c, d = min(r.right, region.x1) - region.x0, min(r.bottom, region.y1) - region.y0
        if c > a and d > b:
            mask[b:d, a:c] = True
    region.mask = mask
    return region


def rop2(desc: int, src: Array | int, dest: Array, src_flag: int, dest_flag: int) -> Array:
    """Combine ``src`` and ``dest`` by a ROP descriptor (``Ropd`` bits).

    ``src_flag``/``dest_flag`` say which INVERS_* bit inverts each input (the brush is
    the "source" of a fill, for instance).  OP_PUT / OR / AND / XOR honour INVERS_RES;
    BLACKNESS, WHITENESS and INVERS ignore the inputs.  Without any OP bit: a copy.  The
    result may be a read-only view (of ``src`` broadcast): for ``store``, not for writing.
    """
    desc, src_flag, dest_flag = int(desc), int(src_flag), int(dest_flag)
    if not desc & _OP_ANY:
        if desc & _OP_BLACKNESS:
            return np.zeros_like(dest)
        if desc & _OP_WHITENESS:
            return np.full_like(dest, np.iinfo(dest.dtype).max)
        if desc & _OP_INVERS:
            return np.bitwise_not(dest)
    s = np.asarray(src, dtype=dest.dtype)
    if desc & src_flag:
        s = np.bitwise_not(s)
    if desc & _OP_PUT or not desc & (_OP_OR | _OP_AND | _OP_XOR):
        # a read-only view: a solid fill is not made into a picture first (store() writes it)
        out = np.broadcast_to(s, dest.shape)
    else:
        d = np.bitwise_not(dest) if desc & dest_flag else dest
        if desc & _OP_OR:
            out = s | d
        elif desc & _OP_AND:
            out = s & d
        else:
            out = s ^ d
    if desc & _INVERS_RES:
        out = np.bitwise_not(out)
    result: Array = out
    return result


def rop3(code: int, src: Array, pat: Array | int, dest: Array) -> Array:
    """The ternary raster op ``code`` (Windows numbering: bit ``(p<<2)|(s<<1)|d`` of the code
    is the result for pattern bit p, source bit s, destination bit d), bitwise on whole words."""
    dtype = dest.dtype
    p = np.broadcast_to(np.asarray(pat, dtype=dtype), dest.shape)
    s = np.broadcast_to(np.asarray(src, dtype=dtype), dest.shape)
    out = np.zeros_like(dest)
    for bit in range(8):
        if not code >> bit & 1:
            continue
        term = (p if bit & 4 else ~p) & (s if bit & 2 else ~s) & (dest if bit & 1 else ~dest)
        out |= term
    return out


def mul_un8(a: Array, b: Array | int) -> Array:
    """pixman's rounded ``a * b / 255`` on 8-bit values (held in uint16)."""
    t = (a * b + 0x80).astype(np.uint16)
    out: Array = ((t >> 8) + t) >> 8
    return out


def blend_over(src: U8, dest: U8, alpha: int, src_has_alpha: bool) -> U8:
    """``src OVER dest`` with a constant ``alpha`` (0-255), on (h, w, 4) BGRA arrays, pixman rounding.

    ``src`` is premultiplied when it has alpha (as pixman's a8r8g8b8); without, its alpha is 255.
    """
    s = src.astype(np.uint16)
    if not src_has_alpha:
        s[..., 3] = 255
    if alpha != 255:
        s = mul_un8(s, alpha)
    d = dest.astype(np.uint16)
    inv = 255 - s[..., 3:4]
    out = s + mul_un8(d, inv)
    return np.minimum(out, 255).astype(np.uint8)


def scale_image(
    src: Array,
    width: int,
    height: int,
    mode: ImageScaleMode | int,
    cols: tuple[int, int] | None = None,
    rows: tuple[int, int] | None = None,
) -> Array:
    """``src`` (h, w[, c]) stretched to ``height`` x ``width``: nearest, or bilinear (INTERPOLATE).

    ``cols``/``rows`` (start, stop) pick the part of the result to compute, so a huge
    destination box costs only what is visible.  Samples are taken at pixel centres.
    """
    sh, sw = src.shape[0], src.shape[1]
    c0, c1 = cols if cols is not None else (0, width)
    r0, r1 = rows if rows is not None else (0, height)
    xc = (np.arange(c0, c1, dtype=np.float64) + 0.5) * (sw / width)
    yc = (np.arange(r0, r1, dtype=np.float64) + 0.5) * (sh / height)
    if mode == ImageScaleMode.NEAREST:
        xi = np.clip(np.floor(xc).astype(np.intp), 0, sw - 1)
        yi = np.clip(np.floor(yc).astype(np.intp), 0, sh - 1)
        nearest: Array = src[yi][:, xi]
        return nearest
    xs = np.clip(xc - 0.5, 0, sw - 1)
    ys = np.clip(yc - 0.5, 0, sh - 1)
    x0 = np.floor(xs).astype(np.intp)
    y0 = np.floor(ys).astype(np.intp)
    x1 = np.minimum(x0 + 1, sw - 1)
    y1 = np.minimum(y0 + 1, sh - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    if src.ndim == 3:
        fy = fy[..., None]
        fx = fx[..., None]
    f = src.astype(np.float64)
    top = f[y0][:, x0] * (1 - fx) + f[y0][:, x1] * fx
    bottom = f[y1][:, x0] * (1 - fx) + f[y1][:, x1] * fx
    out = top * (1 - fy) + bottom * fy
    result: Array = np.clip(np.rint(out), 0, 255).astype(src.dtype)
    return result
