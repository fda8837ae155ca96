"""Display channel message bodies, both directions.

Draw commands (``DisplayDraw*``) share the fields ``surface_id``, ``box`` and
``clip`` (the wire's DisplayBase) followed by their own data.  Images, masks'
bitmaps, paths and glyph strings sit behind u32 pointers: encoding lays them
out after the fixed part and patches the pointers; decoding follows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ._display_images import Image, read_image_pointer, write_image_pointer
from ._display_types import (
    Brush,
    Clip,
    DisplayBase,
    GlyphString,
    Head,
    LineAttr,
    Path,
    Point,
    Point16,
    QMask,
    Rect,
    ResourceId,
    Transform,
)
from ._display_wire import OutWriter, maybe_enum, read_enum, require_pointer
from ._enums import (
    AlphaFlags,
    ChannelType,
    CompositeFlags,
    DisplayMsg,
    DisplayMsgc,
    GlScanoutFlags,
    ImageCompression,
    ImageScaleMode,
    Ropd,
    StreamFlags,
    SurfaceFlags,
    SurfaceFmt,
    VideoCodecType,
)
from ._message import Direction, Message, register
from ._msg_common import ChannelWait
from ._wire import Reader, Writer

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
    "DisplayGlDraw",
    "DisplayGlDrawDone",
    "DisplayGlScanoutUnix",
    "DisplayInit",
    "DisplayInvalAllPalettes",
    "DisplayInvalAllPixmaps",
    "DisplayInvalList",
    "DisplayInvalPalette",
    "DisplayMark",
    "DisplayMode",
    "DisplayMonitorsConfig",
    "DisplayPreferredCompression",
    "DisplayPreferredVideoCodecType",
    "DisplayQualityIndicator",
    "DisplayReset",
    "DisplayStreamActivateReport",
    "DisplayStreamClip",
    "DisplayStreamCreate",
    "DisplayStreamData",
    "DisplayStreamDataSized",
    "DisplayStreamDestroy",
    "DisplayStreamDestroyAll",
    "DisplayStreamReport",
    "DisplaySurfaceCreate",
    "DisplaySurfaceDestroy",
]

_S2C = Direction.SERVER_TO_CLIENT
_C2S = Direction.CLIENT_TO_SERVER
_DISPLAY = ChannelType.DISPLAY

_NO_CLIP = Clip()
_NO_MASK = QMask()
_ORIGIN16 = Point16(0, 0)
_NO_SURFACE_FLAGS = SurfaceFlags(0)
_NO_GL_FLAGS = GlScanoutFlags(0)

_E = TypeVar("_E", bound="_Empty")
_C = TypeVar("_C", bound="_CopyLike")
_K = TypeVar("_K", bound="_MaskOnly")


@dataclass(frozen=True)
class _ServerMessage(Message):
    CHANNEL: ClassVar[ChannelType | None] = _DISPLAY
    DIRECTION: ClassVar[Direction] = _S2C


@dataclass(frozen=True)
class _ClientMessage(Message):
    CHANNEL: ClassVar[ChannelType | None] = _DISPLAY
    DIRECTION: ClassVar[Direction] = _C2S


@dataclass(frozen=True)
class _Empty(Message):
    def encode_body(self, w: Writer) -> None:
        pass

    @classmethod
    def decode_body(cls: type[_E], r: Reader) -> _E:
        return cls()


def _scale_mode(r: Reader, field: str = "scale_mode") -> ImageScaleMode:
    return read_enum(r, ImageScaleMode, r.u8, field)


def _src_image(r: Reader, field: str = "src_bitmap") -> Image:
    image = read_image_pointer(r, field, required=True)
    assert image is not None
    return image


# --- server to client: surfaces, modes, caches ------------------------------------------------


@register
@dataclass(frozen=True)
class DisplayMode(_ServerMessage):
    """MODE: legacy display mode (resolution and depth)."""

    TYPE: ClassVar[int] = DisplayMsg.MODE

    x_res: int
    y_res: int
    bits: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.x_res).u32(self.y_res).u32(self.bits)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayMode:
        return cls(r.u32("x_res"), r.u32("y_res"), r.u32("bits"))


@register
@dataclass(frozen=True)
class DisplayMark(_ServerMessage, _Empty):
    """MARK: the primary surface is complete; show it."""

    TYPE: ClassVar[int] = DisplayMsg.MARK


@register
@dataclass(frozen=True)
class DisplayReset(_ServerMessage, _Empty):
    """RESET: drop all surfaces and caches."""

    TYPE: ClassVar[int] = DisplayMsg.RESET


@register
@dataclass(frozen=True)
class DisplayInvalList(_ServerMessage):
    """INVAL_LIST: remove these resources from the client's caches."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_LIST

    resources: tuple[ResourceId, ...]

    def encode_body(self, w: Writer) -> None:
        w.u16(len(self.resources))
        for res in self.resources:
            res._write(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayInvalList:
        count = r.u16("count")
        return cls(tuple(r.array(count, lambda rr: ResourceId._read(rr, "resources"), "resources", 9)))


@register
@dataclass(frozen=True)
class DisplayInvalAllPixmaps(_ServerMessage):
    """INVAL_ALL_PIXMAPS: empty the image cache once the listed channels caught up."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_ALL_PIXMAPS

    wait_list: tuple[ChannelWait, ...] = ()

    def encode_body(self, w: Writer) -> None:
        if len(self.wait_list) > 0xFF:
            raise ValueError(f"DisplayInvalAllPixmaps: at most 255 entries, got {len(self.wait_list)}")
        w.u8(len(self.wait_list))
        for item in self.wait_list:
            item.encode(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayInvalAllPixmaps:
        count = r.u8("wait_count")
        return cls(tuple(r.array(count, ChannelWait.decode, "wait_list", ChannelWait.SIZE)))


@register
@dataclass(frozen=True)
class DisplayInvalPalette(_ServerMessage):
    """INVAL_PALETTE: forget one cached palette."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_PALETTE

    id: int

    def encode_body(self, w: Writer) -> None:
        w.u64(self.id)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayInvalPalette:
        return cls(r.u64("id"))


@register
@dataclass(frozen=True)
class DisplayInvalAllPalettes(_ServerMessage, _Empty):
    """INVAL_ALL_PALETTES: forget every cached palette."""

    TYPE: ClassVar[int] = DisplayMsg.INVAL_ALL_PALETTES


@register
@dataclass(frozen=True)
class DisplaySurfaceCreate(_ServerMessage):
    """SURFACE_CREATE: a new surface (``SurfaceFlags.PRIMARY``: the screen)."""

    TYPE: ClassVar[int] = DisplayMsg.SURFACE_CREATE

    surface_id: int
    width: int
    height: int
    format: SurfaceFmt
    flags: SurfaceFlags = _NO_SURFACE_FLAGS

    def encode_body(self, w: Writer) -> None:
        w.u32(self.surface_id).u32(self.width).u32(self.height).u32(self.format).u32(self.flags)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplaySurfaceCreate:
        surface_id, width, height = r.u32("surface_id"), r.u32("width"), r.u32("height")
        fmt = read_enum(r, SurfaceFmt, r.u32, "format")
        return cls(surface_id, width, height, fmt, SurfaceFlags(r.u32("flags")))


@register
@dataclass(frozen=True)
class DisplaySurfaceDestroy(_ServerMessage):
    """SURFACE_DESTROY."""

    TYPE: ClassVar[int] = DisplayMsg.SURFACE_DESTROY

    surface_id: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.surface_id)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplaySurfaceDestroy:
        return cls(r.u32("surface_id"))


