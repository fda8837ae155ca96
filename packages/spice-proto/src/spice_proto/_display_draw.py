"""Display channel draw commands (server to client).

Every draw command starts with ``surface_id``, ``box`` and ``clip`` (the wire's
DisplayBase) followed by its own fields, each declared with its codec.  Images,
masks' bitmaps, paths and glyph strings sit behind u32 pointers: encoding lays
them out after the fixed part and patches the pointers; decoding follows them.
"""

from __future__ import annotations

import builtins
from typing import Annotated, ClassVar, TypeVar

from ._display_images import Image
from ._display_types import (
    BRUSH,
    CLIP,
    GLYPH_STRING,
    LINE_ATTR,
    PATH,
    POINT,
    POINT16,
    QMASK,
    RECT,
    TRANSFORM,
    Brush,
    Clip,
    DisplayBase,
    GlyphString,
    LineAttr,
    Path,
    Point,
    Point16,
    QMask,
    Rect,
    Transform,
)
from ._draw_fast import decode_copy_like
from ._enums import AlphaFlags, CompositeFlags, DisplayMsg, ImageScaleMode, Ropd
from ._field_codecs import U8, U16, U32, EnumScalar, Pointer, Var, When, bit_flags
from ._frozen import frozen
from ._message import register
from ._msg_display import ServerMessage

__all__ = [
    "DisplayCopyBits",
    "DisplayDrawAlphaBlend",
    "DisplayDrawBlackness",
    "DisplayDrawBlend",
    "DisplayDrawComposite",
    "DisplayDrawCopy",
    "DisplayDrawFill",
    "DisplayDrawInvers",
    "DisplayDrawOpaque",
    "DisplayDrawRop3",
    "DisplayDrawStroke",
    "DisplayDrawText",
    "DisplayDrawTransparent",
    "DisplayDrawWhiteness",
]

_C = TypeVar("_C", bound="_CopyLike")
_NO_MASK = QMask()
_ORIGIN16 = Point16(0, 0)

_IMAGE = Pointer(Var(Image._read, lambda o, image: image._write(o)))
_ROPD = bit_flags("H", Ropd)
_SCALE_MODE = EnumScalar("B", ImageScaleMode)


@frozen
class _Draw(ServerMessage):
    """The DisplayBase fields of every draw command."""

    surface_id: Annotated[int, U32, "base.surface_id"]
    box: Annotated[Rect, RECT, "base.box"]
    clip: Annotated[Clip, CLIP, "base.clip"]

    @property
    def base(self) -> DisplayBase:
        return DisplayBase(self.surface_id, self.box, self.clip)


@register
@frozen
class DisplayCopyBits(_Draw):
    """COPY_BITS: copy the surface area at ``src_pos`` to ``box``."""

    TYPE: ClassVar[int] = DisplayMsg.COPY_BITS

    src_pos: Annotated[Point, POINT]


@register
@frozen
class DisplayDrawFill(_Draw):
    """DRAW_FILL: paint ``box`` with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_FILL

    brush: Annotated[Brush, BRUSH]
    rop_descriptor: Annotated[Ropd, _ROPD] = Ropd.OP_PUT
    mask: Annotated[QMask, QMASK] = _NO_MASK


@frozen
class _FromImage(_Draw):
    """The source of the draw commands that copy from an image."""

    src_bitmap: Annotated[Image, _IMAGE]
    src_area: Annotated[Rect, RECT]


@register
@frozen
class DisplayDrawOpaque(_FromImage):
    """DRAW_OPAQUE: copy an image combined with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_OPAQUE

    brush: Annotated[Brush, BRUSH]
    rop_descriptor: Annotated[Ropd, _ROPD] = Ropd.OP_PUT
    scale_mode: Annotated[ImageScaleMode, _SCALE_MODE] = ImageScaleMode.INTERPOLATE
    mask: Annotated[QMask, QMASK] = _NO_MASK


@frozen
class _CopyLike(_FromImage):
    rop_descriptor: Annotated[Ropd, _ROPD] = Ropd.OP_PUT
    scale_mode: Annotated[ImageScaleMode, _SCALE_MODE] = ImageScaleMode.INTERPOLATE
    mask: Annotated[QMask, QMASK] = _NO_MASK

    @classmethod
    def decode(cls: builtins.type[_C], body: bytes | bytearray | memoryview) -> _C:
        """The common shape in one struct call (see ``_draw_fast``), anything else field by field."""
        fast = decode_copy_like(cls, body)
        return fast if fast is not None else super().decode(body)


@register
@frozen
class DisplayDrawCopy(_CopyLike):
    """DRAW_COPY: copy ``src_area`` of ``src_bitmap`` into ``box`` (the workhorse)."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_COPY


@register
@frozen
class DisplayDrawBlend(_CopyLike):
    """DRAW_BLEND: like DRAW_COPY, combined with the destination by ``rop_descriptor``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_BLEND


