"""The caches a display channel decodes against: palettes (per channel), and the pixmap
cache and GLZ window a session's display channels share (:class:`ImageStore`).

The store charges the session's :class:`~spice_session.MemoryBudget` for the GLZ window
(its full size, up front) and for each cached image.
"""

from __future__ import annotations

import numpy as np
import spice_glz
from spice_proto import Palette

from ._budget import MemoryBudget
from ._errors import DisplayError
from ._pixels import U32, Pixels

__all__ = ["ImageStore", "PaletteCache"]


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
