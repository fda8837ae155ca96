"""SpiceImage: the descriptor and one class per image type.

An image on the wire is an 18-byte descriptor ``{id u64, type u8, flags u8,
width u32, height u32}`` followed by data that depends on the type.  Here each
type is its own frozen dataclass (``QuicImage``, ``BitmapImage``, ...) carrying
the descriptor fields (``id``, ``flags``, ``width``, ``height``) and its
payload; pixel and compressed payloads (``data``) are kept exactly as they came,
ready for the codec packages: decoded from an immutable body, ``data`` is a
read-only ``memoryview`` into it rather than a copy (see :data:`Payload`).  All
fields are keyword-only.
"""

from __future__ import annotations

import struct
from typing import Annotated, Any, ClassVar, TypeVar

from ._enums import BitmapFlags, BitmapFmt, ImageFlags, ImageType, JpegAlphaFlags
from ._errors import ProtocolError
from ._field_codecs import U32, U64, Fixed, SizedBytes, bit_flags
from ._fields import Entry, Layout, OutWriter, layout, member, read_payload, read_pointer, sub
from ._frozen import frozen, frozen_kw
from ._wire import Payload, Reader

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
_image_flags = member(ImageFlags)

_SIZED_BYTES = SizedBytes()


def _values(*values: Any) -> tuple[Any, ...]:
    return values


def _unpacked(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return values


@frozen
class Palette:
    """A colour table: ``unique`` (its cache id) and up to 65535 u32 entries."""

    unique: int
    ents: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.ents) > 0xFFFF:
            raise ValueError(f"palette has {len(self.ents)} entries, at most 65535 fit")

    def _write(self, o: OutWriter) -> None:
        o.w.u64(self.unique).u16(len(self.ents)).pack(struct.Struct(f"<{len(self.ents)}I"), *self.ents)

    @classmethod
    def _read(cls, r: Reader, field: str) -> Palette:
        unique, count = _PALETTE_HEAD.read(r, field)
        name = sub(field, "ents")
        return cls(unique, tuple(r.array(count, lambda rr: U32.read(rr, name), name, 4)))


_PALETTE_HEAD: Fixed[tuple[Any, ...]] = Fixed("QH", ("unique", "num_ents"), _values, _unpacked)


@frozen
class ImageDescriptor:
    """The common head of every image."""

    id: int
    type: ImageType
    flags: ImageFlags
    width: int
    height: int

    def _write(self, o: OutWriter) -> None:
        _HEAD.write(o, (self.id, self.type, self.flags, self.width, self.height))

    @classmethod
    def _read(cls, r: Reader, field: str) -> ImageDescriptor:
        image_id, image_type, flags, width, height = _HEAD.read(r, field)
        return cls(image_id, image_type, _image_flags(flags), width, height)


#: The descriptor as a tuple (id, type, flags, width, height), ``type`` checked.
_HEAD: Fixed[tuple[Any, ...]] = Fixed(
    "QBBII", ("id", "type", "flags", "width", "height"), _values, _unpacked, {1: ImageType}
)

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


@frozen_kw
class Image:
    """Base of the image classes: the descriptor fields; subclasses add the payload.

    A subclass declares its payload with codecs (``data: Annotated[Payload, ...]``, or
    ``_WIRE`` entries), named under ``_WIRE_PREFIX`` in errors, or overrides the two
    ``_payload`` methods.
    """

    IMAGE_TYPE: ClassVar[ImageType]
    _WIRE_PREFIX: ClassVar[str] = ""

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

    @classmethod
    def _wire(cls) -> Layout:
        return layout(cls, cls._WIRE_PREFIX)

    def _write(self, o: OutWriter) -> None:
        """Descriptor then payload (anything pointed to is queued on ``o``)."""
        _HEAD.write(o, (self.id, self.IMAGE_TYPE, self.flags, self.width, self.height))
        self._write_payload(o)

    def _write_payload(self, o: OutWriter) -> None:
        self._wire().write(o, self)

    @classmethod
    def _read_payload(cls, r: Reader, field: str) -> dict[str, Any]:
        """The payload's fields by name (the caller adds the descriptor's)."""
        wire = cls._wire()
        return dict(zip(wire.fields, wire.read(r, field), strict=True))

    @staticmethod
    def _read(r: Reader, field: str) -> Image:
        """Read one image (descriptor and payload) of any type."""
        image_id, image_type, flags, width, height = _HEAD.read(r, field)
        cls = _IMAGE_CLASSES.get(image_type)
        if cls is None:
            raise ProtocolError(
                f"image type {image_type.name} carries no image",
                where=r.where,
                field=field,
                offset=r.pos - 18,
            )
        payload = cls._read_payload(r, field)
        return cls(id=image_id, flags=_image_flags(flags), width=width, height=height, **payload)


def write_image_pointer(o: OutWriter, image: Image | None) -> None:
    """A pointer to ``image`` (null for ``None``); the image is laid out later."""
    o.pointer(None if image is None else image._write)


def read_image_pointer(r: Reader, field: str, *, required: bool) -> Image | None:
    """Follow an image pointer; a null one is ``None`` unless ``required``."""
    target = read_pointer(r, field, required=required)
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
    r: Reader, flags: BitmapFlags, field: str, prefix: str, *, required: bool
) -> dict[str, Any]:
    """``palette`` and ``palette_id`` of a bitmap or LZ_PLT payload (``prefix`` names it)."""
    if flags & BitmapFlags.PAL_FROM_CACHE:
        return {"palette": None, "palette_id": U64.read(r, field, prefix + ".palette_id")}
    target = read_pointer(r, field, prefix + ".palette", required=required)
    palette = None if target is None else Palette._read(target, sub(field, prefix + ".palette"))
    return {"palette": palette, "palette_id": None}


