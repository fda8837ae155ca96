"""One struct call for the common DRAW_COPY / DRAW_BLEND: no clip, no mask, a codec image.

A scrolling terminal reaches the client as thousands of such draws a second (Xspice:
small GLZ images), and the generic field-by-field reader costs several times what one
:class:`struct.Struct` does.  :func:`decode_copy_like` reads exactly that shape and gives
the same message the generic reader would; anything else (a clip, a mask, another image
type, unknown flag values, a pointer or size that does not fit) returns ``None`` so that
the generic reader decodes it and names what is wrong.
"""

from __future__ import annotations

import struct
from typing import Any, TypeVar

from ._display_images import _IMAGE_CLASSES, BinaryImage, Image
from ._display_types import Clip, QMask, Rect
from ._enums import ImageFlags, ImageScaleMode, Ropd
from ._fields import member

__all__: list[str] = []  # used by _display_draw only

_M = TypeVar("_M")

#: surface_id, box (top left bottom right), clip type; src_bitmap pointer, src_area,
#: rop_descriptor, scale_mode, mask flags, mask pos, mask bitmap pointer.
_FIXED = struct.Struct("<IiiiiBIiiiiHBBiiI")
#: image descriptor (id, type, flags, width, height) and a binary image's data_size.
_IMAGE = struct.Struct("<QBBIII")
_new = object.__new__
_set = object.__setattr__
_NO_CLIP = Clip()
_NO_MASK = QMask()
_ROPD = member(Ropd)
_SCALE = {int(m): m for m in ImageScaleMode}
_IMAGE_FLAGS = member(ImageFlags)
#: Image types whose payload is ``u32 data_size`` then the data (GLZ, LZ, QUIC, JPEG...).
_BINARY: dict[int, type[Image]] = {int(t): c for t, c in _IMAGE_CLASSES.items() if issubclass(c, BinaryImage)}


def decode_copy_like(cls: type[_M], body: Any) -> _M | None:
    """``cls`` (DisplayDrawCopy or DisplayDrawBlend) read from ``body`` when it has the
    common shape, else ``None`` (then the generic reader decodes it)."""
    if type(body) is not bytes or len(body) < _FIXED.size:
        return None
    (
        sid,
        top,
        left,
        bottom,
        right,
        clip,
        ptr,
        a_top,
        a_left,
        a_bottom,
        a_right,
        rop,
        scale,
        mflags,
        mx,
        my,
        mptr,
    ) = _FIXED.unpack_from(body)
    if clip or mflags or mx or my or mptr or not ptr or scale not in _SCALE:
        return None
    end = ptr + _IMAGE.size
    if end > len(body):
        return None
    image_id, image_type, flags, width, height, size = _IMAGE.unpack_from(body, ptr)
    image_cls = _BINARY.get(image_type)
    if image_cls is None or end + size > len(body):
        return None
    try:
        rop_descriptor = _ROPD(rop)
        image_flags = _IMAGE_FLAGS(flags)
    except ValueError:
        return None
    # the frozen dataclasses are filled in directly (their __init__ costs one attribute call
    # per field; none of these classes has a __post_init__, tests compare with the reader)
    image = _new(image_cls)
    data = memoryview(body)[end : end + size]
    _set(
        image,
        "__dict__",
        {"width": width, "height": height, "id": image_id, "flags": image_flags, "data": data},
    )
    box = _new(Rect)
    _set(box, "__dict__", {"left": left, "top": top, "right": right, "bottom": bottom})
    area = _new(Rect)
    _set(area, "__dict__", {"left": a_left, "top": a_top, "right": a_right, "bottom": a_bottom})
    message = _new(cls)
    fields = {
        "surface_id": sid,
        "box": box,
        "clip": _NO_CLIP,
        "src_bitmap": image,
        "src_area": area,
        "rop_descriptor": rop_descriptor,
        "scale_mode": _SCALE[scale],
        "mask": _NO_MASK,
    }
    _set(message, "__dict__", fields)
    return message