@register
@dataclass(frozen=True)
class DisplayMonitorsConfig(_ServerMessage):
    """MONITORS_CONFIG: which parts of which surfaces are monitors (``max_allowed`` 0: no limit)."""

    TYPE: ClassVar[int] = DisplayMsg.MONITORS_CONFIG

    heads: tuple[Head, ...]
    max_allowed: int = 0

    def encode_body(self, w: Writer) -> None:
        w.u16(len(self.heads)).u16(self.max_allowed)
        for head in self.heads:
            head._write(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayMonitorsConfig:
        count = r.u16("count")
        max_allowed = r.u16("max_allowed")
        heads = r.array(count, lambda rr: Head._read(rr, "heads"), "heads", 28)
        return cls(tuple(heads), max_allowed)


# --- server to client: video streams ------------------------------------------------------------


@register
@dataclass(frozen=True)
class DisplayStreamCreate(_ServerMessage):
    """STREAM_CREATE: frames of ``stream_width`` x ``stream_height`` scaled into ``dest``.

    ``codec_type`` is a :class:`VideoCodecType` when known (a plain int otherwise).
    """

    TYPE: ClassVar[int] = DisplayMsg.STREAM_CREATE

    surface_id: int
    id: int
    flags: StreamFlags
    codec_type: int
    stamp: int
    stream_width: int
    stream_height: int
    src_width: int
    src_height: int
    dest: Rect
    clip: Clip = _NO_CLIP

    def encode_body(self, w: Writer) -> None:
        w.u32(self.surface_id).u32(self.id).u8(self.flags).u8(self.codec_type).u64(self.stamp)
        w.u32(self.stream_width).u32(self.stream_height).u32(self.src_width).u32(self.src_height)
        self.dest._write(w)
        self.clip._write(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamCreate:
        surface_id, stream_id = r.u32("surface_id"), r.u32("id")
        flags = StreamFlags(r.u8("flags"))
        codec = maybe_enum(VideoCodecType, r.u8("codec_type"))
        stamp = r.u64("stamp")
        sw, sh, srcw, srch = (
            r.u32("stream_width"),
            r.u32("stream_height"),
            r.u32("src_width"),
            r.u32("src_height"),
        )
        dest = Rect._read(r, "dest")
        return cls(
            surface_id, stream_id, flags, codec, stamp, sw, sh, srcw, srch, dest, Clip._read(r, "clip")
        )


@register
@dataclass(frozen=True)
class DisplayStreamData(_ServerMessage):
    """STREAM_DATA: one encoded frame, to show at ``multi_media_time``."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DATA

    id: int
    multi_media_time: int
    data: bytes

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id).u32(self.multi_media_time).u32(len(self.data)).bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamData:
        stream_id, mm_time = r.u32("id"), r.u32("multi_media_time")
        return cls(stream_id, mm_time, r.bytes(r.u32("data_size"), "data"))


@register
@dataclass(frozen=True)
class DisplayStreamDataSized(_ServerMessage):
    """STREAM_DATA_SIZED: a frame of its own ``width`` x ``height``, scaled into ``dest``."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DATA_SIZED

    id: int
    multi_media_time: int
    width: int
    height: int
    dest: Rect
    data: bytes

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id).u32(self.multi_media_time).u32(self.width).u32(self.height)
        self.dest._write(w)
        w.u32(len(self.data)).bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamDataSized:
        stream_id, mm_time = r.u32("id"), r.u32("multi_media_time")
        width, height = r.u32("width"), r.u32("height")
        dest = Rect._read(r, "dest")
        return cls(stream_id, mm_time, width, height, dest, r.bytes(r.u32("data_size"), "data"))


@register
@dataclass(frozen=True)
class DisplayStreamClip(_ServerMessage):
    """STREAM_CLIP: a new clip for a stream."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_CLIP

    id: int
    clip: Clip

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id)
        self.clip._write(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamClip:
        return cls(r.u32("id"), Clip._read(r, "clip"))


@register
@dataclass(frozen=True)
class DisplayStreamDestroy(_ServerMessage):
    """STREAM_DESTROY."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DESTROY

    id: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.id)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamDestroy:
        return cls(r.u32("id"))


