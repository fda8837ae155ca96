"""The client-side GLZ image window (cross-image dictionary)."""

from __future__ import annotations

import threading
from typing import Any

from ._lib import ffi, lib

__all__ = ["DEFAULT_WINDOW_PIXELS", "Window"]

#: The largest window the GLZ format can address (2**25 pixels).
DEFAULT_WINDOW_PIXELS = 1 << 25


class Window:
    """Decoded GLZ images that later images may copy from.

    Images are kept in stream order (bottom-up images stay bottom-up) as they are decoded.
    After each image, those older than its ``id - win_head_dist`` leave; the oldest also
    leave while the window would hold more than ``max_pixels`` pixels (an image larger than
    that is decoded but not kept). A reference to an image that is not here, or to an image
    of another LZ type, is a :class:`~spice_glz.DecodeError`. Decoding with one window from
    several threads is serialized.
    """

    def __init__(self, max_pixels: int = DEFAULT_WINDOW_PIXELS) -> None:
        if max_pixels < 0:
            raise ValueError(f"max_pixels must be >= 0, got {max_pixels}")
        ptr = lib.glz_window_new(max_pixels)
        if ptr == ffi.NULL:
            raise MemoryError("spice_glz: cannot allocate a window")
        self._ptr: Any = ffi.gc(ptr, lib.glz_window_free)
        self._max_pixels = max_pixels
        self._lock = threading.Lock()
        # scratch for decode calls, used only while holding the lock
        self._err: Any = ffi.new("sc_error *")
        self._pinned: Any = ffi.new("uint8_t **")
        self._head: Any = ffi.new("glz_header *")

    @property
    def max_pixels(self) -> int:
        """Pixel budget of the window; lowering it evicts the oldest images at once."""
        return self._max_pixels

    @max_pixels.setter
    def max_pixels(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"max_pixels must be >= 0, got {value}")
        with self._lock:
            lib.glz_window_set_max_pixels(self._ptr, value)
            self._max_pixels = value

    @property
    def pixels(self) -> int:
        """Pixels currently held."""
        with self._lock:
            return int(lib.glz_window_pixels(self._ptr))

    def ids(self) -> list[int]:
        """Ids of the images held, oldest first."""
        with self._lock:
            n = lib.glz_window_count(self._ptr)
            buf = ffi.new("uint64_t[]", max(n, 1))
            lib.glz_window_ids(self._ptr, buf, n)
            return [int(buf[i]) for i in range(n)]

    def __len__(self) -> int:
        with self._lock:
            return int(lib.glz_window_count(self._ptr))

    def __contains__(self, image_id: object) -> bool:
        return image_id in self.ids()

    def clear(self) -> None:
        """Forget every image (as after the server resets its dictionary)."""
        with self._lock:
            lib.glz_window_clear(self._ptr)

    def __repr__(self) -> str:
        return f"Window(max_pixels={self._max_pixels}, images={len(self)}, pixels={self.pixels})"
