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
    """

    __slots__ = (
        "_data",
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

    @property
    def bpp(self) -> int:
        """Bytes per stored pixel (4 or 1)."""
        return 4 if self.words is not None else 1

    @property
    def pixels(self) -> npt.NDArray[np.uint8]:
        """The live pixels: ``(height, width, 4)`` uint8 B, G, R, X/A, or ``(height, width)`` for alpha."""
        if self.words is not None:
            return self._data.reshape(self.height, self.width, 4)
        return self._data.reshape(self.height, self.width)

    @property
    def flat(self) -> npt.NDArray[np.uint8]:
        """The live buffer as one flat uint8 array (``stride * height`` bytes)."""
        return self._data

    @property
    def buffer(self) -> memoryview:
        """The live buffer as a writable, flat memoryview."""
        return memoryview(self._data.data)

    def copy(self) -> Surface:
        """A snapshot: a new Surface with its own copy of the pixels."""
        clone = Surface(self.surface_id, self.width, self.height, self.format, self.primary)
        clone._data[:] = self._data
        return clone

    def to_rgb(self) -> npt.NDArray[np.uint8]:
        """A new ``(height, width, 3)`` uint8 RGB array (alpha surfaces: grey levels of the alpha)."""
        if self.words is None:
            plane = self.pixels
            return np.repeat(plane[:, :, None], 3, axis=2)
        return np.ascontiguousarray(self.pixels[:, :, 2::-1])

    def __repr__(self) -> str:
        kind = " primary" if self.primary else ""
        return f"<Surface {self.surface_id} {self.width}x{self.height} {self.format.name}{kind}>"
