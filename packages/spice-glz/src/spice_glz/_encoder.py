"""The server-side GLZ encoder and its dictionary."""

from __future__ import annotations

import threading
from typing import Any

from ._contract import EncodeError
from ._lib import ffi, lib
from ._types import INPUT_BYTES, ImageType

__all__ = ["MAX_WINDOW_PIXELS", "Encoder"]

#: The GLZ format addresses pixel offsets below 2**25, so no dictionary is larger.
MAX_WINDOW_PIXELS = 1 << 25

_INPUT_LAYOUT = {
    ImageType.RGB16: "little-endian x1r5g5b5, 2 bytes",
    ImageType.RGB24: "B, G, R",
    ImageType.RGB32: "B, G, R, X (X ignored)",
    ImageType.RGBA: "B, G, R, A",
}


class Encoder:
    """Encodes a sequence of images for one client, each able to copy from earlier ones.

    ``window_pixels`` is the client's window size (DISPLAY_INIT ``glz_dictionary_window_size``).
    Images get ids 0, 1, 2, ... in encoding order and must reach the client in that order.
    The oldest images leave the dictionary so the ones kept, plus the new one, fit the window;
    each header's ``win_head_dist`` tells the client which images it still needs.
    """

    def __init__(self, window_pixels: int) -> None:
        if not 1 <= window_pixels <= MAX_WINDOW_PIXELS:
            raise ValueError(f"window_pixels must be in 1..{MAX_WINDOW_PIXELS}, got {window_pixels}")
        ptr = lib.glz_encoder_new(window_pixels)
        if ptr == ffi.NULL:
            raise MemoryError("spice_glz: cannot allocate an encoder")
        self._ptr: Any = ffi.gc(ptr, lib.glz_encoder_free)
        self._window_pixels = window_pixels
        self._lock = threading.Lock()

    @property
    def window_pixels(self) -> int:
        """The dictionary size in pixels."""
        return self._window_pixels

    @property
    def next_image_id(self) -> int:
        """The id the next encoded image will carry."""
        with self._lock:
            return int(lib.glz_encoder_next_id(self._ptr))

    def reset(self) -> None:
        """Empty the dictionary and restart ids at 0 (the client must clear its window too)."""
        with self._lock:
            lib.glz_encoder_reset(self._ptr)

    def encode(
        self,
        pixels: Any,
        width: int,
        height: int,
        image_type: ImageType | int | str,
        stride: int | None = None,
        *,
        top_down: bool = True,
    ) -> bytes:
        """Encode one image (rows top first, ``stride`` bytes apart) and add it to the dictionary.

        ``image_type`` is an :class:`ImageType`, its number or its name (``"RGB32"``).
        Pixel layout per type: RGB32 B, G, R, X; RGBA B, G, R, A; RGB24 B, G, R; RGB16
        little-endian x1r5g5b5. ``top_down=False`` sends the bottom row first (the header
        says so; decoders flip it back).
        """
        try:
            itype = ImageType[image_type.upper()] if isinstance(image_type, str) else ImageType(image_type)
        except (KeyError, ValueError):
            raise EncodeError(
                f"GLZ: cannot encode image type {image_type!r}; GLZ carries RGB16, RGB24, RGB32 and RGBA"
            ) from None
        if width <= 0 or height <= 0 or width > 0x3FFFFFFF or height > 0xFFFFFFFF:
            raise EncodeError(f"GLZ: bad image size {width}x{height}")
        if width * height > self._window_pixels:
            raise EncodeError(
                f"GLZ: a {width}x{height} image does not fit the {self._window_pixels}-pixel window"
            )
        row = width * INPUT_BYTES[itype]
        if stride is None:
            stride = row
        if stride < row:
            raise EncodeError(f"GLZ: stride {stride} is smaller than a row ({row} bytes)")
        need = stride * (height - 1) + row
        cap = lib.glz_encode_bound(itype, width, height)
        n, blob = 0, b""
        with self._lock, ffi.from_buffer("uint8_t[]", pixels) as src:
            have = len(src)
            if have >= need:
                dst = lib.glz_encoder_scratch(self._ptr, cap)
                if dst == ffi.NULL:
                    n = -lib.SC_E_NOMEM
                else:
                    n = lib.glz_encode(
                        self._ptr, itype, src, have, width, height, stride, int(top_down), dst, cap
                    )
                    if n > 0:
                        blob = bytes(ffi.buffer(dst, n))
        # the pixels are released: errors raised from here on hold no pointer into them
        if have < need:
            raise EncodeError(
                f"GLZ: {have} bytes of pixels, {width}x{height} {itype.name} "
                f"({_INPUT_LAYOUT[itype]}) needs {need}"
            )
        if n < 0:
            if -n == lib.SC_E_NOMEM:
                raise MemoryError("spice_glz: out of memory while encoding")
            raise EncodeError(f"GLZ: encoding failed (code {-n})")
        return blob
