"""Value types of spice_quic: image types, pixel formats, limits, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "FORMAT_BYTES",
    "INPUT_BYTES",
    "Image",
    "ImageInfo",
    "ImageType",
    "Limits",
    "PixelFormat",
]


class ImageType(enum.IntEnum):
    """QUIC image type, as numbered in the blob header."""

    GRAY = 1
    RGB16 = 2
    RGB24 = 3
    RGB32 = 4
    RGBA = 5


PixelFormat = Literal["bgrx32", "bgra32", "x1r5g5b5", "gray8"]

#: Bytes per pixel of each output format.
FORMAT_BYTES: dict[str, int] = {"bgrx32": 4, "bgra32": 4, "x1r5g5b5": 2, "gray8": 1}

#: Output formats each image type decodes to; the first is the default.
FORMATS: dict[ImageType, tuple[str, ...]] = {
    ImageType.GRAY: ("gray8",),
    ImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    ImageType.RGB24: ("bgrx32",),
    ImageType.RGB32: ("bgrx32",),
    ImageType.RGBA: ("bgra32",),
}

DEFAULT_FORMAT: dict[ImageType, str] = {t: f[0] for t, f in FORMATS.items()}

#: Bytes per source pixel that ``encode`` expects for each image type.
INPUT_BYTES: dict[ImageType, int] = {
    ImageType.GRAY: 1,
    ImageType.RGB16: 2,
    ImageType.RGB24: 3,
    ImageType.RGB32: 4,
    ImageType.RGBA: 4,
}


@dataclass(frozen=True)
class Limits:
    """Caps checked against a blob's header before any memory is allocated."""

    max_pixels: int = 64 * 1024 * 1024
    max_width: int = 1 << 20
    max_height: int = 1 << 20


@dataclass(frozen=True)
class ImageInfo:
    """What a QUIC header announces."""

    image_type: ImageType
    width: int
    height: int


@dataclass(frozen=True)
class Image:
    """A decoded picture: ``pixels`` holds ``height`` rows of ``stride`` bytes, top row first."""

    width: int
    height: int
    format: str
    stride: int
    pixels: bytearray = field(repr=False)