@frozen
class _MaskOnly(_Draw):
    mask: Annotated[QMask, QMASK] = _NO_MASK


@register
@frozen
class DisplayDrawBlackness(_MaskOnly):
    """DRAW_BLACKNESS: fill with black."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_BLACKNESS


@register
@frozen
class DisplayDrawWhiteness(_MaskOnly):
    """DRAW_WHITENESS: fill with white."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_WHITENESS


@register
@frozen
class DisplayDrawInvers(_MaskOnly):
    """DRAW_INVERS: invert the destination."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_INVERS


@register
@frozen
class DisplayDrawRop3(_FromImage):
    """DRAW_ROP3: combine image, brush and destination with a ternary raster op."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_ROP3

    brush: Annotated[Brush, BRUSH]
    rop3: Annotated[int, U8]
    scale_mode: Annotated[ImageScaleMode, _SCALE_MODE] = ImageScaleMode.INTERPOLATE
    mask: Annotated[QMask, QMASK] = _NO_MASK


@register
@frozen
class DisplayDrawStroke(_Draw):
    """DRAW_STROKE: draw a path with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_STROKE

    path: Annotated[Path, PATH]
    attr: Annotated[LineAttr, LINE_ATTR]
    brush: Annotated[Brush, BRUSH]
    fore_mode: Annotated[int, U16] = Ropd.OP_PUT
    back_mode: Annotated[int, U16] = Ropd.OP_PUT


@register
@frozen
class DisplayDrawText(_Draw):
    """DRAW_TEXT: glyphs painted with ``fore_brush`` over ``back_area`` painted with ``back_brush``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_TEXT

    string: Annotated[GlyphString, GLYPH_STRING, "str"]
    back_area: Annotated[Rect, RECT]
    fore_brush: Annotated[Brush, BRUSH]
    back_brush: Annotated[Brush, BRUSH]
    fore_mode: Annotated[int, U16] = Ropd.OP_PUT
    back_mode: Annotated[int, U16] = Ropd.OP_PUT


@register
@frozen
class DisplayDrawTransparent(_FromImage):
    """DRAW_TRANSPARENT: copy an image, skipping pixels of ``src_color``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_TRANSPARENT

    src_color: Annotated[int, U32]
    true_color: Annotated[int, U32]


@register
@frozen
class DisplayDrawAlphaBlend(_Draw):
    """DRAW_ALPHA_BLEND: blend an image with constant ``alpha`` (and its own, per ``alpha_flags``)."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_ALPHA_BLEND

    alpha_flags: Annotated[AlphaFlags, bit_flags("B", AlphaFlags)]
    alpha: Annotated[int, U8]
    src_bitmap: Annotated[Image, _IMAGE]
    src_area: Annotated[Rect, RECT]


#: The fields of DRAW_COMPOSITE that are on the wire when ``flags`` has the bit.
_OPTIONAL: tuple[tuple[CompositeFlags, str], ...] = (
    (CompositeFlags.HAS_MASK, "mask_bitmap"),
    (CompositeFlags.HAS_SRC_TRANSFORM, "src_transform"),
    (CompositeFlags.HAS_MASK_TRANSFORM, "mask_transform"),
)


@register
@frozen
class DisplayDrawComposite(_Draw):
    """DRAW_COMPOSITE: a Render-style composite.

    ``mask_bitmap``, ``src_transform`` and ``mask_transform`` are present exactly
    when ``flags`` has HAS_MASK, HAS_SRC_TRANSFORM and HAS_MASK_TRANSFORM.
    """

    TYPE: ClassVar[int] = DisplayMsg.DRAW_COMPOSITE

    flags: Annotated[CompositeFlags, bit_flags("I", CompositeFlags)]
    src_bitmap: Annotated[Image, _IMAGE]
    mask_bitmap: Annotated[Image | None, When("flags", CompositeFlags.HAS_MASK, _IMAGE)] = None
    src_transform: Annotated[Transform | None, When("flags", CompositeFlags.HAS_SRC_TRANSFORM, TRANSFORM)] = (
        None
    )
    mask_transform: Annotated[
        Transform | None, When("flags", CompositeFlags.HAS_MASK_TRANSFORM, TRANSFORM)
    ] = None
    src_origin: Annotated[Point16, POINT16] = _ORIGIN16
    mask_origin: Annotated[Point16, POINT16] = _ORIGIN16

    def __post_init__(self) -> None:
        for bit, name in _OPTIONAL:
            if bool(self.flags & bit) != (getattr(self, name) is not None):
                raise ValueError(f"DisplayDrawComposite: flag {bit.name} and its field disagree")
