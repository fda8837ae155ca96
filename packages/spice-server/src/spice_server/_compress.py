"""Choosing and running the image codec for one damaged rectangle (sans-I/O).

The choice follows libspice-server's policy names (``image_compression``):

- ``off``: raw BITMAP;  ``quic``: QUIC;  ``lz``: LZ;  ``glz``: GLZ (LZ until the
  client announced a GLZ dictionary, and for images larger than it);
- ``auto_lz`` / ``auto_glz`` (default): photo-like areas go to QUIC, synthetic ones
  to LZ / GLZ; areas below :data:`TINY_AREA` pixels go raw;
- ``lz4``: LZ4 for clients with the LZ4_COMPRESSION cap (what they ask for with
  DISPLAY_PREFERRED_COMPRESSION), LZ for the others.

"Photo-like" is judged on a sample of the area: the share of neighbouring pixels
that differ by a little (smooth gradients, noise) rather than not at all or by a
lot (flat colours, sharp edges, text).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import numpy as np
import simplejpeg  # type: ignore[import-untyped]
import spice_glz
import spice_lz
import spice_quic
from spice_proto import (
    BitmapFlags,
    BitmapFmt,
    BitmapImage,
    GlzRgbImage,
    Image,
    ImageCompression,
    ImageFlags,
    Lz4Image,
    LzRgbImage,
    QuicImage,
    Rect,
)

from ._source import Frame

__all__ = [
    "TINY_AREA",
    "Codec",
    "Compression",
    "ImageEncoder",
    "Memo",
    "encode_mjpeg",
    "is_photo_like",
]

_NO_FLAGS = ImageFlags(0)

#: ``memo(what, make)``: ``make()``, or the same result worked out before for the same pixels
#: (what :class:`~._shared.SharedEncodes` gives every client of a source).
Memo = Callable[[Hashable, Callable[[], Any]], Any]

#: Areas smaller than this many pixels are sent raw in the automatic modes.
TINY_AREA = 32 * 32


class Compression(str, enum.Enum):
    """The server's ``image_compression`` setting (libspice-server's names)."""

    AUTO_GLZ = "auto_glz"
    AUTO_LZ = "auto_lz"
    QUIC = "quic"
    GLZ = "glz"
    LZ = "lz"
    LZ4 = "lz4"
    OFF = "off"

    @classmethod
    def parse(cls, value: str | Compression) -> Compression:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown image compression {value!r}; use one of {names}") from None

    @classmethod
    def from_wire(cls, value: int) -> Compression | None:
        """A client's DISPLAY_PREFERRED_COMPRESSION value; ``None`` for ones we cannot honour."""
        try:
            return _FROM_WIRE.get(ImageCompression(value))
        except ValueError:
            return None


_FROM_WIRE = {
    ImageCompression.OFF: Compression.OFF,
    ImageCompression.AUTO_GLZ: Compression.AUTO_GLZ,
    ImageCompression.AUTO_LZ: Compression.AUTO_LZ,
    ImageCompression.QUIC: Compression.QUIC,
    ImageCompression.GLZ: Compression.GLZ,
    ImageCompression.LZ: Compression.LZ,
    ImageCompression.LZ4: Compression.LZ4,
}


class Codec(enum.Enum):
    """What one image ends up as on the wire."""

    BITMAP = "bitmap"
    QUIC = "quic"
    LZ = "lz"
    GLZ = "glz"
    LZ4 = "lz4"


_SAMPLE_SIDE = 64
_SMALL_STEP = 24  # per-channel difference counted as "a little"
_PHOTO_SHARE = 0.25


_LOW7 = np.uint32(0x7F7F7F7F)
_HIGH = np.uint32(0x80808080)
#: Added to a byte of at most 127, sets its high bit when the byte is above ``_SMALL_STEP``.
_OVER = np.uint32(0x01010101 * (127 - _SMALL_STEP))
_BGR = np.uint32(0x00FFFFFF)


