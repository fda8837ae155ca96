"""Putting a decoded video frame on a surface: orientation, nearest-neighbour scaling, clipping.

Source pixel ``floor((x + 0.5) * src_w / dest_w)`` goes to destination pixel ``x`` (as
pixman's NEAREST filter does in spice-gtk); pixels are written opaque.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt
from spice_proto import Clip, ClipType, Rect

from ._errors import StreamError
from ._surface import Surface
from ._video import Frame

__all__ = ["place_frame", "scale_nearest"]

#: The fourth byte of a B, G, R, X pixel set, as a native uint32 (what makes a pixel opaque).
_OPAQUE = np.frombuffer(b"\x00\x00\x00\xff", np.uint32)[0]
_NO_CLIP = Clip()
_Pixels = TypeVar("_Pixels", npt.NDArray[np.uint8], npt.NDArray[np.uint32])


def scale_nearest(frame: _Pixels, width: int, height: int, rows: slice, cols: slice) -> _Pixels:
    """The part ``rows`` x ``cols`` of ``frame`` scaled to ``width`` x ``height`` (nearest neighbour).

    Destination pixel ``(x, y)`` takes source pixel ``(floor((x + 0.5) * sw / width),
    floor((y + 0.5) * sh / height))``; only the requested part is computed.  An unscaled
    frame is returned as a view.
    """
    sh, sw = frame.shape[:2]
    if sw == width and sh == height:
        return frame[rows, cols]
    ys = np.arange(rows.start, rows.stop, dtype=np.int64)
    xs = np.arange(cols.start, cols.stop, dtype=np.int64)
    src_y = (2 * ys + 1) * sh // (2 * height)
    src_x = (2 * xs + 1) * sw // (2 * width)
    out: _Pixels = frame.take(src_y, axis=0).take(src_x, axis=1)
    return out


def _clip_rects(clip: Clip, dest: Rect, surface: Surface) -> list[tuple[int, int, int, int]]:
    """The parts of ``dest`` to draw, as (left, top, right, bottom) inside the surface."""
    left, top = max(dest.left, 0), max(dest.top, 0)
    right, bottom = min(dest.right, surface.width), min(dest.bottom, surface.height)
    if right <= left or bottom <= top:
        return []
    if clip.type != ClipType.RECTS:
        return [(left, top, right, bottom)]
    out = []
    for r in clip.rects:
        box = (max(r.left, left), max(r.top, top), min(r.right, right), min(r.bottom, bottom))
        if box[2] > box[0] and box[3] > box[1]:
            out.append(box)
    return out


def place_frame(
    surface: Surface,
    frame: Frame,
    dest: Rect,
    clip: Clip = _NO_CLIP,
    *,
    top_down: bool = True,
    opaque: bool = False,
) -> Rect | None:
    """Scale a BGRX ``frame`` (height, width, 4) into ``dest`` of ``surface``, inside ``clip``.

    Returns the bounding box of the pixels written, ``None`` when nothing was visible.
    ``top_down=False`` means the frame's first row is the bottom of the picture.  Pixels
    are written opaque (fourth byte 255): ``opaque=True`` says the frame's already are, and
    the pixels are copied as they are (half the time of setting that byte).  Clip rectangles
    may overlap.
    """
    if dest.width <= 0 or dest.height <= 0:
        raise StreamError(f"stream destination {dest} is empty")
    if surface.words is None:
        raise StreamError(f"surface {surface.surface_id} ({surface.format.name}) cannot show video")
    boxes = _clip_rects(clip, dest, surface)
    if not boxes:
        return None
    words = np.ascontiguousarray(frame).view(np.uint32).reshape(frame.shape[0], frame.shape[1])
    if not top_down:
        words = words[::-1]
    for left, top, right, bottom in boxes:
        part = scale_nearest(
            words,
            dest.width,
            dest.height,
            slice(top - dest.top, bottom - dest.top),
            slice(left - dest.left, right - dest.left),
        )
        if opaque:
            np.copyto(surface.words[top:bottom, left:right], part)
        else:
            np.bitwise_or(part, _OPAQUE, out=surface.words[top:bottom, left:right])
    return Rect(
        min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
    )
