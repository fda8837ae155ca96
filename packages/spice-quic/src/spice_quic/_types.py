"""Value types of spice_quic: image types, output formats, header, decoded image."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._contract import PixelFormat

__all__ = ["FORMATS", "INPUT_BYTES", "Header", "Image", "ImageType"]


class ImageType(enum.IntEnum):
    """QUIC image types, numbered as in the blob header."""

    GRAY = 1
    RGB16 = 2
    RGB24 = 3
    RGB32 = 4
    RGBA = 5


#: Output formats each image type decodes to; the first is chosen when ``format=None``.
FORMATS: dict[ImageType, tuple[PixelFormat, ...]] = {
    ImageType.GRAY: ("gray8",),
    ImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    ImageType.RGB24: ("bgrx32",),
    ImageType.RGB32: ("bgrx32",),
    ImageType.RGBA: ("bgra32",),
}

#: Bytes per source pixel that ``encode`` expects for each image type.
INPUT_BYTES: dict[ImageType, int] = {
    ImageType.GRAY: 1,
    ImageType.RGB16: 2,
    ImageType.RGB24: 3,
    ImageType.RGB32: 4,
    ImageType.RGBA: 4,
}


@dataclass(frozen=True)
class Header:
    """What the 20-byte QUIC header announces (QUIC streams are always top row first)."""

    image_type: ImageType
    width: int
    height: int
    top_down: bool = True


@dataclass(frozen=True)
class Image:
    """A decoded picture: ``pixels`` holds ``height`` rows of ``stride`` bytes, top row first."""

    width: int
    height: int
    format: PixelFormat
    stride: int
    pixels: bytearray = field(repr=False)
    image_type: ImageType
