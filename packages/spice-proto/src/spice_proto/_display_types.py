"""Structures of the display channel: geometry, clips, brushes, masks, paths, glyphs, heads.

Every structure is a frozen dataclass with ``_write(OutWriter)`` and
``_read(Reader, field)``; the image classes live in ``_display_images`` and are
re-exported here.  Field names follow spice-protocol.
"""

from __future__ import annotations

import struct
from operator import attrgetter
from typing import Annotated, Any, ClassVar, TypeVar, cast

from ._display_images import Image, read_image_pointer, write_image_pointer
from ._enums import (
    BrushType,
    ClipType,
    LineFlags,
    MaskFlags,
    PathFlags,
    ResourceType,
    StringFlags,
)
from ._errors import ProtocolError
from ._field_codecs import U8, U16, U32, Counted, EnumScalar, Fixed, Pointer, Var, bit_flags
from ._fields import OutWriter, Struct, at, layout, member, read_bytes, read_pointer, sub
from ._frozen import frozen
from ._wire import Reader, Writer

__all__ = [
    "Brush",
    "Clip",
    "DisplayBase",
    "GlyphString",
    "Head",
    "LineAttr",
    "Path",
    "PathSegment",
    "Pattern",
    "Point",
    "Point16",
    "PointFix",
    "QMask",
    "RasterGlyph",
    "Rect",
    "ResourceId",
    "Transform",
]

_P = TypeVar("_P", bound="_Packed")

_NO_MASK_FLAGS = MaskFlags(0)
_NO_LINE_FLAGS = LineFlags(0)
_mask_flags = member(MaskFlags)


class _Packed:
    """A fixed-size structure, laid out by its class's ``_CODEC`` (set after the class)."""

    _CODEC: ClassVar[Fixed[Any]]

    def _write(self, w: Writer) -> None:
        self._CODEC.put(w, self)

    @classmethod
    def _read(cls: type[_P], r: Reader, field: str) -> _P:
        return cast(_P, cls._CODEC.read(r, field))


_D = TypeVar("_D", bound="_Declared")


class _Declared:
    """A structure whose fields declare their codecs, laid out like a message's."""

    def _write(self, o: OutWriter) -> None:
        layout(type(self), complete=True).write(o, self)

    @classmethod
    def _read(cls: type[_D], r: Reader, field: str) -> _D:
        return cls(*layout(cls, complete=True).read(r, field))


def _packed(cls: type[_P], codes: str, wire_order: str, build: Any = None, **enums: Any) -> Fixed[_P]:
    """Give ``cls`` its codec: ``codes`` per attribute of ``wire_order`` (space separated);
    ``build`` makes the value from the numbers (default ``cls`` itself); ``enums`` maps
    attributes to the enum their number must belong to."""
    parts = tuple(wire_order.split())
    checked = {parts.index(name): enum for name, enum in enums.items()}
    codec: Fixed[_P] = Fixed(codes, parts, build or cls, attrgetter(*parts), checked)
    cls._CODEC = codec
    return codec


@frozen
class Point(_Packed):
    """A point with i32 coordinates."""

    x: int
    y: int


@frozen
class Point16(_Packed):
    """A point with i16 coordinates (composite origins)."""

    x: int
    y: int


@frozen
class PointFix(_Packed):
    """A point in 28.4 fixed point; ``x`` and ``y`` are the raw i32 values (16 = 1.0)."""

    x: int
    y: int


