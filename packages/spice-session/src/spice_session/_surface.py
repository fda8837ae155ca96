"""Surfaces: the pixel buffers a display channel draws into (the primary one is the screen)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from spice_proto import SurfaceFmt

from ._errors import DisplayError

if TYPE_CHECKING:
    import spice_glz

__all__ = ["MAX_SURFACE_PIXELS", "MAX_SURFACE_SIDE", "Surface", "bytes_per_pixel", "check_surface_size"]

#: Largest surface side and area a server may ask for; more is a :class:`DisplayError`.
MAX_SURFACE_SIDE = 1 << 15
MAX_SURFACE_PIXELS = 1 << 26

_FOUR_BYTES = frozenset(
    {SurfaceFmt.FMT_32_xRGB, SurfaceFmt.FMT_32_ARGB, SurfaceFmt.FMT_16_555, SurfaceFmt.FMT_16_565}
)
_ONE_BYTE = frozenset({SurfaceFmt.FMT_8_A, SurfaceFmt.FMT_1_A})
_WITH_ALPHA = (SurfaceFmt.FMT_32_ARGB, SurfaceFmt.FMT_8_A, SurfaceFmt.FMT_1_A)


def bytes_per_pixel(fmt: SurfaceFmt | int) -> int:
    """Bytes per pixel of a surface of format ``fmt`` as stored here (4 or 1)."""
    if fmt in _FOUR_BYTES:
        return 4
    if fmt in _ONE_BYTE:
        return 1
    raise DisplayError(f"unsupported surface format {fmt!r}")


def check_surface_size(surface_id: int, width: int, height: int) -> None:
    """:class:`DisplayError` unless a ``width`` x ``height`` surface is within the limits."""
    if not (0 < width <= MAX_SURFACE_SIDE and 0 < height <= MAX_SURFACE_SIDE):
        raise DisplayError(f"surface {surface_id}: size {width}x{height} out of range")
    if width * height > MAX_SURFACE_PIXELS:
        raise DisplayError(f"surface {surface_id}: {width}x{height} exceeds {MAX_SURFACE_PIXELS} pixels")


class Surface:
    """One surface: ``height`` rows of ``stride`` bytes, top row first.

    Pixels of the 32-bit formats are stored B, G, R, X/A (little-endian ``0xAARRGGBB``);
    the 16-bit formats are kept the same way, expanded to 8 bits per channel.  ``FMT_8_A``
    and ``FMT_1_A`` surfaces hold one alpha byte per pixel (``FMT_1_A`` as 0 or 255).
    ``pixels`` is a numpy view of the live buffer (it changes as the server draws);
    :meth:`copy` takes a snapshot.

    A video frame may be kept back (:meth:`defer_frame`, for a session whose viewer shows
    frames from their :class:`Damage`): it is written into the buffer when the buffer is
    next read through :attr:`pixels`, :attr:`flat`, :attr:`buffer`, :meth:`copy` or
    :meth:`to_rgb`, or by :meth:`settle`; a later frame over the same rectangle replaces
    it unwritten.  :attr:`words` is the raw buffer: call :meth:`settle` before reading it.
    """

    __slots__ = (
        "_data",
        "_deferred",
        "_glz_target",
        "format",
        "has_alpha",
        "height",
        "primary",
        "stride",
        "surface_id",
        "width",
        "words",
    )

    def __init__(
        self, surface_id: int, width: int, height: int, format: SurfaceFmt, primary: bool = False
    ) -> None:
        check_surface_size(surface_id, width, height)
        bpp = bytes_per_pixel(format)
        self.surface_id = surface_id
        self.width = width
        self.height = height
        self.format = SurfaceFmt(format)
        #: Whether the fourth byte of a pixel is alpha (ARGB and the alpha-only formats).
        self.has_alpha = self.format in _WITH_ALPHA
        self.primary = primary
        self.stride = width * bpp
        self._data: npt.NDArray[np.uint8] = np.zeros(self.stride * height, np.uint8)
        #: (height, width) uint32 view of 4-byte surfaces (``0xAARRGGBB``); ``None`` for alpha ones.
        self.words: npt.NDArray[np.uint32] | None = (
            self._data.view(np.uint32).reshape(height, width) if bpp == 4 else None
        )
        #: The buffer exported once for GLZ images decoded straight into it (made on first
        #: use; it keeps ``_data`` exported, and goes with the surface).
        self._glz_target: spice_glz.DecodeTarget | None = None
        #: A frame kept back: its (height, width) words and where its top-left corner goes.
        self._deferred: tuple[npt.NDArray[np.uint32], int, int] | None = None

    @property
    def bpp(self) -> int:
        """Bytes per stored pixel (4 or 1)."""
        return 4 if self.words is not None else 1

    @property
    def pixels(self) -> npt.NDArray[np.uint8]:
        """The live pixels: ``(height, width, 4)`` uint8 B, G, R, X/A, or ``(height, width)`` for alpha."""
        if self._deferred is not None:
            self.settle()
        if self.words is not None:
            return self._data.reshape(self.height, self.width, 4)
        return self._data.reshape(self.height, self.width)

    @property
    def flat(self) -> npt.NDArray[np.uint8]:
        """The live buffer as one flat uint8 array (``stride * height`` bytes)."""
        if self._deferred is not None:
            self.settle()
        return self._data

    @property
    def buffer(self) -> memoryview:
        """The live buffer as a writable, flat memoryview."""
        if self._deferred is not None:
            self.settle()
        return memoryview(self._data.data)

    @property
    def deferred(self) -> bool:
        """Whether a frame is kept back (see :meth:`defer_frame`)."""
        return self._deferred is not None

    def defer_frame(self, words: npt.NDArray[np.uint32], left: int, top: int) -> None:
        """Keep ``words`` (height, width: opaque pixels as :attr:`words` holds them, read-only,
        not changed later) back for the rectangle at (``left``, ``top``), instead of copying
        it now.  A frame kept back for another rectangle is written first."""
        if self.words is None:
            raise DisplayError(f"surface {self.surface_id} ({self.format.name}) cannot show video")
        height, width = words.shape
        if left < 0 or top < 0 or left + width > self.width or top + height > self.height:
            raise DisplayError(f"frame of {width}x{height} at ({left}, {top}) is outside {self!r}")
        old = self._deferred
        if old is not None and (old[0].shape, old[1], old[2]) != (words.shape, left, top):
            self.settle()
        self._deferred = (words, left, top)

    def settle(self) -> None:
        """Write the frame kept back (if any) into the buffer."""
        deferred, self._deferred = self._deferred, None
        if deferred is not None and self.words is not None:
            words, left, top = deferred
            height, width = words.shape
            np.copyto(self.words[top : top + height, left : left + width], words)

    def copy(self) -> Surface:
        """A snapshot: a new Surface with its own copy of the pixels."""
        clone = Surface(self.surface_id, self.width, self.height, self.format, self.primary)
        clone._data[:] = self.flat
        return clone

    def to_rgb(self) -> npt.NDArray[np.uint8]:
        """A new ``(height, width, 3)`` uint8 RGB array (alpha surfaces: grey levels of the alpha)."""
        if self._deferred is not None:
            self.settle()
        if self.words is None:
            plane = self.pixels
            return np.repeat(plane[:, :, None], 3, axis=2)
        return np.ascontiguousarray(self.pixels[:, :, 2::-1])

    def __repr__(self) -> str:
        kind = " primary" if self.primary else ""
        return f"<Surface {self.surface_id} {self.width}x{self.height} {self.format.name}{kind}>"