@register
@dataclass(frozen=True)
class DisplayStreamDestroyAll(_ServerMessage, _Empty):
    """STREAM_DESTROY_ALL."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_DESTROY_ALL


@register
@dataclass(frozen=True)
class DisplayStreamActivateReport(_ServerMessage):
    """STREAM_ACTIVATE_REPORT: send STREAM_REPORTs for this stream."""

    TYPE: ClassVar[int] = DisplayMsg.STREAM_ACTIVATE_REPORT

    stream_id: int
    unique_id: int
    max_window_size: int
    timeout_ms: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.stream_id).u32(self.unique_id).u32(self.max_window_size).u32(self.timeout_ms)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamActivateReport:
        return cls(r.u32("stream_id"), r.u32("unique_id"), r.u32("max_window_size"), r.u32("timeout_ms"))


# --- server to client: GL and quality --------------------------------------------------------


@register
@dataclass(frozen=True)
class DisplayGlScanoutUnix(_ServerMessage):
    """GL_SCANOUT_UNIX: a dma-buf scanout.  The fd itself travels out of band (SCM_RIGHTS),
    so it is not part of the body and a remote client cannot use this message."""

    TYPE: ClassVar[int] = DisplayMsg.GL_SCANOUT_UNIX

    width: int
    height: int
    stride: int
    drm_fourcc_format: int
    flags: GlScanoutFlags = _NO_GL_FLAGS

    def encode_body(self, w: Writer) -> None:
        w.u32(self.width).u32(self.height).u32(self.stride).u32(self.drm_fourcc_format).u32(self.flags)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayGlScanoutUnix:
        width, height, stride = r.u32("width"), r.u32("height"), r.u32("stride")
        return cls(width, height, stride, r.u32("drm_fourcc_format"), GlScanoutFlags(r.u32("flags")))


@register
@dataclass(frozen=True)
class DisplayGlDraw(_ServerMessage):
    """GL_DRAW: this area of the GL scanout changed."""

    TYPE: ClassVar[int] = DisplayMsg.GL_DRAW

    x: int
    y: int
    w: int
    h: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.x).u32(self.y).u32(self.w).u32(self.h)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayGlDraw:
        return cls(r.u32("x"), r.u32("y"), r.u32("w"), r.u32("h"))


@register
@dataclass(frozen=True)
class DisplayQualityIndicator(_ServerMessage):
    """QUALITY_INDICATOR: opaque bytes (the rest of the body)."""

    TYPE: ClassVar[int] = DisplayMsg.QUALITY_INDICATOR

    data: bytes = b""

    def encode_body(self, w: Writer) -> None:
        w.bytes(self.data)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayQualityIndicator:
        return cls(r.rest())


# --- server to client: draw commands ---------------------------------------------------------


@dataclass(frozen=True)
class _Draw(_ServerMessage):
    """The DisplayBase fields of every draw command."""

    surface_id: int
    box: Rect
    clip: Clip

    @property
    def base(self) -> DisplayBase:
        return DisplayBase(self.surface_id, self.box, self.clip)

    def encode_body(self, w: Writer) -> None:
        o = OutWriter(w)
        self.base._write(w)
        self._write_data(o)
        o.flush()

    def _write_data(self, o: OutWriter) -> None:
        raise NotImplementedError


@register
@dataclass(frozen=True)
class DisplayCopyBits(_ServerMessage):
    """COPY_BITS: copy the surface area at ``src_pos`` to ``box``."""

    TYPE: ClassVar[int] = DisplayMsg.COPY_BITS

    surface_id: int
    box: Rect
    clip: Clip
    src_pos: Point

    @property
    def base(self) -> DisplayBase:
        return DisplayBase(self.surface_id, self.box, self.clip)

    def encode_body(self, w: Writer) -> None:
        self.base._write(w)
        self.src_pos._write(w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayCopyBits:
        b = DisplayBase._read(r)
        return cls(b.surface_id, b.box, b.clip, Point._read(r, "src_pos"))


@register
@dataclass(frozen=True)
class DisplayDrawFill(_Draw):
    """DRAW_FILL: paint ``box`` with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_FILL

    brush: Brush
    rop_descriptor: Ropd = Ropd.OP_PUT
    mask: QMask = _NO_MASK

    def _write_data(self, o: OutWriter) -> None:
        self.brush._write(o)
        o.w.u16(self.rop_descriptor)
        self.mask._write(o)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawFill:
        b = DisplayBase._read(r)
        brush = Brush._read(r, "brush")
        rop = Ropd(r.u16("rop_descriptor"))
        return cls(b.surface_id, b.box, b.clip, brush, rop, QMask._read(r))