@frozen
class Rect(_Packed):
    """A rectangle, ``right`` and ``bottom`` exclusive.  On the wire: top, left, bottom, right (i32)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        """Pixels covered (0 for an empty rectangle)."""
        return max(0, self.width) * max(0, self.height)

    @property
    def empty(self) -> bool:
        return self.right <= self.left or self.bottom <= self.top

    @classmethod
    def of_size(cls, width: int, height: int) -> Rect:
        """The rectangle from the origin to ``width, height``."""
        return cls(0, 0, width, height)

    def union(self, other: Rect) -> Rect:
        """The smallest rectangle holding both."""
        return Rect(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def intersect(self, other: Rect) -> Rect:
        """The common part (:attr:`empty` when they do not overlap)."""
        return Rect(
            max(self.left, other.left),
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
        )

    def contains(self, other: Rect) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and self.right >= other.right
            and self.bottom >= other.bottom
        )

    def shifted(self, dx: int, dy: int) -> Rect:
        """This rectangle moved by ``dx, dy``."""
        return Rect(self.left + dx, self.top + dy, self.right + dx, self.bottom + dy)


@frozen
class Transform(_Packed):
    """A 2x3 affine matrix of u32 values (pixman 16.16 fixed point), row by row."""

    t00: int
    t01: int
    t02: int
    t10: int
    t11: int
    t12: int


POINT = _packed(Point, "ii", "x y")
POINT16 = _packed(Point16, "hh", "x y")
_POINT_FIX = _packed(PointFix, "ii", "x y")
RECT = _packed(Rect, "iiii", "top left bottom right", lambda t, left, b, right: Rect(left, t, right, b))
TRANSFORM = _packed(Transform, "IIIIII", "t00 t01 t02 t10 t11 t12")

_CLIP_TYPE = EnumScalar("B", ClipType)
_BRUSH_TYPE = EnumScalar("B", BrushType)


@frozen
class Clip:
    """``ClipType.NONE`` (draw everywhere) or ``RECTS``: the union of ``rects`` (inline on the wire)."""

    type: ClipType = ClipType.NONE
    rects: tuple[Rect, ...] = ()

    def __post_init__(self) -> None:
        if self.type == ClipType.NONE and self.rects:
            raise ValueError("a NONE clip has no rectangles")

    @classmethod
    def of_rects(cls, *rects: Rect) -> Clip:
        return cls(ClipType.RECTS, rects)

    def _write(self, w: Writer) -> None:
        w.u8(self.type)
        if self.type == ClipType.RECTS:
            w.u32(len(self.rects))
            for rect in self.rects:
                RECT.put(w, rect)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Clip:
        clip_type = _CLIP_TYPE.read(r, field, "type")
        if clip_type == ClipType.NONE:
            return _NO_CLIP
        count = U32.read(r, field, "num_rects")
        name = sub(field, "rects")
        return cls(clip_type, tuple(r.array(count, lambda rr: RECT.read(rr, name), name, 16)))


_NO_CLIP = Clip()
CLIP: Var[Clip] = Var(Clip._read, lambda o, clip: clip._write(o.w))


@frozen
class DisplayBase(_Declared):
    """What every draw command starts with: target surface, bounding box, clip."""

    surface_id: Annotated[int, U32]
    box: Annotated[Rect, RECT]
    clip: Annotated[Clip, CLIP] = Clip()


@frozen
class Pattern:
    """A tiled image brush, ``pos`` being the tile origin."""

    image: Image
    pos: Point = Point(0, 0)


@frozen
class Brush:
    """``NONE``, ``SOLID`` (``color``, a u32 pixel) or ``PATTERN`` (``pattern``)."""

    type: BrushType = BrushType.NONE
    color: int = 0
    pattern: Pattern | None = None

    def __post_init__(self) -> None:
        if (self.type == BrushType.PATTERN) != (self.pattern is not None):
            raise ValueError("a PATTERN brush needs a pattern, other brushes none")
        if self.type != BrushType.SOLID and self.color:
            raise ValueError("only a SOLID brush has a color")

    @classmethod
    def solid(cls, color: int) -> Brush:
        return cls(BrushType.SOLID, color)

    @classmethod
    def of_pattern(cls, image: Image, pos: Point = Point(0, 0)) -> Brush:  # noqa: B008 - frozen
        return cls(BrushType.PATTERN, pattern=Pattern(image, pos))

    def _write(self, o: OutWriter) -> None:
        o.w.u8(self.type)
        if self.type == BrushType.SOLID:
            o.w.u32(self.color)
        elif self.pattern is not None:
            write_image_pointer(o, self.pattern.image)
            POINT.put(o.w, self.pattern.pos)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Brush:
        brush_type = _BRUSH_TYPE.read(r, field, "type")
        if brush_type == BrushType.SOLID:
            return cls(brush_type, U32.read(r, field, "color"))
        if brush_type == BrushType.PATTERN:
            image = read_image_pointer(r, sub(field, "pattern.pat"), required=True)
            assert image is not None
            return cls(brush_type, pattern=Pattern(image, POINT.read(r, field, "pattern.pos")))
        return cls(brush_type)


@frozen
class QMask:
    """An optional 1-bit mask image at ``pos`` (``bitmap`` ``None``: no mask)."""

    flags: MaskFlags = _NO_MASK_FLAGS
    pos: Point = Point(0, 0)
    bitmap: Image | None = None

    def _write(self, o: OutWriter) -> None:
        o.w.pack(_MASK_HEAD, self.flags, self.pos.x, self.pos.y)
        write_image_pointer(o, self.bitmap)

    @classmethod
    def _read(cls, r: Reader, field: str = "mask") -> QMask:
        flags, x, y, offset = _QMASK.read(r, field)
        if not offset:
            if not (flags or x or y):
                return _NO_MASK
            return cls(_mask_flags(flags), Point(x, y))
        bitmap = Image._read(at(r, offset, field, "bitmap"), sub(field, "bitmap"))
        return cls(_mask_flags(flags), Point(x, y), bitmap)


def _values(*values: Any) -> tuple[Any, ...]:
    return values


def _unpacked(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return values


_MASK_HEAD = struct.Struct("<Bii")
#: flags, pos and the bitmap pointer, which ends the run so that a bad one fails where it would alone.
_QMASK: Fixed[tuple[Any, ...]] = Fixed("BiiI", ("flags", "pos.x", "pos.y", "bitmap"), _values, _unpacked)
_NO_MASK = QMask()
BRUSH: Var[Brush] = Var(Brush._read, lambda o, brush: brush._write(o))
QMASK: Var[QMask] = Var(QMask._read, lambda o, mask: mask._write(o))


@frozen
class PathSegment(_Declared):
    """Points joined by lines (or Béziers with ``PathFlags.BEZIER``)."""

    flags: Annotated[PathFlags, bit_flags("B", PathFlags)]
    points: Annotated[tuple[PointFix, ...], Counted(U32, "count", _POINT_FIX, 8)]


@frozen
class Path(_Declared):
    """The path of a stroke: its segments, laid out one after another."""

    segments: Annotated[tuple[PathSegment, ...], Counted(U32, "num_segments", Struct(PathSegment), 5)]


PATH: Pointer[Path] = Pointer(Struct(Path))


@frozen
class LineAttr:
    """Line attributes; with ``LineFlags.STYLED``, ``style`` holds up to 255 dash lengths (28.4 fixed)."""

    flags: LineFlags = _NO_LINE_FLAGS
    style: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.style and not self.flags & LineFlags.STYLED:
            raise ValueError("a line style needs LineFlags.STYLED")
        if len(self.style) > 0xFF:
            raise ValueError(f"line style has {len(self.style)} segments, at most 255 fit")

    def _write(self, o: OutWriter) -> None:
        o.w.u8(self.flags)
        if self.flags & LineFlags.STYLED:
            o.w.u8(len(self.style))
            style = self.style

            def emit(o2: OutWriter) -> None:
                for v in style:
                    o2.w.i32(v)

            o.pointer(emit if style else None)

    @classmethod
    def _read(cls, r: Reader, field: str) -> LineAttr:
        flags = LineFlags(U8.read(r, field, "flags"))
        if not flags & LineFlags.STYLED:
            return cls(flags)
        count = U8.read(r, field, "style_nseg")
        target = read_pointer(r, field, "style")
        name = sub(field, "style")
        if target is None:
            if count:
                raise ProtocolError(
                    f"{count} style segments behind a null pointer", where=r.where, field=name
                )
            return cls(flags)
        style = target.array(count, lambda rr: rr.i32(name), name, 4)
        return cls(flags, tuple(style))


LINE_ATTR: Var[LineAttr] = Var(LineAttr._read, lambda o, attr: attr._write(o))


def _glyph_bpp(flags: StringFlags) -> int:
    """Bits per pixel of a string's glyphs; 0 when no raster format flag is set."""
    if flags & StringFlags.RASTER_A1:
        return 1
    if flags & StringFlags.RASTER_A4:
        return 4
    if flags & StringFlags.RASTER_A8:
        return 8
    return 0


