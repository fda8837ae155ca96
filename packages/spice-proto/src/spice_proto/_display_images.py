"""SpiceImage: the descriptor and one class per image type.

An image on the wire is an 18-byte descriptor ``{id u64, type u8, flags u8,
width u32, height u32}`` followed by data that depends on the type.  Here each
type is its own frozen dataclass (``QuicImage``, ``BitmapImage``, ...) carrying
the descriptor fields (``id``, ``flags``, ``width``, ``height``) and its
payload; compressed payloads are kept as ``bytes`` exactly as they came, ready
for the codec packages.  All fields are keyword-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ._display_wire import OutWriter, read_enum, read_pointer, require_pointer
from ._enums import BitmapFlags, BitmapFmt, ImageFlags, ImageType, JpegAlphaFlags
from ._errors import ProtocolError
from ._wire import Reader

__all__ = [
    "BinaryImage",
    "BitmapImage",
    "FromCacheImage",
    "FromCacheLosslessImage",
    "GlzRgbImage",
    "Image",
    "ImageDescriptor",
    "JpegAlphaImage",
    "JpegImage",
    "Lz4Image",
    "LzPltImage",
    "LzRgbImage",
    "Palette",
    "QuicImage",
    "SurfaceImage",
    "ZlibGlzRgbImage",
    "image_class",
]

_I = TypeVar("_I", bound="Image")

_NO_IMAGE_FLAGS = ImageFlags(0)
_NO_BITMAP_FLAGS = BitmapFlags(0)
_NO_JPEG_FLAGS = JpegAlphaFlags(0)


@dataclass(frozen=True)
class Palette:
    """A colour table: ``unique`` (its cache id) and up to 65535 u32 entries."""

    unique: int
    ents: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.ents) > 0xFFFF:
            raise ValueError(f"palette has {len(self.ents)} entries, at most 65535 fit")

    def _write(self, o: OutWriter) -> None:
        o.w.u64(self.unique).u16(len(self.ents))
        for ent in self.ents:
            o.w.u32(ent)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Palette:
        unique = r.u64(f"{field}.unique")
        count = r.u16(f"{field}.num_ents")
        ents = r.array(count, lambda rr: rr.u32(f"{field}.ents"), f"{field}.ents", 4)
        return cls(unique, tuple(ents))


@dataclass(frozen=True)
class ImageDescriptor:
    """The common head of every image."""

    id: int
    type: ImageType
    flags: ImageFlags
    width: int
    height: int

    def _write(self, o: OutWriter) -> None:
        o.w.u64(self.id).u8(self.type).u8(self.flags).u32(self.width).u32(self.height)

    @classmethod
    def _read(cls, r: Reader, field: str) -> ImageDescriptor:
        image_id = r.u64(f"{field}.id")
        image_type = read_enum(r, ImageType, r.u8, f"{field}.type")
        flags = ImageFlags(r.u8(f"{field}.flags"))
        return cls(image_id, image_type, flags, r.u32(f"{field}.width"), r.u32(f"{field}.height"))


_IMAGE_CLASSES: dict[ImageType, type[Image]] = {}


def _image_type(cls: type[_I]) -> type[_I]:
    _IMAGE_CLASSES[cls.IMAGE_TYPE] = cls
    return cls


def image_class(image_type: ImageType | int) -> type[Image] | None:
    """The class for an image type number, or ``None`` when there is none."""
    try:
        return _IMAGE_CLASSES.get(ImageType(image_type))
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class Image:
    """Base of the image classes: the descriptor fields; subclasses add the payload."""

    IMAGE_TYPE: ClassVar[ImageType]

    width: int
    height: int
    #: Cache id (meaningful with ``ImageFlags.CACHE_ME`` or for ``FromCacheImage``).
    id: int = 0
    flags: ImageFlags = _NO_IMAGE_FLAGS

    @property
    def type(self) -> ImageType:
        return self.IMAGE_TYPE

    @property
    def descriptor(self) -> ImageDescriptor:
        return ImageDescriptor(self.id, self.IMAGE_TYPE, self.flags, self.width, self.height)

    def _write(self, o: OutWriter) -> None:
        """Descriptor then payload (anything pointed to is queued on ``o``)."""
        self.descriptor._write(o)
        self._write_payload(o)

    def _write_payload(self, o: OutWriter) -> None:
        raise NotImplementedError

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> Image:
        raise NotImplementedError

    @staticmethod
    def _read(r: Reader, field: str) -> Image:
        """Read one image (descriptor and payload) of any type."""
        start = r.pos
        d = ImageDescriptor._read(r, field)
        cls = _IMAGE_CLASSES.get(d.type)
        if cls is None:
            raise ProtocolError(
                f"image type {d.type.name} carries no image", where=r.where, field=field, offset=start
            )
        return cls._read_payload(r, d, field)


def write_image_pointer(o: OutWriter, image: Image | None) -> None:
    """A pointer to ``image`` (null for ``None``); the image is laid out later."""
    o.pointer(None if image is None else image._write)


def read_image_pointer(r: Reader, field: str, *, required: bool) -> Image | None:
    """Follow an image pointer; a null one is ``None`` unless ``required``."""
    target = require_pointer(r, field) if required else read_pointer(r, field)
    return None if target is None else Image._read(target, field)


def _check_palette(
    flags: BitmapFlags, palette: Palette | None, palette_id: int | None, *, required: bool
) -> None:
    if flags & BitmapFlags.PAL_FROM_CACHE:
        if palette_id is None or palette is not None:
            raise ValueError("PAL_FROM_CACHE needs palette_id and no palette")
    else:
        if palette_id is not None:
            raise ValueError("palette_id needs BitmapFlags.PAL_FROM_CACHE")
        if required and palette is None:
            raise ValueError("this image needs a palette (or a palette_id from the cache)")


def _write_palette_field(
    o: OutWriter, flags: BitmapFlags, palette: Palette | None, palette_id: int | None
) -> None:
    if flags & BitmapFlags.PAL_FROM_CACHE:
        assert palette_id is not None
        o.w.u64(palette_id)
    else:
        o.pointer(None if palette is None else palette._write)


def _read_palette_field(
    r: Reader, flags: BitmapFlags, field: str, *, required: bool
) -> tuple[Palette | None, int | None]:
    if flags & BitmapFlags.PAL_FROM_CACHE:
        return None, r.u64(f"{field}.palette_id")
    target = (require_pointer if required else read_pointer)(r, f"{field}.palette")
    return (None if target is None else Palette._read(target, f"{field}.palette")), None


@_image_type
@dataclass(frozen=True, kw_only=True)
class BitmapImage(Image):
    """Uncompressed pixels: ``stride * y`` bytes, rows bottom-up unless ``TOP_DOWN``.

    ``x`` and ``y`` are the bitmap's own width and height (-1: same as the descriptor's).
    The palette is either inline (``palette``, for the indexed formats) or, with
    ``BitmapFlags.PAL_FROM_CACHE``, a ``palette_id`` from the client's cache.
    """

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.BITMAP

    format: BitmapFmt
    stride: int
    data: bytes
    bitmap_flags: BitmapFlags = _NO_BITMAP_FLAGS
    x: int = -1
    y: int = -1
    palette: Palette | None = None
    palette_id: int | None = None

    def __post_init__(self) -> None:
        if self.x == -1:
            object.__setattr__(self, "x", self.width)
        if self.y == -1:
            object.__setattr__(self, "y", self.height)
        if len(self.data) != self.stride * self.y:
            raise ValueError(f"bitmap data is {len(self.data)} bytes, stride * y is {self.stride * self.y}")
        _check_palette(self.bitmap_flags, self.palette, self.palette_id, required=False)

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u8(self.format).u8(self.bitmap_flags).u32(self.x).u32(self.y).u32(self.stride)
        _write_palette_field(o, self.bitmap_flags, self.palette, self.palette_id)
        o.w.bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> BitmapImage:
        f = f"{field}.bitmap"
        fmt = read_enum(r, BitmapFmt, r.u8, f"{f}.format")
        bflags = BitmapFlags(r.u8(f"{f}.flags"))
        x, y, stride = r.u32(f"{f}.x"), r.u32(f"{f}.y"), r.u32(f"{f}.stride")
        palette, palette_id = _read_palette_field(r, bflags, f, required=False)
        data = r.bytes(stride * y, f"{f}.data")
        return cls(
            id=d.id,
            flags=d.flags,
            width=d.width,
            height=d.height,
            format=fmt,
            bitmap_flags=bflags,
            x=x,
            y=y,
            stride=stride,
            palette=palette,
            palette_id=palette_id,
            data=data,
        )


@dataclass(frozen=True, kw_only=True)
class BinaryImage(Image):
    """An image whose payload is ``u32 data_size`` then that many bytes of codec data."""

    data: bytes

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u32(len(self.data)).bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> BinaryImage:
        size = r.u32(f"{field}.data_size")
        data = r.bytes(size, f"{field}.data")
        return cls(id=d.id, flags=d.flags, width=d.width, height=d.height, data=data)


@_image_type
@dataclass(frozen=True, kw_only=True)
class QuicImage(BinaryImage):
    """QUIC-compressed pixels (decode with ``spice_quic``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.QUIC


@_image_type
@dataclass(frozen=True, kw_only=True)
class LzRgbImage(BinaryImage):
    """LZ-compressed RGB(A) pixels (decode with ``spice_lz``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ_RGB


@_image_type
@dataclass(frozen=True, kw_only=True)
class GlzRgbImage(BinaryImage):
    """GLZ-compressed pixels, referring to the channel's dictionary (``spice_glz``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.GLZ_RGB


@_image_type
@dataclass(frozen=True, kw_only=True)
class JpegImage(BinaryImage):
    """A JPEG file."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.JPEG


@_image_type
@dataclass(frozen=True, kw_only=True)
class Lz4Image(BinaryImage):
    """LZ4 data: ``u8 top_down, u8 BitmapFmt``, then ``[u32 big-endian size][block]...``."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ4


@_image_type
@dataclass(frozen=True, kw_only=True)
class LzPltImage(Image):
    """LZ-compressed palette indices; the palette is inline or (``PAL_FROM_CACHE``) cached."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ_PLT

    data: bytes
    bitmap_flags: BitmapFlags = _NO_BITMAP_FLAGS
    palette: Palette | None = None
    palette_id: int | None = None

    def __post_init__(self) -> None:
        _check_palette(self.bitmap_flags, self.palette, self.palette_id, required=True)

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u8(self.bitmap_flags).u32(len(self.data))
        _write_palette_field(o, self.bitmap_flags, self.palette, self.palette_id)
        o.w.bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> LzPltImage:
        f = f"{field}.lz_plt"
        bflags = BitmapFlags(r.u8(f"{f}.flags"))
        size = r.u32(f"{f}.data_size")
        palette, palette_id = _read_palette_field(r, bflags, f, required=True)
        data = r.bytes(size, f"{f}.data")
        return cls(
            id=d.id,
            flags=d.flags,
            width=d.width,
            height=d.height,
            bitmap_flags=bflags,
            palette=palette,
            palette_id=palette_id,
            data=data,
        )


@_image_type
@dataclass(frozen=True, kw_only=True)
class ZlibGlzRgbImage(Image):
    """A GLZ image of ``glz_data_size`` bytes, deflated into ``data``."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.ZLIB_GLZ_RGB

    glz_data_size: int
    data: bytes

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u32(self.glz_data_size).u32(len(self.data)).bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> ZlibGlzRgbImage:
        f = f"{field}.zlib_glz"
        glz_size = r.u32(f"{f}.glz_data_size")
        size = r.u32(f"{f}.data_size")
        data = r.bytes(size, f"{f}.data")
        return cls(id=d.id, flags=d.flags, width=d.width, height=d.height, glz_data_size=glz_size, data=data)


@_image_type
@dataclass(frozen=True, kw_only=True)
class JpegAlphaImage(Image):
    """A JPEG (the first ``jpeg_size`` bytes of ``data``) followed by an LZ alpha plane."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.JPEG_ALPHA

    jpeg_size: int
    data: bytes
    jpeg_flags: JpegAlphaFlags = _NO_JPEG_FLAGS

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u8(self.jpeg_flags).u32(self.jpeg_size).u32(len(self.data)).bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> JpegAlphaImage:
        f = f"{field}.jpeg_alpha"
        jflags = JpegAlphaFlags(r.u8(f"{f}.flags"))
        jpeg_size = r.u32(f"{f}.jpeg_size")
        size = r.u32(f"{f}.data_size")
        data = r.bytes(size, f"{f}.data")
        return cls(
            id=d.id,
            flags=d.flags,
            width=d.width,
            height=d.height,
            jpeg_flags=jflags,
            jpeg_size=jpeg_size,
            data=data,
        )


@_image_type
@dataclass(frozen=True, kw_only=True)
class SurfaceImage(Image):
    """The current contents of another surface."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.SURFACE

    surface_id: int

    def _write_payload(self, o: OutWriter) -> None:
        o.w.u32(self.surface_id)

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> SurfaceImage:
        surface_id = r.u32(f"{field}.surface.surface_id")
        return cls(id=d.id, flags=d.flags, width=d.width, height=d.height, surface_id=surface_id)


@dataclass(frozen=True, kw_only=True)
class _PayloadlessImage(Image):
    def _write_payload(self, o: OutWriter) -> None:
        pass

    @classmethod
    def _read_payload(cls, r: Reader, d: ImageDescriptor, field: str) -> Image:
        return cls(id=d.id, flags=d.flags, width=d.width, height=d.height)


@_image_type
@dataclass(frozen=True, kw_only=True)
class FromCacheImage(_PayloadlessImage):
    """The image the client cached under ``id`` (possibly lossy)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.FROM_CACHE


@_image_type
@dataclass(frozen=True, kw_only=True)
class FromCacheLosslessImage(_PayloadlessImage):
    """The image cached under ``id``, which must be the lossless version."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.FROM_CACHE_LOSSLESS