@register
@dataclass(frozen=True)
class DisplayDrawOpaque(_Draw):
    """DRAW_OPAQUE: copy an image combined with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_OPAQUE

    src_bitmap: Image
    src_area: Rect
    brush: Brush
    rop_descriptor: Ropd = Ropd.OP_PUT
    scale_mode: ImageScaleMode = ImageScaleMode.INTERPOLATE
    mask: QMask = _NO_MASK

    def _write_data(self, o: OutWriter) -> None:
        write_image_pointer(o, self.src_bitmap)
        self.src_area._write(o.w)
        self.brush._write(o)
        o.w.u16(self.rop_descriptor).u8(self.scale_mode)
        self.mask._write(o)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawOpaque:
        b = DisplayBase._read(r)
        src = _src_image(r)
        area = Rect._read(r, "src_area")
        brush = Brush._read(r, "brush")
        rop = Ropd(r.u16("rop_descriptor"))
        return cls(b.surface_id, b.box, b.clip, src, area, brush, rop, _scale_mode(r), QMask._read(r))


@dataclass(frozen=True)
class _CopyLike(_Draw):
    src_bitmap: Image
    src_area: Rect
    rop_descriptor: Ropd = Ropd.OP_PUT
    scale_mode: ImageScaleMode = ImageScaleMode.INTERPOLATE
    mask: QMask = _NO_MASK

    def _write_data(self, o: OutWriter) -> None:
        write_image_pointer(o, self.src_bitmap)
        self.src_area._write(o.w)
        o.w.u16(self.rop_descriptor).u8(self.scale_mode)
        self.mask._write(o)

    @classmethod
    def decode_body(cls: type[_C], r: Reader) -> _C:
        b = DisplayBase._read(r)
        src = _src_image(r)
        area = Rect._read(r, "src_area")
        rop = Ropd(r.u16("rop_descriptor"))
        return cls(b.surface_id, b.box, b.clip, src, area, rop, _scale_mode(r), QMask._read(r))


@register
@dataclass(frozen=True)
class DisplayDrawCopy(_CopyLike):
    """DRAW_COPY: copy ``src_area`` of ``src_bitmap`` into ``box`` (the workhorse)."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_COPY