def _glyph_size(bpp: int, width: int, height: int) -> int:
    return (bpp * width + 7) // 8 * height


@frozen
class RasterGlyph:
    """One glyph: rows of ``(bpp * width + 7) // 8`` bytes, ``bpp`` set by the string's flags."""

    render_pos: Point
    glyph_origin: Point
    width: int
    height: int
    data: bytes


#: A glyph's fixed part: render_pos, glyph_origin, width, height.
_GLYPH_HEAD: Fixed[tuple[Any, ...]] = Fixed(
    "iiiiHH",
    ("render_pos.x", "render_pos.y", "glyph_origin.x", "glyph_origin.y", "width", "height"),
    _values,
    _unpacked,
)


@frozen
class GlyphString:
    """A run of glyphs (the ``String`` of DRAW_TEXT); exactly one RASTER_A1/A4/A8 flag says their depth."""

    flags: StringFlags
    glyphs: tuple[RasterGlyph, ...] = ()

    def __post_init__(self) -> None:
        bpp = _glyph_bpp(self.flags)
        if self.glyphs and not bpp:
            raise ValueError("glyphs need a RASTER_A1, RASTER_A4 or RASTER_A8 flag")
        if len(self.glyphs) > 0xFFFF:
            raise ValueError(f"{len(self.glyphs)} glyphs, at most 65535 fit")
        for glyph in self.glyphs:
            if len(glyph.data) != _glyph_size(bpp, glyph.width, glyph.height):
                raise ValueError(
                    f"glyph data is {len(glyph.data)} bytes for {glyph.width}x{glyph.height} at {bpp} bpp"
                )

    def _write(self, o: OutWriter) -> None:
        w = o.w
        w.u16(len(self.glyphs)).u8(self.flags)
        for g in self.glyphs:
            p, q = g.render_pos, g.glyph_origin
            _GLYPH_HEAD.put(w, (p.x, p.y, q.x, q.y, g.width, g.height))
            w.bytes(g.data)

    @classmethod
    def _read(cls, r: Reader, field: str) -> GlyphString:
        count = U16.read(r, field, "length")
        flags = StringFlags(U8.read(r, field, "flags"))
        bpp = _glyph_bpp(flags)
        if not bpp:
            return cls(flags)
        f = sub(field, "glyphs")

        def glyph(rr: Reader) -> RasterGlyph:
            x, y, ox, oy, width, height = _GLYPH_HEAD.read(rr, f)
            data = read_bytes(rr, _glyph_size(bpp, width, height), f, "data")
            return RasterGlyph(Point(x, y), Point(ox, oy), width, height, data)

        return cls(flags, tuple(r.array(count, glyph, f, 20)))


GLYPH_STRING: Pointer[GlyphString] = Pointer(Var(GlyphString._read, lambda o, s: s._write(o)))


@frozen
class Head(_Packed):
    """One monitor of MONITORS_CONFIG: a ``width`` x ``height`` area at ``x``, ``y`` of a surface."""

    monitor_id: int
    surface_id: int
    width: int
    height: int
    x: int = 0
    y: int = 0
    flags: int = 0


@frozen
class ResourceId(_Packed):
    """A cached resource named in INVAL_LIST."""

    type: ResourceType
    id: int


HEAD = _packed(Head, "IIIIIII", "monitor_id surface_id width height x y flags")
RESOURCE_ID = _packed(ResourceId, "BQ", "type id", type=ResourceType)
