"""Decoders that turn one kind of wire image into :class:`Pixels`, each for one job:
bitmaps, codec images (QUIC, LZ, GLZ through the codec table), JPEG, JPEG with an LZ
alpha plane, and LZ4.  Bad data raises :class:`~spice_session.DisplayError`; codec
errors are left to the caller, which names the image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simplejpeg  # type: ignore[import-untyped]
import spice_lz
from spice_proto import BitmapFlags, BitmapFmt, BitmapImage, Image, JpegAlphaImage, Lz4Image, Payload

from ._errors import DisplayError
from ._image_cache import ImageStore
from ._image_codecs import Codec, CodecImage
from ._lz4 import inflate_lz4
from ._pixels import U8, U32, Pixels, describe, indexed_pixels, rows_to_pixels, unpack_indices

__all__ = [
    "BITS",
    "PALETTE_FORMATS",
    "bitmap_rows",
    "decode_bitmap",
    "decode_codec",
    "decode_jpeg",
    "decode_jpeg_alpha",
    "decode_lz4",
]

#: Bitmap formats that hold palette indices.
PALETTE_FORMATS = frozenset(
    {
        BitmapFmt.FMT_1BIT_LE,
        BitmapFmt.FMT_1BIT_BE,
        BitmapFmt.FMT_4BIT_LE,
        BitmapFmt.FMT_4BIT_BE,
        BitmapFmt.FMT_8BIT,
    }
)
#: Bits per pixel of each bitmap format.
BITS = {
    BitmapFmt.FMT_1BIT_LE: 1,
    BitmapFmt.FMT_1BIT_BE: 1,
    BitmapFmt.FMT_4BIT_LE: 4,
    BitmapFmt.FMT_4BIT_BE: 4,
    BitmapFmt.FMT_8BIT: 8,
    BitmapFmt.FMT_16BIT: 16,
    BitmapFmt.FMT_24BIT: 24,
    BitmapFmt.FMT_32BIT: 32,
    BitmapFmt.RGBA: 32,
    BitmapFmt.FMT_8BIT_A: 8,
}


def bitmap_rows(image: BitmapImage, bits: int) -> U8:
    """The bitmap's rows, top first, each cut to the bytes its pixels use."""
    row_bytes = (image.x * bits + 7) // 8
    if image.x <= 0 or image.y <= 0 or image.stride < row_bytes:
        raise DisplayError(
            f"{describe(image)}: stride {image.stride} too small for {image.x} pixels of {bits} bits"
        )
    if len(image.data) < image.stride * image.y:
        raise DisplayError(
            f"{describe(image)}: {len(image.data)} bytes of pixels for {image.y} rows of {image.stride}"
        )
    rows = np.frombuffer(image.data, np.uint8).reshape(image.y, image.stride)[:, :row_bytes]
    if not image.bitmap_flags & BitmapFlags.TOP_DOWN:
        rows = rows[::-1]
    return rows


def decode_bitmap(image: BitmapImage, palette: Callable[[], U32]) -> Pixels:
    """An uncompressed bitmap; ``palette`` gives the palette of the indexed formats."""
    fmt = image.format
    bits = BITS.get(fmt)
    if bits is None:
        raise DisplayError(f"{describe(image)}: bitmap format {fmt!r} not supported")
    if (image.x, image.y) != (image.width, image.height):
        raise DisplayError(f"{describe(image)}: bitmap is {image.x}x{image.y}, the descriptor says otherwise")
    rows = bitmap_rows(image, bits)
    if fmt in PALETTE_FORMATS:
        return indexed_pixels(palette(), unpack_indices(rows, fmt, image.x), describe(image))
    return rows_to_pixels(rows, fmt, image.x, image.y)


def _codec_pixels(out: CodecImage) -> Pixels:
    """A codec's decoded image as :class:`Pixels` (copied when the codec shares its memory)."""
    flat = np.frombuffer(out.pixels, np.uint8)
    if not flat.flags.writeable:  # GLZ hands out the window's own copy
        flat = flat.copy()
    if out.format in ("gray8", "a8"):
        return Pixels(flat.reshape(out.height, out.width))
    return Pixels(flat.reshape(out.height, out.width, 4), alpha=out.format == "bgra32")


def decode_codec(
    image: Image, codec: Codec, store: ImageStore, palette: Callable[[], U32] | None = None
) -> Pixels:
    """A QUIC, LZ or GLZ image through its entry in the codec table (``palette`` gives the
    palette of an indexed image, once its header has been checked)."""
    blob = codec.blob(image, store)
    head = codec.read_header(blob)
    if head.image_type not in codec.carries:
        raise DisplayError(f"{describe(image)}: {image.type.name} cannot carry {head.image_type.name}")
    entries = None if palette is None else palette().tobytes()
    return _codec_pixels(codec.decode(blob, store, entries))


def _jpeg(image: Image, data: Payload, colorspace: str) -> U8:
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        if (width, height) != (image.width, image.height):
            raise DisplayError(f"{describe(image)}: the JPEG is {width}x{height}")
        out: U8 = simplejpeg.decode_jpeg(data, colorspace=colorspace)
    except ValueError as exc:
        raise DisplayError(f"{describe(image)}: bad JPEG data ({exc})") from None
    return out


def decode_jpeg(image: Image, data: Payload) -> Pixels:
    """A JPEG image (lossy, no alpha)."""
    return Pixels(_jpeg(image, data, "BGRX"), lossy=True)


_ALPHA_TYPES = (spice_lz.ImageType.XXXA, spice_lz.ImageType.A8)


def decode_jpeg_alpha(image: JpegAlphaImage) -> Pixels:
    """A JPEG picture whose alpha plane follows as an LZ XXXA or A8 image."""
    if not 0 < image.jpeg_size <= len(image.data):
        raise DisplayError(
            f"{describe(image)}: jpeg_size {image.jpeg_size} outside the {len(image.data)}-byte data"
        )
    rgb = _jpeg(image, image.data[: image.jpeg_size], "BGRA")
    blob = image.data[image.jpeg_size :]
    failure = ""
    try:
        head = spice_lz.read_header(blob)
        if head.image_type not in _ALPHA_TYPES:
            raise DisplayError(f"{describe(image)}: alpha plane is LZ {head.image_type.name}")
        if (head.width, head.height) != (image.width, image.height):
            raise DisplayError(f"{describe(image)}: alpha plane is {head.width}x{head.height}")
        alpha = spice_lz.decode(blob, format="a8")
    except spice_lz.DecodeError as exc:
        failure = f"{describe(image)}: alpha plane: {exc}"
    if failure:  # raised outside the handler: nothing chains the codec error and its frames
        raise DisplayError(failure)
    rgb[..., 3] = np.frombuffer(alpha.pixels, np.uint8).reshape(alpha.height, alpha.width)
    return Pixels(rgb, alpha=True, lossy=True)


def decode_lz4(image: Lz4Image) -> Pixels:
    """An LZ4 image (16, 24, 32-bit or RGBA rows)."""
    w, h = image.width, image.height
    fmt, top_down, raw = inflate_lz4(image.data, w, h, describe(image))
    rows = np.frombuffer(raw, np.uint8).reshape(h, len(raw) // h)
    if not top_down:
        rows = rows[::-1]
    return rows_to_pixels(rows, fmt, w, h)
