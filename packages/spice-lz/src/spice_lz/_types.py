"""Value types of spice_lz: image types, output formats, header, decoded image."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._contract import PixelFormat

__all__ = ["FORMATS", "Header", "Image", "ImageType"]


class ImageType(enum.IntEnum):
    """LZ image types, numbered as in the blob header."""

    PLT1_LE = 1
    PLT1_BE = 2
    PLT4_LE = 3
    PLT4_BE = 4
    PLT8 = 5
    RGB16 = 6
    RGB24 = 7
    RGB32 = 8
    RGBA = 9
    XXXA = 10
    A8 = 11

    @property
    def is_palette(self) -> bool:
        """True for the PLT types, whose pixels are palette indices."""
        return self <= ImageType.PLT8

    def row_bytes(self, width: int) -> int:
        """Bytes of one row in this type's native (encoder input) layout."""
        if self.is_palette:
            per_byte = _PIXELS_PER_BYTE[self]
            return (width + per_byte - 1) // per_byte
        return width * _NATIVE_BPP[self]


#: Output formats each image type decodes to; the first is chosen when ``format=None``.
FORMATS: dict[ImageType, tuple[PixelFormat, ...]] = {
    **{t: ("bgrx32",) for t in ImageType if t.value <= 5},
    ImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    ImageType.RGB24: ("bgrx32",),
    ImageType.RGB32: ("bgrx32",),
    ImageType.RGBA: ("bgra32",),
    ImageType.XXXA: ("a8",),
    ImageType.A8: ("a8",),
}
_PIXELS_PER_BYTE = {
    ImageType.PLT1_LE: 8,
    ImageType.PLT1_BE: 8,
    ImageType.PLT4_LE: 2,
    ImageType.PLT4_BE: 2,
    ImageType.PLT8: 1,
}
_NATIVE_BPP = {
    ImageType.RGB16: 2,
    ImageType.RGB24: 3,
    ImageType.RGB32: 4,
    ImageType.RGBA: 4,
    ImageType.XXXA: 4,
    ImageType.A8: 1,
}


@dataclass(frozen=True)
class Header:
    """The 28-byte LZ header: type, size, row order and the stride of the coded rows."""

    image_type: ImageType
    width: int
    height: int
    top_down: bool
    stride: int


@dataclass(frozen=True)
class Image:
    """A decoded image: ``pixels`` holds ``height`` rows of ``stride`` bytes, top row first."""

    width: int
    height: int
    format: PixelFormat
    stride: int
    pixels: bytearray = field(repr=False)
    image_type: ImageType
