"""Decoded pictures (:class:`Pixels`) and the numpy conversions from raw wire rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from spice_proto import BitmapFmt, Image

from ._errors import DisplayError

__all__ = [
    "MAX_IMAGE_PIXELS",
    "MAX_IMAGE_SIDE",
    "U8",
    "U32",
    "Pixels",
    "check_size",
    "describe",
    "indexed_pixels",
    "rows_to_pixels",
    "unpack_indices",
]

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]

#: Largest image side and area accepted from the wire.
MAX_IMAGE_SIDE = 1 << 15
MAX_IMAGE_PIXELS = 1 << 26


@dataclass
class Pixels:
    """A decoded image, rows top first.

    ``data`` is ``(h, w, 4)`` uint8 B, G, R, X/A, or ``(h, w)`` uint8 for an alpha-only image.
    ``alpha``: the fourth byte is alpha (RGBA images); ``lossy``: it came from JPEG.
    """

    data: U8
    alpha: bool = False
    lossy: bool = False

    @property
    def width(self) -> int:
        return int(self.data.shape[1])

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def is_mask(self) -> bool:
        """One byte per pixel (alpha-only image or a 1-bit mask expanded to 0/255)."""
        return self.data.ndim == 2

    def words(self) -> U32:
        """``(h, w)`` uint32 view (``0xAARRGGBB``) of a 4-byte image (contiguous copy if needed)."""
        data = self.data if self.data.flags.c_contiguous else np.ascontiguousarray(self.data)
        return data.view(np.uint32).reshape(data.shape[0], data.shape[1])


def describe(image: Image) -> str:
    """``QUIC image id 0x12 (64x32)`` for error messages."""
    return f"{image.type.name} image id {image.id:#x} ({image.width}x{image.height})"


def check_size(image: Image) -> None:
    """DisplayError when the descriptor's size is out of range."""
    w, h = image.width, image.height
    if not (0 < w <= MAX_IMAGE_SIDE and 0 < h <= MAX_IMAGE_SIDE) or w * h > MAX_IMAGE_PIXELS:
        raise DisplayError(f"{describe(image)}: size out of range")


_RGB16_EXPAND = np.array([(c << 3) | (c >> 2) for c in range(32)], np.uint8)


def _expand_555(words: npt.NDArray[np.uint16]) -> U8:
    """x1r5g5b5 values -> (h, w, 4) BGRX with each channel widened to 8 bits."""
    out = np.zeros((*words.shape, 4), np.uint8)
    out[..., 0] = _RGB16_EXPAND[words & 31]
    out[..., 1] = _RGB16_EXPAND[(words >> 5) & 31]
    out[..., 2] = _RGB16_EXPAND[(words >> 10) & 31]
    return out


def rows_to_pixels(rows: U8, fmt: BitmapFmt, width: int, height: int) -> Pixels:
    """Rows (top first) of 16, 24, 32-bit, RGBA or 8-bit alpha pixels as :class:`Pixels`."""
    if fmt == BitmapFmt.FMT_16BIT:
        words = np.ascontiguousarray(rows).view("<u2").reshape(height, width)
        return Pixels(_expand_555(words))
    if fmt == BitmapFmt.FMT_24BIT:
        out = np.zeros((height, width, 4), np.uint8)
        out[..., :3] = rows.reshape(height, width, 3)
        return Pixels(out)
    if fmt == BitmapFmt.FMT_8BIT_A:
        return Pixels(np.array(rows, copy=True))
    return Pixels(np.array(rows.reshape(height, width, 4), copy=True), alpha=fmt == BitmapFmt.RGBA)


def unpack_indices(rows: U8, fmt: BitmapFmt, width: int) -> U8:
    """Packed 1/4/8-bit palette indices (one row per line of ``rows``) -> (h, width) indices."""
    if fmt == BitmapFmt.FMT_8BIT:
        return rows[:, :width]
    if fmt in (BitmapFmt.FMT_1BIT_LE, BitmapFmt.FMT_1BIT_BE):
        bits: U8 = np.unpackbits(rows, axis=1, bitorder="little" if fmt == BitmapFmt.FMT_1BIT_LE else "big")
        return bits[:, :width]
    high, low = rows >> 4, rows & 15
    first, second = (high, low) if fmt == BitmapFmt.FMT_4BIT_BE else (low, high)
    out = np.empty((rows.shape[0], rows.shape[1] * 2), np.uint8)
    out[:, 0::2] = first
    out[:, 1::2] = second
    return out[:, :width]


def indexed_pixels(palette: U32, indices: U8, what: str) -> Pixels:
    """Palette indices looked up in ``palette`` (DisplayError naming ``what`` if one is outside)."""
    if palette.size == 0:
        raise DisplayError(f"{what}: empty palette")
    top = int(indices.max()) if indices.size else 0
    if top >= palette.size:
        raise DisplayError(f"{what}: palette index {top} but the palette has {palette.size} entries")
    words = palette[indices]
    return Pixels(words.view(np.uint8).reshape(*indices.shape, 4))
