"""Value types of spice_lz: image types, pixel formats, header, decoded image, limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

PixelFormat = Literal["bgrx32", "bgra32", "x1r5g5b5", "a8"]

#: Bytes per pixel of each output format.
FORMAT_BPP: dict[str, int] = {"bgrx32": 4, "bgra32": 4, "x1r5g5b5": 2, "a8": 1}


class LzImageType(enum.IntEnum):
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
        return self <= LzImageType.PLT8

    @property
    def formats(self) -> tuple[PixelFormat, ...]:
        """Output formats the decoder offers for this type; the first is the default."""
        return _FORMATS[self]

    def row_bytes(self, width: int) -> int:
        """Bytes of one row in this type's native (encoder input) layout."""
        if self.is_palette:
            per_byte = _PIXELS_PER_BYTE[self]
            return (width + per_byte - 1) // per_byte
        return width * _NATIVE_BPP[self]


_FORMATS: dict[LzImageType, tuple[PixelFormat, ...]] = {
    **{t: ("bgrx32",) for t in LzImageType if t.value <= 5},
    LzImageType.RGB16: ("bgrx32", "x1r5g5b5"),
    LzImageType.RGB24: ("bgrx32",),
    LzImageType.RGB32: ("bgrx32",),
    LzImageType.RGBA: ("bgra32",),
    LzImageType.XXXA: ("a8",),
    LzImageType.A8: ("a8",),
}
_PIXELS_PER_BYTE = {
    LzImageType.PLT1_LE: 8,
    LzImageType.PLT1_BE: 8,
    LzImageType.PLT4_LE: 2,
    LzImageType.PLT4_BE: 2,
    LzImageType.PLT8: 1,
}
_NATIVE_BPP = {
    LzImageType.RGB16: 2,
    LzImageType.RGB24: 3,
    LzImageType.RGB32: 4,
    LzImageType.RGBA: 4,
    LzImageType.XXXA: 4,
    LzImageType.A8: 1,
}


@dataclass(frozen=True)
class Header:
    """The 28-byte LZ header: type, size, header stride and row order."""

    image_type: LzImageType
    width: int
    height: int
    stride: int
    top_down: bool


@dataclass(frozen=True)
class Image:
    """A decoded image: ``pixels`` holds ``height`` rows of ``stride`` bytes, top row first."""

    width: int
    height: int
    format: PixelFormat
    stride: int
    pixels: bytearray


@dataclass(frozen=True)
class Limits:
    """Caps checked against a blob's header before anything is allocated."""

    max_width: int = 1 << 16
    max_height: int = 1 << 16
    max_pixels: int = 64 << 20


DEFAULT_LIMITS = Limits()
