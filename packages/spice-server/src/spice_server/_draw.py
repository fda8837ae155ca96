"""Lossless drawing (sans-I/O): a band of the frame as DRAW_COPY, through the client's pixmap cache.

A band big enough to cache goes out with ``CACHE_ME`` the first time and as a
FROM_CACHE reference while the client keeps it; an INVAL_LIST goes first when
caching it pushes older entries out of the client's cache.  While the cache is not paying
off (see :mod:`._cache`), most bands go out uncached without being hashed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from spice_proto import (
    Clip,
    DisplayDrawCopy,
    DisplayInvalList,
    FromCacheImage,
    Image,
    ImageFlags,
    ImageScaleMode,
    Message,
    Rect,
    ResourceId,
    ResourceType,
    Ropd,
)

from ._cache import CACHE_MIN_AREA, PixmapCache, content_key, sample_key
from ._compress import ImageEncoder
from ._shared import SharedEncodes
from ._source import Frame

__all__ = ["MJPEG_THREAD_MIN_PIXELS", "PRIMARY_SURFACE", "THREAD_MIN_PIXELS", "Job", "draw_band", "draw_copy"]

PRIMARY_SURFACE = 0

#: Lossless encodes (QUIC, LZ, GLZ...) of at least this many pixels run in a worker thread;
#: smaller ones are not worth the trip.
THREAD_MIN_PIXELS = 128 * 128

#: MJPEG stream frames of at least this many pixels run in a worker thread.  A thread hand-off
#: costs 0.25-0.4 ms of CPU at 25 frames/s (wake-ups, the frame read from another core's
#: cache): more than a 320x240 JPEG and half a 640x480 one, so smaller frames (under ~1 ms
#: of encoding, the longest they hold the event loop) are encoded inline.
MJPEG_THREAD_MIN_PIXELS = 800 * 600


@dataclass(frozen=True)
class Job:
    """An encode of ``pixels`` pixels; :attr:`run` returns the messages to send, in order.

    Jobs of one pipeline must run one at a time, in the order given (GLZ and the image
    cache depend on it); any thread may run them.
    """

    pixels: int
    run: Callable[[], list[Message]]
    #: From this size on the encode is worth a worker thread; smaller ones run inline.
    thread_min_pixels: int = THREAD_MIN_PIXELS

    @property
    def inline(self) -> bool:
        """Whether to run it on the caller's thread (cheaper than a worker thread's hand-off)."""
        return self.pixels < self.thread_min_pixels


def draw_band(
    frame: Frame,
    band: Rect,
    encoder: ImageEncoder,
    cache: PixmapCache | None,
    shared: SharedEncodes | None = None,
) -> list[Message]:
    """DRAW_COPY of ``band`` (FROM_CACHE when the client has that content), preceded by
    INVAL_LIST when caching it pushes older entries out of the client's cache.

    With ``shared`` (the source's), what other clients worked out for the same pixels is
    reused: the snapshot and key of a cached band, the codec choice and non-GLZ data.
    """
    live = None if shared is None else partial(shared.live, frame, band)
    if cache is None or band.area < CACHE_MIN_AREA or not cache.fits(band.area):
        return [draw_copy(encoder.encode(frame, band, memo=live), band)]
    view = frame[band.top : band.bottom, band.left : band.right]
    sample = sample_key(view) if live is None else live("sample", partial(sample_key, view))
    if not cache.worth_keying(band.area, sample):
        return [draw_copy(encoder.encode(frame, band, memo=live), band)]
    # One snapshot for the key and the image: the frame may change while this runs.
    pixels, key = _snapshot(view) if live is None else live("snapshot", partial(_snapshot, view))
    cached = cache.lookup(key)
    if cached is not None:
        return [draw_copy(FromCacheImage(width=band.width, height=band.height, id=cached), band)]
    named = None if shared is None else partial(shared.content, key)
    image = encoder.encode(
        pixels, Rect.of_size(band.width, band.height), flags=ImageFlags.CACHE_ME, memo=named
    )
    snap_sample = sample_key(pixels) if named is None else named("sample", partial(sample_key, pixels))
    evicted = cache.add(key, image.id, band.area, snap_sample)
    out: list[Message] = []
    if evicted:
        out.append(DisplayInvalList(tuple(ResourceId(ResourceType.PIXMAP, i) for i in evicted)))
    out.append(draw_copy(image, band))
    return out


def _snapshot(view: Frame) -> tuple[Frame, bytes]:
    """A copy of an area and its content key."""
    pixels = view.copy()
    return pixels, content_key(pixels.data, pixels.shape[1], pixels.shape[0])


def draw_copy(image: Image, band: Rect) -> DisplayDrawCopy:
    """DRAW_COPY of ``image`` (the content of ``band``) onto the primary surface."""
    return DisplayDrawCopy(
        surface_id=PRIMARY_SURFACE,
        box=band,
        clip=Clip(),
        src_bitmap=image,
        src_area=Rect.of_size(band.width, band.height),
        rop_descriptor=Ropd.OP_PUT,
        scale_mode=ImageScaleMode.NEAREST,
    )
