"""The per-client display pipeline (sans-I/O): damage in, display messages out.

One :class:`DisplayPipeline` per connected display channel.  It listens to the
frame source and records damage in a bounded :class:`DirtyRegion`; the sender
asks :meth:`DisplayPipeline.messages` for what to send next, one message at a
time, so each image is encoded from the newest frame just before it can go out.
A client that does not read simply accumulates a dirty region.

Message order: SURFACE_CREATE (primary), MONITORS_CONFIG (if the client has the
capability), the DRAW_COPYs of the first full frame, MARK; then DRAW_COPYs of
the damage.  A resize sends SURFACE_DESTROY and starts over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from spice_proto import (
    Clip,
    DisplayDrawCopy,
    DisplayInvalList,
    DisplayMark,
    DisplayMonitorsConfig,
    DisplaySurfaceCreate,
    DisplaySurfaceDestroy,
    Head,
    ImageFlags,
    ImageScaleMode,
    Message,
    Rect,
    ResourceId,
    ResourceType,
    Ropd,
    SurfaceFlags,
    SurfaceFmt,
)

# The image classes are public in spice_proto, but re-exported through a computed __all__
# that mypy cannot follow; import them from their home module so type checking sees them.
from spice_proto._display_images import FromCacheImage, Image

from ._cache import CACHE_MIN_AREA, PixmapCache, content_key
from ._compress import ImageEncoder
from ._region import Box, DirtyRegion
from ._source import Frame, FrameSource

__all__ = ["PRIMARY_SURFACE", "DisplayPipeline", "split_box"]

PRIMARY_SURFACE = 0

#: Largest area sent as one DRAW_COPY; bigger boxes go as horizontal bands.
MAX_DRAW_PIXELS = 256 * 1024


def split_box(box: Box, max_pixels: int = MAX_DRAW_PIXELS) -> list[Box]:
    """``box`` cut into full-width horizontal bands of at most ``max_pixels`` pixels."""
    rows = max(1, max_pixels // max(1, box.width))
    return [
        Box(box.left, top, box.right, min(box.bottom, top + rows)) for top in range(box.top, box.bottom, rows)
    ]


def _rect(box: Box) -> Rect:
    return Rect(box.left, box.top, box.right, box.bottom)


class DisplayPipeline:
    """Damage of one source, turned into messages for one client."""

    def __init__(
        self,
        source: FrameSource,
        encoder: ImageEncoder | None = None,
        *,
        monitors_config: bool = False,
        max_boxes: int = 16,
        max_draw_pixels: int = MAX_DRAW_PIXELS,
    ) -> None:
        self.source = source
        self.encoder = encoder or ImageEncoder()
        self.monitors_config = monitors_config
        self.max_draw_pixels = max_draw_pixels
        self.region = DirtyRegion(source.width, source.height, max_boxes)
        #: Size of the surface the client has, ``None`` before SURFACE_CREATE.
        self.surface: tuple[int, int] | None = None
        self.marked = False
        #: Mirror of the client's pixmap cache (``None`` until the client announces one).
        self.cache: PixmapCache | None = None
        #: Called (without arguments) whenever there is new work; the I/O side sets it.
        self.wake: Callable[[], None] | None = None
        self._attached = False

    # --- DamageListener ---------------------------------------------------------------------

    def damaged(self, box: Box) -> None:
        self.region.add(box)
        self._wake()

    def resized(self, width: int, height: int) -> None:
        self.region.resize(width, height)
        self._wake()

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake()

    # --- lifecycle --------------------------------------------------------------------------

    def attach(self) -> None:
        """Start listening to the source (everything is dirty at first)."""
        if not self._attached:
            self.source.subscribe(self)
            self._attached = True
        self.region.resize(self.source.width, self.source.height)

    def detach(self) -> None:
        if self._attached:
            self.source.unsubscribe(self)
            self._attached = False

    def set_cache_size(self, pixels: int) -> None:
        """The client's pixmap cache holds ``pixels`` pixels (DISPLAY_INIT); 0 disables caching."""
        self.cache = PixmapCache(pixels) if pixels > 0 else None

    @property
    def has_work(self) -> bool:
        return bool(self.region) or self.surface != (self.source.width, self.source.height)

    # --- message generation -----------------------------------------------------------------

    def _surface_messages(self) -> list[Message]:
        width, height = self.source.width, self.source.height
        out: list[Message] = []
        if self.surface is not None:
            out.append(DisplaySurfaceDestroy(PRIMARY_SURFACE))
        out.append(
            DisplaySurfaceCreate(PRIMARY_SURFACE, width, height, SurfaceFmt.FMT_32_xRGB, SurfaceFlags.PRIMARY)
        )
        if self.monitors_config:
            out.append(DisplayMonitorsConfig((Head(0, PRIMARY_SURFACE, width, height, 0, 0, 0),), 1))
        self.surface = (width, height)
        self.marked = False
        self.region.resize(width, height)
        return out

    def messages(self) -> Iterator[Message]:
        """The messages for the current damage; take them one by one (encoding is lazy).

        Stop early at will: damage not yet sent stays in the region only if it was
        not taken, so callers should drain the iterator unless the client is gone.
        """
        if self.surface != (self.source.width, self.source.height):
            yield from self._surface_messages()
        for box in self.region.take():
            for band in split_box(box, self.max_draw_pixels):
                frame = self.source.frame
                if self.surface != (frame.shape[1], frame.shape[0]):
                    return  # resized meanwhile: the next round starts with a new surface
                yield from self.draw(frame, band)
        if not self.marked:
            self.marked = True
            yield DisplayMark()

    def draw(self, frame: Frame, band: Box) -> list[Message]:
        """DRAW_COPY of ``band`` (FROM_CACHE when the client has that content), preceded by
        INVAL_LIST when caching it pushes older entries out of the client's cache."""
        cache = self.cache
        if cache is None or band.area < CACHE_MIN_AREA or not cache.fits(band.area):
            return [self.draw_copy(frame, self.encoder.encode(frame, band), band)]
        pixels = frame[band.top : band.bottom, band.left : band.right]
        key = content_key(pixels.tobytes(), band.width, band.height)
        cached = cache.lookup(key)
        if cached is not None:
            image: Image = FromCacheImage(width=band.width, height=band.height, id=cached)
            return [self.draw_copy(frame, image, band)]
        image = self.encoder.encode(frame, band, flags=ImageFlags.CACHE_ME)
        evicted = cache.add(key, image.id, band.area)
        out: list[Message] = []
        if evicted:
            out.append(DisplayInvalList(tuple(ResourceId(ResourceType.PIXMAP, i) for i in evicted)))
        out.append(self.draw_copy(frame, image, band))
        return out

    def draw_copy(self, frame: Frame, image: Image, band: Box) -> DisplayDrawCopy:
        """DRAW_COPY of ``image`` (the content of ``band``) onto the primary surface."""
        return DisplayDrawCopy(
            surface_id=PRIMARY_SURFACE,
            box=_rect(band),
            clip=Clip(),
            src_bitmap=image,
            src_area=Rect(0, 0, band.width, band.height),
            rop_descriptor=Ropd.OP_PUT,
            scale_mode=ImageScaleMode.NEAREST,
        )
