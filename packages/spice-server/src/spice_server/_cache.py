"""The server's mirror of one client's pixmap cache (sans-I/O).

The client announces the size of its image cache (DISPLAY_INIT ``pixmap_cache_size``,
in pixels).  An image sent with ``CACHE_ME`` is kept by the client under its id; an
identical area later goes out as a FROM_CACHE reference of a few bytes.  The server
decides what the client keeps: entries are evicted least recently used first and
the client is told with INVAL_LIST, so the mirror and the client always agree.

Naming an area means hashing all its pixels, which costs more than encoding it.  Content
that never repeats (animation, video drawn losslessly) would pay that for nothing and
churn the client's cache, so once :data:`CHURN_TURNOVERS` times the cache's capacity went
in without a single hit, only one area in :data:`PROBE_EVERY` is named and cached (a
probe), plus the areas whose sample (:func:`sample_key`, every :data:`SAMPLE_ROWS`-th row)
matches a cached entry's, so content the client has is still found; the next hit turns
caching fully on again.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter, OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CACHE_MIN_AREA",
    "CHURN_TURNOVERS",
    "PROBE_EVERY",
    "SAMPLE_ROWS",
    "PixmapCache",
    "content_key",
    "sample_key",
]

#: Areas smaller than this are not worth a cache entry.
CACHE_MIN_AREA = 64 * 64
#: Pixels cached without a hit, in cache capacities, after which caching goes to probing.
CHURN_TURNOVERS = 3
#: While probing, one candidate area in this many is cached.
PROBE_EVERY = 16
#: A sample key hashes every this many rows of an area.
SAMPLE_ROWS = 8


def content_key(data: bytes | memoryview, width: int, height: int) -> bytes:
    """A 16-byte digest naming an area's pixels and size."""
    digest = hashlib.blake2b(data, digest_size=16, person=b"spice-pixmap")
    digest.update(b"%d,%d" % (width, height))
    return digest.digest()


def sample_key(pixels: npt.NDArray[np.uint8]) -> int:
    """A cheap hint naming an area (h, w, 4): a CRC of every :data:`SAMPLE_ROWS`-th row and the
    size.  Equal areas have equal hints; only :func:`content_key` tells that areas are equal."""
    h, w = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels[::SAMPLE_ROWS])
    return zlib.crc32(rows.data, (w * 65537 + h) & 0xFFFFFFFF)


@dataclass
class _Entry:
    image_id: int
    pixels: int
    sample: int | None = None


class PixmapCache:
    """Which areas the client has cached, within ``capacity`` pixels."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.used = 0
        self.hits = 0
        #: Pixels cached since the last hit, and candidates passed over while probing.
        self._unrewarded = 0
        self._passed = 0
        self._samples: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: bytes) -> int | None:
        """The image id the client cached this content under (and mark it recently used)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        self._unrewarded = 0
        return entry.image_id

    @property
    def probing(self) -> bool:
        """Whether caching has not paid off lately (see the module docstring)."""
        return self._unrewarded >= CHURN_TURNOVERS * self.capacity

    def worth_keying(self, pixels: int, sample: int | None = None) -> bool:
        """Whether an area of ``pixels`` (with :func:`sample_key` ``sample``) should be named
        and looked up (and cached on a miss)."""
        if not self.fits(pixels):
            return False
        if not self.probing or (sample is not None and sample in self._samples):
            return True
        self._passed += 1
        return self._passed % PROBE_EVERY == 0

    def fits(self, pixels: int) -> bool:
        return 0 < pixels <= self.capacity

    def add(self, key: bytes, image_id: int, pixels: int, sample: int | None = None) -> list[int]:
        """Record that the client will cache ``image_id`` (content ``key``, :func:`sample_key`
        ``sample``); returns the ids it must drop first."""
        if not self.fits(pixels):
            raise ValueError(f"{pixels} pixels do not fit a {self.capacity}-pixel cache")
        evicted: list[int] = []
        old = self._entries.pop(key, None)
        if old is not None:
            self._forget(old)
            evicted.append(old.image_id)
        while self.used + pixels > self.capacity:
            _, entry = self._entries.popitem(last=False)
            self._forget(entry)
            evicted.append(entry.image_id)
        self._entries[key] = _Entry(image_id, pixels, sample)
        self.used += pixels
        if sample is not None:
            self._samples[sample] += 1
        self._unrewarded += pixels
        return evicted

    def _forget(self, entry: _Entry) -> None:
        self.used -= entry.pixels
        if entry.sample is not None:
            self._samples[entry.sample] -= 1
            if not self._samples[entry.sample]:
                del self._samples[entry.sample]
