"""DRAW_COMPOSITE: Render-style compositing of a source (through an optional mask) onto a surface.

Pixels are premultiplied ARGB as in pixman; the operator is the low byte of the flags
(pixman numbering: CLEAR 0, SRC 1, DST 2, OVER 3, OVER_REVERSE 4, IN 5, IN_REVERSE 6, OUT 7,
OUT_REVERSE 8, ATOP 9, ATOP_REVERSE 10, XOR 11, ADD 12, SATURATE 13).  Arithmetic uses
pixman's rounded 8-bit products.  Transforms are affine with nearest sampling at pixel
centres; repeat modes NONE (transparent outside), NORMAL, PAD and REFLECT.  Component alpha
multiplies each colour channel by its own mask channel.  Xspice, as measured, sends no
DRAW_COMPOSITE with the default driver options; QEMU guests with a QXL driver do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import CompositeFlags, DisplayDrawComposite, Rect, Transform

from ._canvas_base import store, target, touch
from ._errors import DisplayError
from ._images import ImageDecoder
from ._pixels import Pixels
from ._raster import mul_un8, region_for
from ._surface import Surface

__all__ = ["draw_composite", "porter_duff"]

Array = npt.NDArray[Any]

# Fa, Fb for the Porter-Duff operators: 0 zero, 1 one, "da" dest alpha, "ida" 1 - dest alpha...
_FACTORS: dict[int, tuple[str, str]] = {
    0: ("0", "0"),
    1: ("1", "0"),
    2: ("0", "1"),
    3: ("1", "isa"),
    4: ("ida", "1"),
    5: ("da", "0"),
    6: ("0", "sa"),
    7: ("ida", "0"),
    8: ("0", "isa"),
    9: ("da", "isa"),
    10: ("ida", "sa"),
    11: ("ida", "isa"),
    12: ("1", "1"),
}


def _scaled(values: Array, name: str, sa: Array, da: Array) -> Array:
    """``values`` times the Porter-Duff factor ``name`` (pixman rounding)."""
    if name == "0":
        return np.zeros_like(values)
    if name == "1":
        return values
    factor = {"sa": sa, "isa": 255 - sa, "da": da, "ida": 255 - da}[name]
    out: Array = mul_un8(values, factor)
    return out


def porter_duff(op: int, src: Array, dest: Array) -> Array:
    """``src OP dest`` on premultiplied (..., 4) BGRA uint16 arrays; returns uint8."""
    if op == 13:  # SATURATE: Fa = min(1, (1 - da) / sa), Fb = 1
        sa = src[..., 3:4].astype(np.float64)
        da = dest[..., 3:4].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            fa = np.where(sa > 0, np.minimum(255, np.floor((255 - da) * 255 / np.maximum(sa, 1))), 255)
        out = mul_un8(src, fa.astype(np.uint16)) + dest
        saturated: Array = np.minimum(out, 255).astype(np.uint8)
        return saturated
    if op not in _FACTORS:
        raise DisplayError(f"DRAW_COMPOSITE operator {op} is not supported")
    fa_name, fb_name = _FACTORS[op]
    sa, da = src[..., 3:4], dest[..., 3:4]
    total = _scaled(src, fa_name, sa, da) + _scaled(dest, fb_name, sa, da)
    result: Array = np.minimum(total, 255).astype(np.uint8)
    return result


def _premultiplied(pixels: Pixels) -> Array:
    """(h, w, 4) uint16 premultiplied BGRA: alpha-only images are black with that alpha."""
    data = pixels.data
    if pixels.is_mask:
        out = np.zeros((*data.shape, 4), np.uint16)
        out[..., 3] = data
        return out
    out = data.astype(np.uint16)
    if not pixels.alpha:
        out[..., 3] = 255
    return out


def _repeat(mode: int, coords: Array, size: int) -> tuple[Array, Array]:
    """Indices into a ``size``-long axis and whether each sample is inside (for NONE)."""
    if mode == 1:  # NORMAL
        return coords % size, np.ones(coords.shape, np.bool_)
    if mode == 2:  # PAD
        return np.clip(coords, 0, size - 1), np.ones(coords.shape, np.bool_)
    if mode == 3:  # REFLECT
        period = coords % (2 * size)
        return np.where(period < size, period, 2 * size - 1 - period), np.ones(coords.shape, np.bool_)
    inside = (coords >= 0) & (coords < size)
    return np.clip(coords, 0, size - 1), inside


def _fixed(v: int) -> float:
    """A pixman 16.16 fixed-point value stored as u32."""
    if v >= 1 << 31:
        v -= 1 << 32
    return v / 65536.0


def _sample(image: Array, xs: Array, ys: Array, transform: Transform | None, repeat: int) -> Array:
    """Sample ``image`` at integer pixel positions (dest grid mapped to source space)."""
    h, w = image.shape[0], image.shape[1]
    gx, gy = np.meshgrid(xs, ys)
    if transform is not None:
        cx, cy = gx + 0.5, gy + 0.5
        t = [_fixed(v) for v in (transform.t00, transform.t01, transform.t02)]
        u = [_fixed(v) for v in (transform.t10, transform.t11, transform.t12)]
        sx = t[0] * cx + t[1] * cy + t[2]
        sy = u[0] * cx + u[1] * cy + u[2]
        gx = np.floor(sx).astype(np.intp)
        gy = np.floor(sy).astype(np.intp)
    ix, okx = _repeat(repeat, gx, w)
    iy, oky = _repeat(repeat, gy, h)
    out: Array = image[iy, ix]
    inside = okx & oky
    if not inside.all():
        out = np.where(inside[..., None], out, 0) if out.ndim == 3 else np.where(inside, out, 0)
    return out


def draw_composite(surface: Surface, msg: DisplayDrawComposite, decoder: ImageDecoder) -> Rect | None:
    """Composite ``msg``'s source (through its mask) onto ``surface`` inside box and clip."""
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if region.is_empty():
        touch(msg.src_bitmap, decoder)
        if msg.mask_bitmap is not None:
            touch(msg.mask_bitmap, decoder)
        return None
    flags = int(msg.flags)
    op = flags & 0xFF
    src_repeat = (flags >> 14) & 3
    mask_repeat = (flags >> 16) & 3
    xs = np.arange(region.x0, region.x1) - msg.box.left
    ys = np.arange(region.y0, region.y1) - msg.box.top
    src_img = _premultiplied(decoder.decode(msg.src_bitmap))
    if msg.flags & CompositeFlags.SOURCE_OPAQUE:
        src_img[..., 3] = 255
    src = _sample(src_img, xs + msg.src_origin.x, ys + msg.src_origin.y, msg.src_transform, src_repeat)
    if msg.mask_bitmap is not None:
        mask_img = _premultiplied(decoder.decode(msg.mask_bitmap))
        mask = _sample(
            mask_img, xs + msg.mask_origin.x, ys + msg.mask_origin.y, msg.mask_transform, mask_repeat
        )
        if msg.flags & CompositeFlags.COMPONENT_ALPHA:
            src = mul_un8(src, mask)
        else:
            src = mul_un8(src, mask[..., 3:4])
    dest_values = target(surface, region)
    if surface.words is None:
        dest = np.zeros((*dest_values.shape, 4), np.uint16)
        dest[..., 3] = dest_values
    else:
        dest = (
            np.ascontiguousarray(dest_values).view(np.uint8).reshape(*dest_values.shape, 4).astype(np.uint16)
        )
        if not surface.has_alpha or msg.flags & CompositeFlags.DEST_OPAQUE:
            dest[..., 3] = 255
    out = porter_duff(op, src, dest)
    if surface.words is None:
        store(surface, region, out[..., 3])
    else:
        store(surface, region, out.view(np.uint32).reshape(dest_values.shape))
    return region.rect
