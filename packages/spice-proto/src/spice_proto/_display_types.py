"""Structures of the display channel: geometry, clips, brushes, masks, paths, glyphs, heads.

Every structure is a frozen dataclass with ``_write(OutWriter)`` and
``_read(Reader, field)``; the image classes live in ``_display_images`` and are
re-exported here.  Field names follow spice-protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._display_images import Image, read_image_pointer, write_image_pointer
from ._display_wire import OutWriter, read_enum, read_pointer
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

_NO_MASK_FLAGS = MaskFlags(0)
_NO_LINE_FLAGS = LineFlags(0)


@dataclass(frozen=True)
class Point:
    """A point with i32 coordinates."""

    x: int
    y: int

    def _write(self, w: Writer) -> None:
        w.i32(self.x).i32(self.y)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Point:
        return cls(r.i32(f"{field}.x"), r.i32(f"{field}.y"))


@dataclass(frozen=True)
class Point16:
    """A point with i16 coordinates (composite origins)."""

    x: int
    y: int

    def _write(self, w: Writer) -> None:
        w.i16(self.x).i16(self.y)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Point16:
        return cls(r.i16(f"{field}.x"), r.i16(f"{field}.y"))


@dataclass(frozen=True)
class PointFix:
    """A point in 28.4 fixed point; ``x`` and ``y`` are the raw i32 values (16 = 1.0)."""

    x: int
    y: int

    def _write(self, w: Writer) -> None:
        w.i32(self.x).i32(self.y)

    @classmethod
    def _read(cls, r: Reader, field: str) -> PointFix:
        return cls(r.i32(f"{field}.x"), r.i32(f"{field}.y"))


@dataclass(frozen=True)
class Rect:
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

    def _write(self, w: Writer) -> None:
        w.i32(self.top).i32(self.left).i32(self.bottom).i32(self.right)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Rect:
        top = r.i32(f"{field}.top")
        left = r.i32(f"{field}.left")
        bottom = r.i32(f"{field}.bottom")
        right = r.i32(f"{field}.right")
        return cls(left, top, right, bottom)


@dataclass(frozen=True)
class Transform:
    """A 2x3 affine matrix of u32 values (pixman 16.16 fixed point), row by row."""

    t00: int
    t01: int
    t02: int
    t10: int
    t11: int
    t12: int

    def _write(self, w: Writer) -> None:
        for v in (self.t00, self.t01, self.t02, self.t10, self.t11, self.t12):
            w.u32(v)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Transform:
        names = ("t00", "t01", "t02", "t10", "t11", "t12")
        t00, t01, t02, t10, t11, t12 = (r.u32(f"{field}.{n}") for n in names)
        return cls(t00, t01, t02, t10, t11, t12)


@dataclass(frozen=True)
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
                rect._write(w)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Clip:
        clip_type = read_enum(r, ClipType, r.u8, f"{field}.type")
        if clip_type == ClipType.NONE:
            return cls()
        count = r.u32(f"{field}.num_rects")
        rects = r.array(count, lambda rr: Rect._read(rr, f"{field}.rects"), f"{field}.rects", 16)
        return cls(clip_type, tuple(rects))


@dataclass(frozen=True)
class DisplayBase:
    """What every draw command starts with: target surface, bounding box, clip."""

    surface_id: int
    box: Rect
    clip: Clip = Clip()

    def _write(self, w: Writer) -> None:
        w.u32(self.surface_id)
        self.box._write(w)
        self.clip._write(w)

    @classmethod
    def _read(cls, r: Reader, field: str = "base") -> DisplayBase:
        surface_id = r.u32(f"{field}.surface_id")
        return cls(surface_id, Rect._read(r, f"{field}.box"), Clip._read(r, f"{field}.clip"))


@dataclass(frozen=True)
class Pattern:
    """A tiled image brush, ``pos`` being the tile origin."""

    image: Image
    pos: Point = Point(0, 0)


@dataclass(frozen=True)
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
    def of_pattern(cls, image: Image, pos: Point = Point(0, 0)) -> Brush:
        return cls(BrushType.PATTERN, pattern=Pattern(image, pos))

    def _write(self, o: OutWriter) -> None:
        o.w.u8(self.type)
        if self.type == BrushType.SOLID:
            o.w.u32(self.color)
        elif self.pattern is not None:
            write_image_pointer(o, self.pattern.image)
            self.pattern.pos._write(o.w)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Brush:
        brush_type = read_enum(r, BrushType, r.u8, f"{field}.type")
        if brush_type == BrushType.SOLID:
            return cls(brush_type, r.u32(f"{field}.color"))
        if brush_type == BrushType.PATTERN:
            image = read_image_pointer(r, f"{field}.pattern.pat", required=True)
            assert image is not None
            return cls(brush_type, pattern=Pattern(image, Point._read(r, f"{field}.pattern.pos")))
        return cls(brush_type)


@dataclass(frozen=True)
class QMask:
    """An optional 1-bit mask image at ``pos`` (``bitmap`` ``None``: no mask)."""

    flags: MaskFlags = _NO_MASK_FLAGS
    pos: Point = Point(0, 0)
    bitmap: Image | None = None

    def _write(self, o: OutWriter) -> None:
        o.w.u8(self.flags)
        self.pos._write(o.w)
        write_image_pointer(o, self.bitmap)

    @classmethod
    def _read(cls, r: Reader, field: str = "mask") -> QMask:
        flags = MaskFlags(r.u8(f"{field}.flags"))
        pos = Point._read(r, f"{field}.pos")
        return cls(flags, pos, read_image_pointer(r, f"{field}.bitmap", required=False))


@dataclass(frozen=True)
class PathSegment:
    """Points joined by lines (or Béziers with ``PathFlags.BEZIER``)."""

    flags: PathFlags
    points: tuple[PointFix, ...]

    def _write(self, w: Writer) -> None:
        w.u8(self.flags).u32(len(self.points))
        for point in self.points:
            point._write(w)

    @classmethod
    def _read(cls, r: Reader, field: str) -> PathSegment:
        flags = PathFlags(r.u8(f"{field}.flags"))
        count = r.u32(f"{field}.count")
        points = r.array(count, lambda rr: PointFix._read(rr, f"{field}.points"), f"{field}.points", 8)
        return cls(flags, tuple(points))


@dataclass(frozen=True)
class Path:
    """The path of a stroke: its segments, laid out one after another."""

    segments: tuple[PathSegment, ...]

    def _write(self, o: OutWriter) -> None:
        o.w.u32(len(self.segments))
        for segment in self.segments:
            segment._write(o.w)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Path:
        count = r.u32(f"{field}.num_segments")
        segments = r.array(
            count, lambda rr: PathSegment._read(rr, f"{field}.segments"), f"{field}.segments", 5
        )
        return cls(tuple(segments))


@dataclass(frozen=True)
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
        flags = LineFlags(r.u8(f"{field}.flags"))
        if not flags & LineFlags.STYLED:
            return cls(flags)
        count = r.u8(f"{field}.style_nseg")
        target = read_pointer(r, f"{field}.style")
        if target is None:
            if count:
                raise ProtocolError(
                    f"{count} style segments behind a null pointer", where=r.where, field=f"{field}.style"
                )
            return cls(flags)
        style = target.array(count, lambda rr: rr.i32(f"{field}.style"), f"{field}.style", 4)
        return cls(flags, tuple(style))


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


@dataclass(frozen=True)
class RasterGlyph:
    """One glyph: rows of ``(bpp * width + 7) // 8`` bytes, ``bpp`` set by the string's flags."""

    render_pos: Point
    glyph_origin: Point
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
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
            g.render_pos._write(w)
            g.glyph_origin._write(w)
            w.u16(g.width).u16(g.height).bytes(g.data)

    @classmethod
    def _read(cls, r: Reader, field: str) -> GlyphString:
        count = r.u16(f"{field}.length")
        flags = StringFlags(r.u8(f"{field}.flags"))
        bpp = _glyph_bpp(flags)
        if not bpp:
            return cls(flags)
        f = f"{field}.glyphs"

        def glyph(rr: Reader) -> RasterGlyph:
            render_pos = Point._read(rr, f"{f}.render_pos")
            origin = Point._read(rr, f"{f}.glyph_origin")
            width, height = rr.u16(f"{f}.width"), rr.u16(f"{f}.height")
            data = rr.bytes(_glyph_size(bpp, width, height), f"{f}.data")
            return RasterGlyph(render_pos, origin, width, height, data)

        return cls(flags, tuple(r.array(count, glyph, f, 20)))


@dataclass(frozen=True)
class Head:
    """One monitor of MONITORS_CONFIG: a ``width`` x ``height`` area at ``x``, ``y`` of a surface."""

    monitor_id: int
    surface_id: int
    width: int
    height: int
    x: int = 0
    y: int = 0
    flags: int = 0

    def _write(self, w: Writer) -> None:
        for v in (self.monitor_id, self.surface_id, self.width, self.height, self.x, self.y, self.flags):
            w.u32(v)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Head:
        names = ("monitor_id", "surface_id", "width", "height", "x", "y", "flags")
        values = [r.u32(f"{field}.{n}") for n in names]
        return cls(*values)


@dataclass(frozen=True)
class ResourceId:
    """A cached resource named in INVAL_LIST."""

    type: ResourceType
    id: int

    def _write(self, w: Writer) -> None:
        w.u8(self.type).u64(self.id)

    @classmethod
    def _read(cls, r: Reader, field: str) -> ResourceId:
        res_type = read_enum(r, ResourceType, r.u8, f"{field}.type")
        return cls(res_type, r.u64(f"{field}.id"))