@register
@dataclass(frozen=True)
class DisplayDrawBlend(_CopyLike):
    """DRAW_BLEND: like DRAW_COPY, combined with the destination by ``rop_descriptor``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_BLEND


@dataclass(frozen=True)
class _MaskOnly(_Draw):
    mask: QMask = _NO_MASK

    def _write_data(self, o: OutWriter) -> None:
        self.mask._write(o)

    @classmethod
    def decode_body(cls: type[_K], r: Reader) -> _K:
        b = DisplayBase._read(r)
        return cls(b.surface_id, b.box, b.clip, QMask._read(r))


@register
@dataclass(frozen=True)
class DisplayDrawBlackness(_MaskOnly):
    """DRAW_BLACKNESS: fill with black."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_BLACKNESS


@register
@dataclass(frozen=True)
class DisplayDrawWhiteness(_MaskOnly):
    """DRAW_WHITENESS: fill with white."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_WHITENESS


@register
@dataclass(frozen=True)
class DisplayDrawInvers(_MaskOnly):
    """DRAW_INVERS: invert the destination."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_INVERS


@register
@dataclass(frozen=True)
class DisplayDrawRop3(_Draw):
    """DRAW_ROP3: combine image, brush and destination with a ternary raster op."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_ROP3

    src_bitmap: Image
    src_area: Rect
    brush: Brush
    rop3: int
    scale_mode: ImageScaleMode = ImageScaleMode.INTERPOLATE
    mask: QMask = _NO_MASK

    def _write_data(self, o: OutWriter) -> None:
        write_image_pointer(o, self.src_bitmap)
        self.src_area._write(o.w)
        self.brush._write(o)
        o.w.u8(self.rop3).u8(self.scale_mode)
        self.mask._write(o)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawRop3:
        b = DisplayBase._read(r)
        src = _src_image(r)
        area = Rect._read(r, "src_area")
        brush = Brush._read(r, "brush")
        rop3 = r.u8("rop3")
        return cls(b.surface_id, b.box, b.clip, src, area, brush, rop3, _scale_mode(r), QMask._read(r))


@register
@dataclass(frozen=True)
class DisplayDrawStroke(_Draw):
    """DRAW_STROKE: draw a path with a brush."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_STROKE

    path: Path
    attr: LineAttr
    brush: Brush
    fore_mode: int = Ropd.OP_PUT
    back_mode: int = Ropd.OP_PUT

    def _write_data(self, o: OutWriter) -> None:
        o.pointer(self.path._write)
        self.attr._write(o)
        self.brush._write(o)
        o.w.u16(self.fore_mode).u16(self.back_mode)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawStroke:
        b = DisplayBase._read(r)
        path = Path._read(require_pointer(r, "path"), "path")
        attr = LineAttr._read(r, "attr")
        brush = Brush._read(r, "brush")
        return cls(b.surface_id, b.box, b.clip, path, attr, brush, r.u16("fore_mode"), r.u16("back_mode"))