def is_photo_like(pixels: Frame) -> bool:
    """Whether an area (h, w, 4 BGRX) looks like a photo or gradient rather than flat UI/text.

    On a sample of neighbouring pixel pairs: photo-like when at least a quarter of them differ,
    by at most ``_SMALL_STEP`` in every channel.  A pair's channel steps sit side by side in
    the bytes of one 32-bit word, so a few passes over ~18 K words decide it (per-channel
    arrays took twice as long).
    """
    h, w = pixels.shape[:2]
    if w < 2:
        return False
    sy = max(1, h // _SAMPLE_SIDE)
    sx = max(1, w // (_SAMPLE_SIDE * 4))
    sample = pixels[::sy, ::sx]
    if sample.shape[1] < 2:
        return False
    if sample.strides[2] != 1:
        sample = np.ascontiguousarray(sample)
    rows = (sample.view(np.uint32)[:, :, 0] & _BGR).view(np.uint8)  # X cleared, (rows, 4 * cols)
    right, left = rows[:, 4:], rows[:, :-4]
    step = np.maximum(right, left)
    step -= np.minimum(right, left)  # |right - left| per channel
    words = step.view(np.uint32)
    over = words & _LOW7
    over += _OVER  # no carry between bytes: each is at most 127 + 103
    over |= words  # steps of 128 and more
    over &= _HIGH
    near = int(np.count_nonzero(over == 0))  # every channel within the step, equal pairs too
    equal = int(np.count_nonzero(words == 0))
    return bool(near - equal >= _PHOTO_SHARE * words.size)


@dataclass
class _Glz:
    encoder: spice_glz.Encoder
    dictionary_id: int


class ImageEncoder:
    """Encodes areas of frames for one client, per its compression setting and GLZ dictionary."""

    def __init__(self, compression: Compression = Compression.AUTO_GLZ, *, lz4: bool = False) -> None:
        self.compression = compression
        #: The client decodes LZ4 images (its LZ4_COMPRESSION cap).
        self.lz4 = lz4
        self._glz: _Glz | None = None
        self._next_id = 1
        #: How many images went out per codec (for tests and statistics).
        self.counts: dict[Codec, int] = dict.fromkeys(Codec, 0)

    @property
    def glz_window(self) -> int:
        """The client's GLZ dictionary size in pixels (0: none announced)."""
        return self._glz.encoder.window_pixels if self._glz else 0

    def set_glz_dictionary(self, dictionary_id: int, window_pixels: int) -> None:
        """The client announced (DISPLAY_INIT) a GLZ dictionary; a non-positive size means none."""
        if window_pixels <= 0:
            self._glz = None
            return
        window = min(window_pixels, spice_glz.MAX_WINDOW_PIXELS)
        self._glz = _Glz(spice_glz.Encoder(window), dictionary_id)

    def choose(self, pixels: Frame, memo: Memo | None = None) -> Codec:
        """The codec for this area (``memo`` may share the photo-like judgement)."""
        h, w = pixels.shape[:2]
        mode = self.compression
        glz_fits = self._glz is not None and w * h <= self._glz.encoder.window_pixels
        if mode is Compression.OFF:
            return Codec.BITMAP
        if mode is Compression.QUIC:
            return Codec.QUIC
        if mode is Compression.LZ:
            return Codec.LZ
        if mode is Compression.LZ4:
            return Codec.LZ4 if self.lz4 and _lz4_block() is not None else Codec.LZ
        if mode is Compression.GLZ:
            return Codec.GLZ if glz_fits else Codec.LZ
        if w * h < TINY_AREA:
            return Codec.BITMAP
        photo = is_photo_like(pixels) if memo is None else memo("photo", partial(is_photo_like, pixels))
        if photo:
            return Codec.QUIC
        if mode is Compression.AUTO_GLZ and glz_fits:
            return Codec.GLZ
        return Codec.LZ

    def _image_id(self) -> int:
        image_id = self._next_id
        self._next_id += 1
        return image_id

    def encode(
        self,
        frame: Frame,
        box: Rect,
        codec: Codec | None = None,
        flags: ImageFlags = _NO_FLAGS,
        memo: Memo | None = None,
    ) -> Image:
        """The area ``box`` of ``frame`` (a C-contiguous (H, W, 4) BGRX array) as a SPICE image.

        ``memo`` (for those pixels) shares what does not depend on this client: the codec
        judgement and the QUIC, LZ, LZ4 or raw data.  GLZ (the client's dictionary) never is.
        """
        pixels = frame[box.top : box.bottom, box.left : box.right]
        if codec is None:
            codec = self.choose(pixels, memo)
        h, w = box.height, box.width
        image_id = self._image_id()
        image: Image
        if codec is Codec.GLZ:
            if self._glz is None:
                raise ValueError("GLZ needs the client's dictionary (DISPLAY_INIT) first")
            flat, stride = _window(frame, box)
            blob = self._glz.encoder.encode(flat, w, h, spice_glz.ImageType.RGB32, stride)
            image = GlzRgbImage(width=w, height=h, id=image_id, flags=flags, data=blob)
        else:
            make = partial(_encode_pure, codec, frame, box)
            data: bytes = make() if memo is None else memo(codec, make)
            if codec is Codec.QUIC:
                image = QuicImage(width=w, height=h, id=image_id, flags=flags, data=data)
            elif codec is Codec.LZ:
                image = LzRgbImage(width=w, height=h, id=image_id, flags=flags, data=data)
            elif codec is Codec.LZ4:
                image = Lz4Image(width=w, height=h, id=image_id, flags=flags, data=data)
            else:
                image = BitmapImage(
                    width=w,
                    height=h,
                    id=image_id,
                    flags=flags,
                    format=BitmapFmt.FMT_32BIT,
                    stride=4 * w,
                    data=data,
                    bitmap_flags=BitmapFlags.TOP_DOWN,
                )
        self.counts[codec] += 1
        return image


def _encode_pure(codec: Codec, frame: Frame, box: Rect) -> bytes:
    """The data of a QUIC, LZ, LZ4 or raw image of ``box``: a function of the pixels alone."""
    h, w = box.height, box.width
    if codec is Codec.QUIC:
        flat, stride = _window(frame, box)
        return spice_quic.encode(flat, w, h, spice_quic.ImageType.RGB32, stride)
    if codec is Codec.LZ:
        flat, stride = _window(frame, box)
        return spice_lz.encode(flat, w, h, spice_lz.ImageType.RGB32, stride)
    pixels = frame[box.top : box.bottom, box.left : box.right]
    if codec is Codec.LZ4:
        return _lz4_data(pixels)
    return np.ascontiguousarray(pixels).tobytes()


def encode_mjpeg(frame: Frame, box: Rect, quality: int) -> bytes:
    """The area ``box`` of a BGRX ``frame`` as one baseline JPEG (an MJPEG stream frame), 4:2:0.

    Encodes straight from the frame's memory (a strided view, no copy); libjpeg-turbo
    runs without the GIL, so this may run in a worker thread.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality {quality} is not in 1..100")
    view = frame[box.top : box.bottom, box.left : box.right]
    data: bytes = simplejpeg.encode_jpeg(
        view, quality=quality, colorspace="BGRX", colorsubsampling="420", fastdct=True
    )
    return data


#: Rows of an LZ4 image go out in blocks of about this many bytes (each block independent).
_LZ4_BLOCK = 1 << 20


@cache
def _lz4_block() -> Any:
    """The ``lz4.block`` module, or ``None`` without the lz4 package (then LZ4 falls back to LZ)."""
    try:
        import lz4.block  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    return lz4.block


def _lz4_data(pixels: Frame) -> bytes:
    """An LZ4 image's data: top-down 32-bit rows (``u8 1, u8 FMT_32BIT``), then
    ``[u32 big-endian size][LZ4 block]`` per group of rows."""
    block = _lz4_block()
    h, w = pixels.shape[:2]
    rows = max(1, _LZ4_BLOCK // (4 * w))
    out = [bytes((1, BitmapFmt.FMT_32BIT))]
    for top in range(0, h, rows):
        chunk = np.ascontiguousarray(pixels[top : top + rows]).tobytes()
        packed = block.compress(chunk, store_size=False)
        out += [struct.pack(">I", len(packed)), packed]
    return b"".join(out)


def _window(frame: Frame, box: Rect) -> tuple[memoryview, int]:
    """A 1-D byte view of ``frame`` starting at the box's first pixel, and the row stride.

    The view spans whole rows (``stride * height`` bytes; the QUIC core wants that much);
    for a box at the bottom right, where that would run past the frame, the box is copied.
    """
    if not frame.flags.c_contiguous:
        raise ValueError("frames must be C-contiguous")
    stride = 4 * frame.shape[1]
    start = box.top * stride + 4 * box.left
    flat = frame.reshape(-1)
    window: Any
    if start + stride * box.height <= flat.size:
        window = flat[start : start + stride * box.height]
        return memoryview(window), stride
    window = np.ascontiguousarray(frame[box.top : box.bottom, box.left : box.right]).reshape(-1)
    return memoryview(window), 4 * box.width
