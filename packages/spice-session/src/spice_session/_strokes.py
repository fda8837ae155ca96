"""DRAW_STROKE: thin (one pixel) lines along a path, painted with a brush by the fore ROP.

Path points are 28.4 fixed point, rounded to the nearest pixel.  Each segment is a
digital line through both end points (every column or row of its major axis gets one
pixel); CLOSE joins the last point to the first; Bézier segments are flattened into 16
line pieces.  Dashes (``LineFlags.STYLED``) are drawn solid.  This is the common thin
case; the reference canvas uses the X server's zero-width line rules, which can differ by
a pixel at some slopes.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
from spice_proto import BrushType, DisplayDrawStroke, PathFlags, PointFix, Rect, Ropd

from ._canvas_base import brush_values, store, target, touch
from ._images import ImageDecoder
from ._raster import Region, region_for, rop2
from ._surface import Surface

__all__ = ["draw_stroke", "path_pixels"]

Points = list[tuple[float, float]]
_BEZIER_STEPS = 16
_MAX_PIXELS = 1 << 22


def _xy(p: PointFix) -> tuple[float, float]:
    return p.x / 16.0, p.y / 16.0


def _flatten(points: Points, bezier: bool) -> Points:
    if not bezier or len(points) < 4:
        return points
    out = [points[0]]
    i = 0
    while i + 3 < len(points):
        p0, p1, p2, p3 = points[i : i + 4]
        for step in range(1, _BEZIER_STEPS + 1):
            t = step / _BEZIER_STEPS
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
            out.append(
                (
                    a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                    a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )
        i += 3
    out.extend(points[i + 1 :])
    return out


def _line(x0: int, y0: int, x1: int, y1: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    n = max(abs(x1 - x0), abs(y1 - y0)) + 1
    if n > _MAX_PIXELS:
        n = _MAX_PIXELS
    xs = np.rint(np.linspace(x0, x1, n)).astype(np.intp)
    ys = np.rint(np.linspace(y0, y1, n)).astype(np.intp)
    return xs, ys


def path_pixels(msg: DisplayDrawStroke) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The pixels (xs, ys) the path covers."""
    xs_parts: list[npt.NDArray[np.intp]] = []
    ys_parts: list[npt.NDArray[np.intp]] = []
    for segment in msg.path.segments:
        points = _flatten([_xy(p) for p in segment.points], bool(segment.flags & PathFlags.BEZIER))
        if segment.flags & PathFlags.CLOSE and len(points) > 2:
            points = [*points, points[0]]
        ints = [(round(x), round(y)) for x, y in points]
        if len(ints) == 1:
            ints = ints * 2
        for (ax, ay), (bx, by) in itertools.pairwise(ints):
            lx, ly = _line(ax, ay, bx, by)
            xs_parts.append(lx)
            ys_parts.append(ly)
    if not xs_parts:
        empty = np.zeros(0, np.intp)
        return empty, empty
    return np.concatenate(xs_parts), np.concatenate(ys_parts)


def draw_stroke(surface: Surface, msg: DisplayDrawStroke, decoder: ImageDecoder) -> Rect | None:
    """Draw ``msg``'s path on ``surface`` (inside box and clip)."""
    region = region_for(surface.width, surface.height, msg.box, msg.clip)
    if region.is_empty() or msg.brush.type == BrushType.NONE:
        if msg.brush.type == BrushType.PATTERN and msg.brush.pattern is not None:
            touch(msg.brush.pattern.image, decoder)
        return None
    xs, ys = path_pixels(msg)
    keep = (xs >= region.x0) & (xs < region.x1) & (ys >= region.y0) & (ys < region.y1)
    xs, ys = xs[keep], ys[keep]
    if region.mask is not None and xs.size:
        inside = region.mask[ys - region.y0, xs - region.x0]
        xs, ys = xs[inside], ys[inside]
    if not xs.size:
        return None
    line = np.zeros((region.height, region.width), np.bool_)
    line[ys - region.y0, xs - region.x0] = True
    part = Region(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    part.mask = line[part.y0 - region.y0 : part.y1 - region.y0, part.x0 - region.x0 : part.x1 - region.x0]
    brush = brush_values(surface, part, msg.brush, decoder)
    dest = target(surface, part)
    store(surface, part, rop2(msg.fore_mode, brush, dest, Ropd.INVERS_BRUSH, Ropd.INVERS_DEST))
    return part.rect
