"""The server's mirror of one client's pixmap cache (sans-I/O).

The client announces the size of its image cache (DISPLAY_INIT ``pixmap_cache_size``,
in pixels).  An image sent with ``CACHE_ME`` is kept by the client under its id; an
identical area later goes out as a FROM_CACHE reference of a few bytes.  The server
decides what the client keeps: entries are evicted least recently used first and
the client is told with INVAL_LIST, so the mirror and the client always agree.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CACHE_MIN_AREA", "PixmapCache", "content_key"]

#: Areas smaller than this are not worth a cache entry.
CACHE_MIN_AREA = 64 * 64


def content_key(data: bytes | memoryview, width: int, height: int) -> bytes:
    """A 16-byte digest naming an area's pixels and size."""
    digest = hashlib.blake2b(data, digest_size=16, person=b"spice-pixmap")
    digest.update(b"%d,%d" % (width, height))
    return digest.digest()


@dataclass
class _Entry:
    image_id: int
    pixels: int


class PixmapCache:
    """Which areas the client has cached, within ``capacity`` pixels."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.used = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: bytes) -> int | None:
        """The image id the client cached this content under (and mark it recently used)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.image_id

    def fits(self, pixels: int) -> bool:
        return 0 < pixels <= self.capacity

    def add(self, key: bytes, image_id: int, pixels: int) -> list[int]:
        """Record that the client will cache ``image_id``; returns the ids it must drop first."""
        if not self.fits(pixels):
            raise ValueError(f"{pixels} pixels do not fit a {self.capacity}-pixel cache")
        evicted: list[int] = []
        old = self._entries.pop(key, None)
        if old is not None:
            self.used -= old.pixels
            evicted.append(old.image_id)
        while self.used + pixels > self.capacity:
            _, entry = self._entries.popitem(last=False)
            self.used -= entry.pixels
            evicted.append(entry.image_id)
        self._entries[key] = _Entry(image_id, pixels)
        self.used += pixels
        return evicted