@register
@dataclass(frozen=True)
class DisplayDrawText(_Draw):
    """DRAW_TEXT: glyphs painted with ``fore_brush`` over ``back_area`` painted with ``back_brush``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_TEXT

    string: GlyphString
    back_area: Rect
    fore_brush: Brush
    back_brush: Brush
    fore_mode: int = Ropd.OP_PUT
    back_mode: int = Ropd.OP_PUT

    def _write_data(self, o: OutWriter) -> None:
        o.pointer(self.string._write)
        self.back_area._write(o.w)
        self.fore_brush._write(o)
        self.back_brush._write(o)
        o.w.u16(self.fore_mode).u16(self.back_mode)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawText:
        b = DisplayBase._read(r)
        string = GlyphString._read(require_pointer(r, "str"), "str")
        back_area = Rect._read(r, "back_area")
        fore = Brush._read(r, "fore_brush")
        back = Brush._read(r, "back_brush")
        return cls(
            b.surface_id, b.box, b.clip, string, back_area, fore, back, r.u16("fore_mode"), r.u16("back_mode")
        )


@register
@dataclass(frozen=True)
class DisplayDrawTransparent(_Draw):
    """DRAW_TRANSPARENT: copy an image, skipping pixels of ``src_color``."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_TRANSPARENT

    src_bitmap: Image
    src_area: Rect
    src_color: int
    true_color: int

    def _write_data(self, o: OutWriter) -> None:
        write_image_pointer(o, self.src_bitmap)
        self.src_area._write(o.w)
        o.w.u32(self.src_color).u32(self.true_color)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawTransparent:
        b = DisplayBase._read(r)
        src = _src_image(r)
        area = Rect._read(r, "src_area")
        return cls(b.surface_id, b.box, b.clip, src, area, r.u32("src_color"), r.u32("true_color"))


