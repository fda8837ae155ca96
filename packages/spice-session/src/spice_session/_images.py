"""Image decoding for the display channel, the pixmap and palette caches, and the GLZ window.

Every image becomes a :class:`Pixels`: a numpy array ``(h, w, 4)`` uint8 B, G, R, X/A
(``alpha`` says whether the fourth byte is alpha) or ``(h, w)`` uint8 for alpha-only images,
rows top first.  :meth:`ImageDecoder.decode_into` is the zero-copy path: QUIC, LZ and GLZ
images written straight into a surface.  Bad data raises :class:`DisplayError`.

Memory: the store charges the session's :class:`~spice_session.MemoryBudget` for the GLZ
window (its full size, up front) and each cached image; a decode is charged for its
working memory while it runs, from the sizes the image claims, before anything is
allocated.  What does not fit is a :class:`~spice_session.BudgetExceeded` (skipped).
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import lz4.block  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import simplejpeg  # type: ignore[import-untyped]
import spice_glz
import spice_lz
import spice_quic
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    FromCacheImage,
    FromCacheLosslessImage,
    GlzRgbImage,
    Image,
    ImageFlags,
    JpegAlphaImage,
    JpegImage,
    Lz4Image,
    LzPltImage,
    LzRgbImage,
    Palette,
    Payload,
    QuicImage,
    SurfaceImage,
    ZlibGlzRgbImage,
)

from ._budget import MemoryBudget
from ._errors import DisplayError
from ._surface import Surface

__all__ = ["ImageDecoder", "ImageStore", "PaletteCache", "Pixels", "describe"]

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]

#: Largest image side and area accepted from the wire.
MAX_IMAGE_SIDE = 1 << 15
MAX_IMAGE_PIXELS = 1 << 26
#: A decode may hold the decoder's output and one converted copy: bytes charged per claimed pixel.
DECODE_BYTES_PER_PIXEL = 8


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


class PaletteCache:
    """The palettes a display channel keeps (PAL_CACHE_ME / PAL_FROM_CACHE), as uint32 arrays."""

    #: More entries than this and the oldest go (the server invalidates long before).
    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._palettes: dict[int, U32] = {}

    def put(self, palette: Palette) -> U32:
        ents = np.array(palette.ents, np.uint32)
        if len(self._palettes) >= self.MAX_ENTRIES and palette.unique not in self._palettes:
            self._palettes.pop(next(iter(self._palettes)))
        self._palettes[palette.unique] = ents
        return ents

    def get(self, palette_id: int) -> U32:
        try:
            return self._palettes[palette_id]
        except KeyError:
            raise DisplayError(f"palette {palette_id:#x} is not in the palette cache") from None

    def remove(self, palette_id: int) -> None:
        self._palettes.pop(palette_id, None)

    def clear(self) -> None:
        self._palettes.clear()

    def __len__(self) -> int:
        return len(self._palettes)

    def __contains__(self, palette_id: object) -> bool:
        return palette_id in self._palettes


class ImageStore:
    """What a session's display channels share: the pixmap cache and the GLZ window.

    The server manages the pixmap cache's budget (it sends INVAL_LIST / INVAL_ALL_PIXMAPS);
    holding more than twice the advertised size means a misbehaving server and is refused.
    ``budget`` is the session's memory budget (a fresh default one if not given).
    """

    def __init__(
        self, pixmap_cache_pixels: int, glz_window_pixels: int, budget: MemoryBudget | None = None
    ) -> None:
        self.budget = budget if budget is not None else MemoryBudget()
        self.pixmap_cache_pixels = pixmap_cache_pixels
        self.budget.charge(4 * glz_window_pixels, f"the GLZ window of {glz_window_pixels} pixels")
        self.glz = spice_glz.Window(glz_window_pixels)
        self._pixmaps: dict[int, Pixels] = {}
        self._pixels = 0

    # -------------------------------------------------------------- pixmap cache
    def put(self, image_id: int, pixels: Pixels) -> None:
        """Cache ``pixels`` under ``image_id`` (a private copy is kept)."""
        self.remove(image_id)
        size = pixels.width * pixels.height
        if self._pixels + size > 2 * self.pixmap_cache_pixels:
            raise DisplayError(
                f"pixmap cache overflow: caching image {image_id:#x} ({size} pixels) would hold "
                f"{self._pixels + size}, twice the advertised {self.pixmap_cache_pixels}"
            )
        self.budget.charge(pixels.data.nbytes, f"caching image {image_id:#x}")
        self._pixmaps[image_id] = Pixels(np.array(pixels.data, copy=True), pixels.alpha, pixels.lossy)
        self._pixels += size

    def replace(self, image_id: int, pixels: Pixels) -> None:
        """CACHE_REPLACE_ME: the lossless version of an entry that was cached lossy."""
        if pixels.lossy:
            raise DisplayError(f"CACHE_REPLACE_ME of image {image_id:#x} with a lossy image")
        if image_id not in self._pixmaps:
            raise DisplayError(f"CACHE_REPLACE_ME of image {image_id:#x}, which is not in the cache")
        self.put(image_id, pixels)

    def get(self, image_id: int, *, lossless: bool = False) -> Pixels:
        try:
            entry = self._pixmaps[image_id]
        except KeyError:
            raise DisplayError(f"image {image_id:#x} is not in the pixmap cache") from None
        if lossless and entry.lossy:
            raise DisplayError(f"FROM_CACHE_LOSSLESS of image {image_id:#x}, cached only lossy")
        return entry

    def remove(self, image_id: int) -> None:
        entry = self._pixmaps.pop(image_id, None)
        if entry is not None:
            self._pixels -= entry.width * entry.height
            self.budget.refund(entry.data.nbytes)

    def clear_pixmaps(self) -> None:
        self.budget.refund(sum(entry.data.nbytes for entry in self._pixmaps.values()))
        self._pixmaps.clear()
        self._pixels = 0

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._pixmaps

    @property
    def cached_pixels(self) -> int:
        return self._pixels

    def __len__(self) -> int:
        return len(self._pixmaps)


# ------------------------------------------------------------------ helpers

_RGB16_EXPAND = np.array([(c << 3) | (c >> 2) for c in range(32)], np.uint8)


def _expand_555(words: npt.NDArray[np.uint16]) -> U8:
    """x1r5g5b5 values -> (h, w, 4) BGRX with each channel widened to 8 bits."""
    out = np.zeros((*words.shape, 4), np.uint8)
    out[..., 0] = _RGB16_EXPAND[words & 31]
    out[..., 1] = _RGB16_EXPAND[(words >> 5) & 31]
    out[..., 2] = _RGB16_EXPAND[(words >> 10) & 31]
    return out


def _unpack_indices(rows: U8, fmt: BitmapFmt, width: int) -> U8:
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


_PALETTE_FORMATS = frozenset(
    {
        BitmapFmt.FMT_1BIT_LE,
        BitmapFmt.FMT_1BIT_BE,
        BitmapFmt.FMT_4BIT_LE,
        BitmapFmt.FMT_4BIT_BE,
        BitmapFmt.FMT_8BIT,
    }
)
_BITS = {
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


def _lookup(palette: U32, indices: U8, what: str) -> U8:
    if palette.size == 0:
        raise DisplayError(f"{what}: empty palette")
    top = int(indices.max()) if indices.size else 0
    if top >= palette.size:
        raise DisplayError(f"{what}: palette index {top} but the palette has {palette.size} entries")
    words = palette[indices]
    return words.view(np.uint8).reshape(*indices.shape, 4)


def _check_size(image: Image) -> None:
    w, h = image.width, image.height
    if not (0 < w <= MAX_IMAGE_SIDE and 0 < h <= MAX_IMAGE_SIDE) or w * h > MAX_IMAGE_PIXELS:
        raise DisplayError(f"{describe(image)}: size out of range")


SurfaceLookup = Callable[[int], Surface]

_LZ4_FORMATS = {
    BitmapFmt.FMT_16BIT: 2,
    BitmapFmt.FMT_24BIT: 3,
    BitmapFmt.FMT_32BIT: 4,
    BitmapFmt.RGBA: 4,
}
#: Codec image types (by name: the three codecs' enums share these names) that decode
#: without conversion into a 4-byte xRGB surface.
_RGB_TYPE_NAMES = frozenset({"RGB16", "RGB24", "RGB32"})


class _CodecHeader(Protocol):
    """What the three codecs' ``read_header`` results have in common."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def image_type(self) -> enum.Enum: ...


