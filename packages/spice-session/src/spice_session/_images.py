"""The display channel's image path: wire images to :class:`Pixels`, caches kept in step.

:class:`ImageDecoder` dispatches on the SPICE image type (a table), charges the memory
budget for each decode, applies the image flags (caching, high bits) and offers the
zero-copy path :meth:`ImageDecoder.decode_into` (QUIC, LZ and GLZ images written
straight into a surface).  Bad data raises :class:`DisplayError`.

Memory: a decode is charged for its working memory while it runs, from the sizes the
image claims, before anything is allocated.  What does not fit is a
:class:`~spice_session.BudgetExceeded` (skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    FromCacheImage,
    FromCacheLosslessImage,
    Image,
    ImageFlags,
    ImageType,
    LzPltImage,
    SurfaceImage,
)

from ._errors import DisplayError
from ._image_cache import ImageStore, PaletteCache
from ._image_codecs import CODEC_ERRORS, CODECS, Codec
from ._image_decoders import (
    bitmap_rows,
    decode_bitmap,
    decode_codec,
    decode_jpeg,
    decode_jpeg_alpha,
    decode_lz4,
)
from ._pixels import U32, Pixels, check_size, describe, unpack_indices
from ._surface import Surface

__all__ = ["ImageDecoder"]

#: A decode may hold the decoder's output and one converted copy: bytes charged per claimed pixel.
DECODE_BYTES_PER_PIXEL = 8

SurfaceLookup = Callable[[int], Surface]
_HIGH_BITS_SET = int(ImageFlags.HIGH_BITS_SET)
_CACHING = int(ImageFlags.CACHE_ME | ImageFlags.CACHE_REPLACE_ME)
_NO_FLAGS = ImageFlags(0)
#: Image types whose pixels come from the caches or a surface, not from the image.
_REFERENCES = (FromCacheImage, FromCacheLosslessImage, SurfaceImage)


def _zero_copy_codec(image: Image) -> Codec | None:
    """The codec that decodes ``image``'s type straight into a surface, if any."""
    codec = CODECS.get(image.type)
    return codec if codec is not None and codec.decode_into is not None else None


class ImageDecoder:
    """Turns wire images into :class:`Pixels`, keeping the caches in step.

    One per display channel: ``palettes`` is the channel's, ``store`` the session's,
    ``surface`` looks up the channel's surfaces (for SURFACE images).
    """

    def __init__(self, store: ImageStore, palettes: PaletteCache, surface: SurfaceLookup) -> None:
        self.store = store
        self.palettes = palettes
        self.surface = surface
        self._decoders: dict[ImageType, Callable[[Any], Pixels]] = {
            ImageType.BITMAP: self._bitmap,
            ImageType.JPEG: lambda image: decode_jpeg(image, image.data),
            ImageType.JPEG_ALPHA: decode_jpeg_alpha,
            ImageType.LZ4: decode_lz4,
            ImageType.FROM_CACHE: lambda image: self.store.get(image.id),
            ImageType.FROM_CACHE_LOSSLESS: lambda image: self.store.get(image.id, lossless=True),
            ImageType.SURFACE: self._surface_pixels,
            **dict.fromkeys(CODECS, self._codec),
        }
        #: The codec that decodes into a surface, by image class (None: none does).
        self._into: dict[type[Image], Codec | None] = {}

    # ----------------------------------------------------------------- public
    def decode(self, image: Image) -> Pixels:
        """Decode ``image`` (any type), caching it when its flags ask."""
        failure = ""
        try:
            with self._working_memory(image):
                pixels = self._decode(image)
        except CODEC_ERRORS as exc:
            failure = f"{describe(image)}: {exc}"
        if failure:  # raised outside the handler: nothing chains the codec error and its frames
            raise DisplayError(failure)
        if pixels.data.shape[:2] != (image.height, image.width) and not isinstance(image, SurfaceImage):
            raise DisplayError(f"{describe(image)}: the data holds a {pixels.width}x{pixels.height} picture")
        if (
            image.flags & ImageFlags.HIGH_BITS_SET
            and not pixels.alpha
            and not pixels.is_mask
            and not isinstance(image, _REFERENCES)
        ):
            pixels.data[..., 3] = 0xFF
        self._cache(image, pixels)
        return pixels

    def decode_into(self, image: Image, surface: Surface, x: int, y: int) -> bool:
        """Zero-copy: decode a QUIC / LZ_RGB / GLZ_RGB / ZLIB_GLZ_RGB image straight into
        ``surface`` at ``x, y``.

        Only for 4-byte surfaces, images whose header matches the descriptor, and no
        format change (RGB images into xRGB surfaces, RGBA images into either).  Returns
        False, having done nothing, when the image does not qualify.  The caller has
        checked that the whole image fits inside the surface.
        """
        try:
            codec = self._into[type(image)]
        except KeyError:  # first image of its class (keyed by class: no `type` property per draw)
            codec = self._into[type(image)] = _zero_copy_codec(image)
        if codec is None:
            return False
        # plain int arithmetic: flag enum operators (and int() of a flag) are slow
        flags = 0 if image.flags is _NO_FLAGS else int(image.flags)
        if surface.words is None or flags & _HIGH_BITS_SET:
            return False
        failure = ""
        try:
            blob = codec.blob(image, self.store)
            if codec.decode_at is not None:  # one call: header checked and decoded in C
                fmt = codec.decode_at(blob, surface, x, y, image, self.store)
            else:
                fmt = codec.direct_format(codec.read_header(blob), image, surface.has_alpha)
                into = codec.decode_into
                if fmt is not None and into is not None:  # (into: never None, see _zero_copy_codec)
                    into(blob, surface.flat[y * surface.stride + x * 4 :], surface.stride, fmt, self.store)
            if fmt is None:
                return False
        except CODEC_ERRORS as exc:
            failure = f"{describe(image)}: {exc}"
        if failure:  # raised outside the handler: nothing chains the codec error and its frames
            raise DisplayError(failure)
        if flags & _CACHING:
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
            rows = bitmap_rows(image, 1)
            bits = unpack_indices(rows, image.format, image.x).astype(np.bool_)
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
        if isinstance(image, _REFERENCES):
            return nullcontext()
        check_size(image)
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
        decoder = self._decoders.get(image.type)
        if decoder is None:
            raise DisplayError(f"{describe(image)}: image type not supported")
        return decoder(image)

    def _surface_pixels(self, image: SurfaceImage) -> Pixels:
        source = self.surface(image.surface_id)
        return Pixels(source.pixels, source.has_alpha and source.words is not None)

    def _codec(self, image: Image) -> Pixels:
        palette = (lambda: self._palette(image)) if isinstance(image, LzPltImage) else None
        return decode_codec(image, CODECS[image.type], self.store, palette)

    def _bitmap(self, image: BitmapImage) -> Pixels:
        return decode_bitmap(image, lambda: self._palette(image))

    def _palette(self, image: BitmapImage | LzPltImage) -> U32:
        if image.bitmap_flags & BitmapFlags.PAL_FROM_CACHE:
            assert image.palette_id is not None
            return self.palettes.get(image.palette_id)
        if image.palette is None:
            raise DisplayError(f"{describe(image)}: indexed image without a palette")
        if image.bitmap_flags & BitmapFlags.PAL_CACHE_ME:
            return self.palettes.put(image.palette)
        return np.array(image.palette.ents, np.uint32)
