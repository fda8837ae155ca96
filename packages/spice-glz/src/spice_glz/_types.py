"""Value types: image types, pixel formats, headers, decoded images, limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._contract import PixelFormat

__all__ = ["FORMATS", "INPUT_BYTES", "Header", "Image", "ImageType"]


class ImageType(enum.IntEnum):
    """The LZ image types GLZ streams carry, numbered as in the GLZ header.

    (The header's other LZ types, palette and alpha-only, never occur in GLZ.)
    """

    RGB16 = 6
    RGB24 = 7
    RGB32 = 8
    RGBA = 9


#: Output formats each image type decodes to; the first is chosen when ``format=None``.
FORMATS: dict[ImageType, tuple[PixelFormat, ...]] = {
    ImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    ImageType.RGB24: ("bgrx32",),
    ImageType.RGB32: ("bgrx32",),
    ImageType.RGBA: ("bgra32", "bgrx32"),
}
#: Bytes per pixel of the encoder's input for each type (rows top first).
INPUT_BYTES: dict[ImageType, int] = {
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
    top_down: bool
    stride: int
    image_id: int
    win_head_dist: int


@dataclass(frozen=True)
class Image:
    """A decoded image: rows top first, ``stride`` bytes apart, in ``format``.

    ``pixels`` is read-only; it may share memory with the window.
    """

    width: int
    height: int
    format: PixelFormat
    stride: int
    pixels: memoryview = field(repr=False)
    image_type: ImageType
    image_id: int