def _direct_format(head: _CodecHeader, image: Image, argb: bool) -> str | None:
    """The pixel format to decode ``image`` straight into a 4-byte surface, or ``None``
    when its header disagrees with the descriptor or the format would need converting."""
    if (head.width, head.height) != (image.width, image.height):
        return None
    name = head.image_type.name
    if name == "RGBA":
        return "bgra32"
    if name in _RGB_TYPE_NAMES and not argb:
        return "bgrx32"
    return None


_CODEC_ERRORS = (spice_quic.DecodeError, spice_lz.DecodeError, spice_glz.DecodeError)


class ImageDecoder:
    """Turns wire images into :class:`Pixels`, keeping the caches in step.

    One per display channel: ``palettes`` is the channel's, ``store`` the session's,
    ``surface`` looks up the channel's surfaces (for SURFACE images).
    """

    def __init__(self, store: ImageStore, palettes: PaletteCache, surface: SurfaceLookup) -> None:
        self.store = store
        self.palettes = palettes
        self.surface = surface

    # ----------------------------------------------------------------- public
    def decode(self, image: Image) -> Pixels:
        """Decode ``image`` (any type), caching it when its flags ask."""
        failure = ""
        try:
            with self._working_memory(image):
                pixels = self._decode(image)
        except _CODEC_ERRORS as exc:
            failure = f"{describe(image)}: {exc}"
        if failure:  # raised outside the handler: nothing chains the codec error and its frames
            raise DisplayError(failure)
        if pixels.data.shape[:2] != (image.height, image.width) and not isinstance(image, SurfaceImage):
            raise DisplayError(f"{describe(image)}: the data holds a {pixels.width}x{pixels.height} picture")
        if (
            image.flags & ImageFlags.HIGH_BITS_SET
            and not pixels.alpha
            and not pixels.is_mask
            and not isinstance(image, (FromCacheImage, FromCacheLosslessImage, SurfaceImage))
        ):
            pixels.data[..., 3] = 0xFF
        self._cache(image, pixels)
        return pixels

    def decode_into(self, image: Image, surface: Surface, x: int, y: int) -> bool:
        """Zero-copy: decode a QUIC / LZ_RGB / GLZ_RGB image straight into ``surface`` at ``x, y``.

        Only for 4-byte surfaces, images whose header matches the descriptor, and no
        format change (RGB images into xRGB surfaces, RGBA images into either).  Returns
        False, having done nothing, when the image does not qualify.  The caller has
        checked that the whole image fits inside the surface.
        """
        if surface.words is None or image.flags & ImageFlags.HIGH_BITS_SET:
            return False
        argb = surface.has_alpha
        offset = y * surface.stride + x * 4
        target = surface.flat[offset:]
        failure = ""
        try:
            write: Callable[..., object]
            if isinstance(image, QuicImage):
                head: _CodecHeader = spice_quic.read_header(image.data)
                write = partial(spice_quic.decode_into, image.data)
            elif isinstance(image, LzRgbImage):
                head = spice_lz.read_header(image.data)
                write = partial(spice_lz.decode_into, image.data)
            elif isinstance(image, (GlzRgbImage, ZlibGlzRgbImage)):
                blob = (
                    image.data if isinstance(image, GlzRgbImage) else self._inflate(image, self.store.budget)
                )
                head = spice_glz.read_header(blob)
                write = partial(spice_glz.decode_into, blob, window=self.store.glz)
            else:
                return False
            fmt = _direct_format(head, image, argb)
            if fmt is None:
                return False
            write(target, surface.stride, format=fmt)
        except _CODEC_ERRORS as exc:
            failure = f"{describe(image)}: {exc}"
        if failure:  # raised outside the handler: nothing chains the codec error and its frames
            raise DisplayError(failure)
        if image.flags & (ImageFlags.CACHE_ME | ImageFlags.CACHE_REPLACE_ME):
            region = surface.pixels[y : y + image.height, x : x + image.width]
            self._cache(image, Pixels(region, fmt == "bgra32"))
        return True

    def decode_mask(self, image: Image, invert: bool) -> npt.NDArray[np.bool_]:
        """A QMask bitmap as an (h, w) bool array (True: draw), ``invert`` applied."""
        if isinstance(image, SurfaceImage):
            source = self.surface(image.surface_id)
            plane = source.pixels if source.words is None else source.pixels[..., 3]
            mask = plane != 0
        elif isinstance(image, BitmapImage) and image.format in (
            BitmapFmt.FMT_1BIT_LE,
            BitmapFmt.FMT_1BIT_BE,
        ):
            rows = self._bitmap_rows(image, 1)
            bits = _unpack_indices(rows, image.format, image.x).astype(np.bool_)
            mask = bits
            if image.flags & ImageFlags.CACHE_ME:
                self.store.put(image.id, Pixels(np.where(bits, 255, 0).astype(np.uint8)))
        else:
            pixels = self.decode(image)
            plane = pixels.data if pixels.is_mask else pixels.data[..., 3]
            mask = plane != 0
        result: npt.NDArray[np.bool_] = ~mask if invert else mask
        return result

    # --------------------------------------------------------------- internals
    def _working_memory(self, image: Image) -> AbstractContextManager[None]:
        """Charge the budget for decoding ``image`` (checked against its claimed size first)."""
        if isinstance(image, (FromCacheImage, FromCacheLosslessImage, SurfaceImage)):
            return nullcontext()
        _check_size(image)
        need = DECODE_BYTES_PER_PIXEL * image.width * image.height
        return self.store.budget.hold(need, f"decoding {describe(image)}")

    def _cache(self, image: Image, pixels: Pixels) -> None:
        if isinstance(image, (FromCacheImage, FromCacheLosslessImage)):
            return
        if image.flags & ImageFlags.CACHE_ME:
            self.store.put(image.id, pixels)
        elif image.flags & ImageFlags.CACHE_REPLACE_ME:
            self.store.replace(image.id, pixels)

    def _decode(self, image: Image) -> Pixels:
        if isinstance(image, FromCacheImage):
            return self.store.get(image.id)
        if isinstance(image, FromCacheLosslessImage):
            return self.store.get(image.id, lossless=True)
        if isinstance(image, SurfaceImage):
            source = self.surface(image.surface_id)
            return Pixels(source.pixels, source.has_alpha and source.words is not None)
        _check_size(image)
        if isinstance(image, BitmapImage):
            return self._bitmap(image)
        if isinstance(image, QuicImage):
            return self._quic(image)
        if isinstance(image, LzRgbImage):
            return self._lz_rgb(image)
        if isinstance(image, LzPltImage):
            return self._lz_plt(image)
        if isinstance(image, GlzRgbImage):
            return self._glz(image, image.data)
        if isinstance(image, ZlibGlzRgbImage):
            return self._glz(image, self._inflate(image, self.store.budget))
        if isinstance(image, JpegImage):
            return Pixels(self._jpeg(image, image.data, "BGRX"), lossy=True)
        if isinstance(image, JpegAlphaImage):
            return self._jpeg_alpha(image)
        if isinstance(image, Lz4Image):
            return self._lz4(image)
        raise DisplayError(f"{describe(image)}: image type not supported")

    def _palette(self, image: BitmapImage | LzPltImage) -> U32:
        if image.bitmap_flags & BitmapFlags.PAL_FROM_CACHE:
            assert image.palette_id is not None
            return self.palettes.get(image.palette_id)
        if image.palette is None:
            raise DisplayError(f"{describe(image)}: indexed image without a palette")
        if image.bitmap_flags & BitmapFlags.PAL_CACHE_ME:
            return self.palettes.put(image.palette)
        return np.array(image.palette.ents, np.uint32)

    @staticmethod
    def _bitmap_rows(image: BitmapImage, bits: int) -> U8:
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

    def _bitmap(self, image: BitmapImage) -> Pixels:
        fmt = image.format
        bits = _BITS.get(fmt)
        if bits is None:
            raise DisplayError(f"{describe(image)}: bitmap format {fmt!r} not supported")
        if (image.x, image.y) != (image.width, image.height):
            raise DisplayError(
                f"{describe(image)}: bitmap is {image.x}x{image.y}, the descriptor says otherwise"
            )
        rows = self._bitmap_rows(image, bits)
        h, w = image.y, image.x
        if fmt in _PALETTE_FORMATS:
            indices = _unpack_indices(rows, fmt, w)
            return Pixels(_lookup(self._palette(image), indices, describe(image)))
        if fmt == BitmapFmt.FMT_16BIT:
            words = np.ascontiguousarray(rows).view("<u2").reshape(h, w)
            return Pixels(_expand_555(words))
        if fmt == BitmapFmt.FMT_24BIT:
            out = np.zeros((h, w, 4), np.uint8)
            out[..., :3] = rows.reshape(h, w, 3)
            return Pixels(out)
        if fmt == BitmapFmt.FMT_8BIT_A:
            return Pixels(np.array(rows, copy=True))
        return Pixels(np.array(rows.reshape(h, w, 4), copy=True), alpha=fmt == BitmapFmt.RGBA)

    def _quic(self, image: QuicImage) -> Pixels:
        info = spice_quic.read_header(image.data)
        if info.image_type == spice_quic.ImageType.GRAY:
            out = spice_quic.decode(image.data, format="gray8")
            return Pixels(np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width).copy())
        out = spice_quic.decode(image.data)
        data = np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width, 4)
        return Pixels(data, alpha=info.image_type == spice_quic.ImageType.RGBA)

    def _lz_rgb(self, image: LzRgbImage) -> Pixels:
        head = spice_lz.read_header(image.data)
        if head.image_type.is_palette:
            raise DisplayError(f"{describe(image)}: LZ_RGB carries a palette type {head.image_type.name}")
        out = spice_lz.decode(image.data)
        if out.format == "a8":
            return Pixels(np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width))
        data = np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width, 4)
        return Pixels(data, alpha=out.format == "bgra32")

    def _lz_plt(self, image: LzPltImage) -> Pixels:
        head = spice_lz.read_header(image.data)
        if not head.image_type.is_palette:
            raise DisplayError(f"{describe(image)}: LZ_PLT carries {head.image_type.name}")
        palette = self._palette(image)
        out = spice_lz.decode(image.data, palette=palette.tobytes())
        return Pixels(np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width, 4))

    def _glz(self, image: Image, blob: Payload) -> Pixels:
        out = spice_glz.decode(blob, window=self.store.glz)
        data = np.frombuffer(out.pixels, np.uint8).reshape(out.height, out.width, 4)
        # the window may share this memory: callers must not write to it
        return Pixels(np.array(data, copy=True), alpha=out.format == "bgra32")

    @staticmethod
    def _inflate(image: ZlibGlzRgbImage, budget: MemoryBudget) -> bytes:
        if image.glz_data_size > 4 * MAX_IMAGE_PIXELS + 64:
            raise DisplayError(f"{describe(image)}: glz_data_size {image.glz_data_size} too large")
        inflater = zlib.decompressobj()
        try:
            with budget.hold(image.glz_data_size, f"inflating {describe(image)}"):
                glz = inflater.decompress(image.data, image.glz_data_size)
        except zlib.error as exc:
            raise DisplayError(f"{describe(image)}: corrupt zlib data ({exc})") from None
        if len(glz) != image.glz_data_size:
            raise DisplayError(
                f"{describe(image)}: zlib data inflates to {len(glz)} bytes, "
                f"glz_data_size says {image.glz_data_size}"
            )
        return glz

    @staticmethod
    def _jpeg(image: Image, data: Payload, colorspace: str) -> U8:
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
            if (width, height) != (image.width, image.height):
                raise DisplayError(f"{describe(image)}: the JPEG is {width}x{height}")
            out: U8 = simplejpeg.decode_jpeg(data, colorspace=colorspace)
        except ValueError as exc:
            raise DisplayError(f"{describe(image)}: bad JPEG data ({exc})") from None
        return out

    def _jpeg_alpha(self, image: JpegAlphaImage) -> Pixels:
        if not 0 < image.jpeg_size <= len(image.data):
            raise DisplayError(
                f"{describe(image)}: jpeg_size {image.jpeg_size} outside the {len(image.data)}-byte data"
            )
        rgb = self._jpeg(image, image.data[: image.jpeg_size], "BGRA")
        blob = image.data[image.jpeg_size :]
        failure = ""
        try:
            head = spice_lz.read_header(blob)
            if head.image_type not in (spice_lz.ImageType.XXXA, spice_lz.ImageType.A8):
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

    def _lz4(self, image: Lz4Image) -> Pixels:
        data = image.data
        if len(data) < 2:
            raise DisplayError(f"{describe(image)}: LZ4 data shorter than its 2-byte header")
        top_down, fmt_code = data[0], data[1]
        try:
            fmt = BitmapFmt(fmt_code)
            bpp = _LZ4_FORMATS[fmt]
        except (ValueError, KeyError):
            raise DisplayError(f"{describe(image)}: LZ4 bitmap format {fmt_code} not supported") from None
        w, h = image.width, image.height
        total = w * h * bpp
        out = bytearray()
        pos = 2
        while pos < len(data):
            if pos + 4 > len(data):
                raise DisplayError(f"{describe(image)}: LZ4 block header truncated at byte {pos}")
            (size,) = struct.unpack_from(">I", data, pos)
            pos += 4
            if size > len(data) - pos:
                raise DisplayError(f"{describe(image)}: LZ4 block of {size} bytes at byte {pos} is truncated")
            room = total - len(out)
            if room <= 0:
                raise DisplayError(f"{describe(image)}: LZ4 data continues past the image at byte {pos}")
            try:
                block = lz4.block.decompress(
                    data[pos : pos + size],
                    uncompressed_size=room,
                    dict=bytes(out[-65536:]),
                    return_bytearray=False,
                )
            except lz4.block.LZ4BlockError as exc:
                raise DisplayError(f"{describe(image)}: corrupt LZ4 block at byte {pos} ({exc})") from None
            out += block
            pos += size
        if len(out) != total:
            raise DisplayError(f"{describe(image)}: LZ4 data holds {len(out)} bytes, {total} expected")
        rows = np.frombuffer(out, np.uint8).reshape(h, w * bpp)
        if not top_down:
            rows = rows[::-1]
        if bpp == 2:
            words = np.ascontiguousarray(rows).view("<u2").reshape(h, w)
            return Pixels(_expand_555(words))
        if bpp == 3:
            full = np.zeros((h, w, 4), np.uint8)
            full[..., :3] = rows.reshape(h, w, 3)
            return Pixels(full)
        return Pixels(np.array(rows.reshape(h, w, 4), copy=True), alpha=fmt == BitmapFmt.RGBA)
