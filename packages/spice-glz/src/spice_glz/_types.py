"""Value types: image types, pixel formats, headers, decoded images, limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "BYTES_PER_PIXEL",
    "DEFAULT_FORMATS",
    "FORMATS",
    "INPUT_BYTES_PER_PIXEL",
    "Header",
    "Image",
    "ImageType",
    "Limits",
]


class ImageType(enum.IntEnum):
    """LZ image types as numbered in the GLZ header (GLZ streams carry RGB16/24/32 and RGBA)."""

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


#: Output formats each supported type decodes to; the first is the default.
FORMATS: dict[ImageType, tuple[str, ...]] = {
    ImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    ImageType.RGB24: ("bgrx32",),
    ImageType.RGB32: ("bgrx32",),
    ImageType.RGBA: ("bgra32", "bgrx32"),
}
DEFAULT_FORMATS: dict[ImageType, str] = {t: f[0] for t, f in FORMATS.items()}
BYTES_PER_PIXEL: dict[str, int] = {"bgrx32": 4, "bgra32": 4, "x1r5g5b5": 2}
#: Bytes per pixel of the encoder's input for each type (rows top first).
INPUT_BYTES_PER_PIXEL: dict[ImageType, int] = {
    ImageType.RGB16: 2,
    ImageType.RGB24: 3,
    ImageType.RGB32: 4,
    ImageType.RGBA: 4,
}


@dataclass(frozen=True)
class Header:
    """The 33-byte GLZ header."""

    image_type: ImageType
    width: int
    height: int
    stride: int
    top_down: bool
    image_id: int
    win_head_dist: int


@dataclass(frozen=True)
class Image:
    """A decoded image: rows top first, ``stride`` bytes apart, in ``format``.

    ``pixels`` is read-only; it may share memory with the window.
    """

    width: int
    height: int
    format: str
    stride: int
    pixels: memoryview
    image_type: ImageType
    image_id: int


@dataclass(frozen=True)
class Limits:
    """Caps applied before any allocation.

    ``max_pixels`` bounds width*height of one image, ``max_zlib_bytes`` the inflated size of
    a ZLIB_GLZ_RGB payload.
    """

    max_pixels: int = 64 * 1024 * 1024
    max_zlib_bytes: int = 512 * 1024 * 1024