@register
@dataclass(frozen=True)
class DisplayDrawAlphaBlend(_Draw):
    """DRAW_ALPHA_BLEND: blend an image with constant ``alpha`` (and its own, per ``alpha_flags``)."""

    TYPE: ClassVar[int] = DisplayMsg.DRAW_ALPHA_BLEND

    alpha_flags: AlphaFlags
    alpha: int
    src_bitmap: Image
    src_area: Rect

    def _write_data(self, o: OutWriter) -> None:
        o.w.u8(self.alpha_flags).u8(self.alpha)
        write_image_pointer(o, self.src_bitmap)
        self.src_area._write(o.w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawAlphaBlend:
        b = DisplayBase._read(r)
        flags = AlphaFlags(r.u8("alpha_flags"))
        alpha = r.u8("alpha")
        src = _src_image(r)
        return cls(b.surface_id, b.box, b.clip, flags, alpha, src, Rect._read(r, "src_area"))


@register
@dataclass(frozen=True)
class DisplayDrawComposite(_Draw):
    """DRAW_COMPOSITE: a Render-style composite.

    ``mask_bitmap``, ``src_transform`` and ``mask_transform`` are present exactly
    when ``flags`` has HAS_MASK, HAS_SRC_TRANSFORM and HAS_MASK_TRANSFORM.
    """

    TYPE: ClassVar[int] = DisplayMsg.DRAW_COMPOSITE

    flags: CompositeFlags
    src_bitmap: Image
    mask_bitmap: Image | None = None
    src_transform: Transform | None = None
    mask_transform: Transform | None = None
    src_origin: Point16 = _ORIGIN16
    mask_origin: Point16 = _ORIGIN16

    def __post_init__(self) -> None:
        for bit, value in (
            (CompositeFlags.HAS_MASK, self.mask_bitmap),
            (CompositeFlags.HAS_SRC_TRANSFORM, self.src_transform),
            (CompositeFlags.HAS_MASK_TRANSFORM, self.mask_transform),
        ):
            if bool(self.flags & bit) != (value is not None):
                raise ValueError(f"DisplayDrawComposite: flag {bit.name} and its field disagree")

    def _write_data(self, o: OutWriter) -> None:
        o.w.u32(self.flags)
        write_image_pointer(o, self.src_bitmap)
        if self.mask_bitmap is not None:
            write_image_pointer(o, self.mask_bitmap)
        if self.src_transform is not None:
            self.src_transform._write(o.w)
        if self.mask_transform is not None:
            self.mask_transform._write(o.w)
        self.src_origin._write(o.w)
        self.mask_origin._write(o.w)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayDrawComposite:
        b = DisplayBase._read(r)
        flags = CompositeFlags(r.u32("flags"))
        src = _src_image(r)
        mask = _src_image(r, "mask_bitmap") if flags & CompositeFlags.HAS_MASK else None
        src_t = Transform._read(r, "src_transform") if flags & CompositeFlags.HAS_SRC_TRANSFORM else None
        mask_t = Transform._read(r, "mask_transform") if flags & CompositeFlags.HAS_MASK_TRANSFORM else None
        src_origin = Point16._read(r, "src_origin")
        mask_origin = Point16._read(r, "mask_origin")
        return cls(b.surface_id, b.box, b.clip, flags, src, mask, src_t, mask_t, src_origin, mask_origin)


# --- client to server --------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class DisplayInit(_ClientMessage):
    """INIT: the client's image cache and GLZ dictionary (sizes in pixels)."""

    TYPE: ClassVar[int] = DisplayMsgc.INIT

    pixmap_cache_id: int
    pixmap_cache_size: int
    glz_dictionary_id: int
    glz_dictionary_window_size: int

    def encode_body(self, w: Writer) -> None:
        w.u8(self.pixmap_cache_id).i64(self.pixmap_cache_size)
        w.u8(self.glz_dictionary_id).i32(self.glz_dictionary_window_size)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayInit:
        cache_id, cache_size = r.u8("pixmap_cache_id"), r.i64("pixmap_cache_size")
        return cls(cache_id, cache_size, r.u8("glz_dictionary_id"), r.i32("glz_dictionary_window_size"))


@register
@dataclass(frozen=True)
class DisplayStreamReport(_ClientMessage):
    """STREAM_REPORT: how playback of a stream went (``num_drops`` 0xFFFFFFFF with no frames: unsupported)."""

    TYPE: ClassVar[int] = DisplayMsgc.STREAM_REPORT

    stream_id: int
    unique_id: int
    start_frame_mm_time: int
    end_frame_mm_time: int
    num_frames: int
    num_drops: int
    last_frame_delay: int
    audio_delay: int

    def encode_body(self, w: Writer) -> None:
        w.u32(self.stream_id).u32(self.unique_id).u32(self.start_frame_mm_time).u32(self.end_frame_mm_time)
        w.u32(self.num_frames).u32(self.num_drops).i32(self.last_frame_delay).u32(self.audio_delay)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayStreamReport:
        ids = r.u32("stream_id"), r.u32("unique_id")
        times = r.u32("start_frame_mm_time"), r.u32("end_frame_mm_time")
        counts = r.u32("num_frames"), r.u32("num_drops")
        return cls(*ids, *times, *counts, r.i32("last_frame_delay"), r.u32("audio_delay"))


@register
@dataclass(frozen=True)
class DisplayPreferredCompression(_ClientMessage):
    """PREFERRED_COMPRESSION: an :class:`ImageCompression` (plain int when unknown)."""

    TYPE: ClassVar[int] = DisplayMsgc.PREFERRED_COMPRESSION

    image_compression: int

    def encode_body(self, w: Writer) -> None:
        w.u8(self.image_compression)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayPreferredCompression:
        return cls(maybe_enum(ImageCompression, r.u8("image_compression")))


@register
@dataclass(frozen=True)
class DisplayGlDrawDone(_ClientMessage, _Empty):
    """GL_DRAW_DONE: the client finished with the last GL_DRAW."""

    TYPE: ClassVar[int] = DisplayMsgc.GL_DRAW_DONE


@register
@dataclass(frozen=True)
class DisplayPreferredVideoCodecType(_ClientMessage):
    """PREFERRED_VIDEO_CODEC_TYPE: codecs in order of preference (:class:`VideoCodecType` when known)."""

    TYPE: ClassVar[int] = DisplayMsgc.PREFERRED_VIDEO_CODEC_TYPE

    codecs: tuple[int, ...]

    def encode_body(self, w: Writer) -> None:
        if len(self.codecs) > 0xFF:
            raise ValueError(f"DisplayPreferredVideoCodecType: at most 255 codecs, got {len(self.codecs)}")
        w.u8(len(self.codecs))
        for codec in self.codecs:
            w.u8(codec)

    @classmethod
    def decode_body(cls, r: Reader) -> DisplayPreferredVideoCodecType:
        count = r.u8("num_of_codecs")
        codecs = r.array(count, lambda rr: maybe_enum(VideoCodecType, rr.u8("codecs")), "codecs", 1)
        return cls(tuple(codecs))