@_image_type
@frozen_kw
class BitmapImage(Image):
    """Uncompressed pixels: ``stride * y`` bytes, rows bottom-up unless ``TOP_DOWN``.

    ``x`` and ``y`` are the bitmap's own width and height (-1: same as the descriptor's).
    The palette is either inline (``palette``, for the indexed formats) or, with
    ``BitmapFlags.PAL_FROM_CACHE``, a ``palette_id`` from the client's cache.
    """

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.BITMAP

    format: BitmapFmt
    stride: int
    data: Payload
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
        _BITMAP_HEAD.write(o, (self.format, self.bitmap_flags, self.x, self.y, self.stride))
        _write_palette_field(o, self.bitmap_flags, self.palette, self.palette_id)
        o.w.bytes(self.data)

    @classmethod
    def _read_payload(cls, r: Reader, field: str) -> dict[str, Any]:
        fmt, bflags, x, y, stride = _BITMAP_HEAD.read(r, field, "bitmap")
        bflags = BitmapFlags(bflags)
        palette = _read_palette_field(r, bflags, field, "bitmap", required=False)
        data = read_payload(r, stride * y, field, "bitmap.data")
        return {
            "format": fmt,
            "bitmap_flags": bflags,
            "x": x,
            "y": y,
            "stride": stride,
            "data": data,
            **palette,
        }


_BITMAP_HEAD: Fixed[tuple[Any, ...]] = Fixed(
    "BBIII", ("format", "flags", "x", "y", "stride"), _values, _unpacked, {0: BitmapFmt}
)


@frozen_kw
class BinaryImage(Image):
    """An image whose payload is ``u32 data_size`` then that many bytes of codec data."""

    data: Annotated[Payload, _SIZED_BYTES]


@_image_type
@frozen_kw
class QuicImage(BinaryImage):
    """QUIC-compressed pixels (decode with ``spice_quic``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.QUIC


@_image_type
@frozen_kw
class LzRgbImage(BinaryImage):
    """LZ-compressed RGB(A) pixels (decode with ``spice_lz``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ_RGB


@_image_type
@frozen_kw
class GlzRgbImage(BinaryImage):
    """GLZ-compressed pixels, referring to the channel's dictionary (``spice_glz``)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.GLZ_RGB


@_image_type
@frozen_kw
class JpegImage(BinaryImage):
    """A JPEG file."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.JPEG


@_image_type
@frozen_kw
class Lz4Image(BinaryImage):
    """LZ4 data: ``u8 top_down, u8 BitmapFmt``, then ``[u32 big-endian size][block]...``."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ4


@_image_type
@frozen_kw
class LzPltImage(Image):
    """LZ-compressed palette indices; the palette is inline or (``PAL_FROM_CACHE``) cached."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.LZ_PLT

    data: Payload
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
    def _read_payload(cls, r: Reader, field: str) -> dict[str, Any]:
        bflags, size = _LZ_PLT_HEAD.read(r, field, "lz_plt")
        bflags = BitmapFlags(bflags)
        palette = _read_palette_field(r, bflags, field, "lz_plt", required=True)
        return {"bitmap_flags": bflags, "data": read_payload(r, size, field, "lz_plt.data"), **palette}


_LZ_PLT_HEAD: Fixed[tuple[Any, ...]] = Fixed("BI", ("flags", "data_size"), _values, _unpacked)


@_image_type
@frozen_kw
class ZlibGlzRgbImage(Image):
    """A GLZ image of ``glz_data_size`` bytes, deflated into ``data``."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.ZLIB_GLZ_RGB
    _WIRE_PREFIX: ClassVar[str] = "zlib_glz"

    glz_data_size: Annotated[int, U32]
    data: Annotated[Payload, _SIZED_BYTES]


@_image_type
@frozen_kw
class JpegAlphaImage(Image):
    """A JPEG (the first ``jpeg_size`` bytes of ``data``) followed by an LZ alpha plane."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.JPEG_ALPHA

    _WIRE_PREFIX: ClassVar[str] = "jpeg_alpha"

    jpeg_size: int
    data: Payload
    jpeg_flags: JpegAlphaFlags = _NO_JPEG_FLAGS

    #: The flags come first on the wire.
    _WIRE: ClassVar[tuple[Entry, ...]] = (
        ("jpeg_flags", bit_flags("B", JpegAlphaFlags), "flags"),
        ("jpeg_size", U32, "jpeg_size"),
        ("data", _SIZED_BYTES, "data"),
    )


@_image_type
@frozen_kw
class SurfaceImage(Image):
    """The current contents of another surface."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.SURFACE
    _WIRE_PREFIX: ClassVar[str] = "surface"

    surface_id: Annotated[int, U32]


@_image_type
@frozen_kw
class FromCacheImage(Image):
    """The image the client cached under ``id`` (possibly lossy)."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.FROM_CACHE


@_image_type
@frozen_kw
class FromCacheLosslessImage(Image):
    """The image cached under ``id``, which must be the lossless version."""

    IMAGE_TYPE: ClassVar[ImageType] = ImageType.FROM_CACHE_LOSSLESS
