"""Encodes shared between the clients of one source (sans-I/O, thread-safe).

Every client's pipeline draws the same damage of the same frame.  Whatever is a pure
function of the pixels (the photo-like judgement, QUIC, LZ, LZ4 and raw bitmaps, the
snapshot and content key of a cached band) is worked out once and handed to each
client; only what depends on a client's own state (GLZ with its dictionary, image ids,
the pixmap cache) stays per client.

Two kinds of entry:

- *live*: a result about ``box`` of the current frame.  It stays valid until damage,
  a scroll or a resize touches the box; damage during the computation means it is
  not stored (whoever computed it still uses it: its own dirty region has the damage).
- *content*: a result about pixels named by their content key; valid as long as kept.

A second client asking while the first computes waits for that result instead of
repeating it.  A result is kept until each other client of the source had it, within
bounds in bytes and entries (least recently used dropped first); with one client
nothing is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import trio
from spice_proto import Rect

from ._source import DamageListener, Frame, FrameSource

__all__ = ["SharedEncodes", "shared_encodes", "source_listener"]

T = TypeVar("T")

#: Default bounds of what is kept (results are only needed until every client took them).
MAX_BYTES = 64 << 20
MAX_ENTRIES = 256


class _Slot:
    __slots__ = ("box", "done", "nbytes", "ok", "uses", "value")

    def __init__(self, box: Rect | None, uses: int) -> None:
        self.box = box
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None
        self.nbytes = 0
        #: How many more clients may ask for it (then it is dropped).
        self.uses = uses


class SharedEncodes:
    """Results about a source's pixels, shared by the clients drawing it (see the module)."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_entries: int = MAX_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._slots: OrderedDict[Hashable, _Slot] = OrderedDict()
        self._bytes = 0
        #: How many clients draw this source (a result is kept for the others).
        self.users = 0
        #: Results computed, and results handed out again.
        self.made = 0
        self.reused = 0

    # --- DamageListener / ScrollListener ------------------------------------------------------

    def damaged(self, box: Rect) -> None:
        with self._lock:
            stale = [
                k for k, s in self._slots.items() if s.box is not None and not s.box.intersect(box).empty
            ]
            for key in stale:
                self._drop(key)

    def scrolled(self, box: Rect, dx: int, dy: int) -> None:
        self.damaged(box)

    def resized(self, width: int, height: int) -> None:
        with self._lock:
            for key in [k for k, s in self._slots.items() if s.box is not None]:
                self._drop(key)

    def join(self) -> None:
        """A client starts drawing the source."""
        with self._lock:
            self.users += 1

    def leave(self) -> None:
        with self._lock:
            self.users = max(0, self.users - 1)

    # --- lookups ------------------------------------------------------------------------------

    def live(self, frame: Frame, box: Rect, what: Hashable, make: Callable[[], T]) -> T:
        """``make()``, a result about ``box`` of ``frame`` (the source's current frame), computed
        once while the box is unchanged.  ``what`` names the result (with every parameter it
        depends on).  The frame is part of the key: a job may still hold a replaced frame."""
        return self._get(("live", id(frame), box.left, box.top, box.right, box.bottom, what), box, make)

    def content(self, key: bytes, what: Hashable, make: Callable[[], T]) -> T:
        """``make()``, a result about the pixels whose content key is ``key``."""
        return self._get(("content", key, what), None, make)

    def __len__(self) -> int:
        return len(self._slots)

    def _get(self, key: Hashable, box: Rect | None, make: Callable[[], T]) -> T:
        if self.users <= 1:
            return make()  # nobody to share with
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot(box, self.users - 1)
                mine = True
            else:
                slot.uses -= 1
                if slot.uses <= 0 and slot.ok:
                    self._drop(key)  # every other client had it
                else:
                    self._slots.move_to_end(key)
                mine = False
        if not mine:
            if not slot.done.is_set() and _in_event_loop():
                return make()  # the event loop never blocks on a worker's encode: make its own
            slot.done.wait()
            if slot.ok:
                with self._lock:
                    self.reused += 1
                value: T = slot.value
                return value
            return make()  # the first attempt failed: its error is the caller's too
        try:
            value = make()
        except BaseException:
            with self._lock:
                if self._slots.get(key) is slot:
                    del self._slots[key]
            slot.done.set()
            raise
        slot.value = value
        slot.nbytes = _size(value)
        with self._lock:
            slot.ok = True
            self.made += 1
            if self._slots.get(key) is slot:  # not damaged meanwhile
                if slot.uses <= 0:
                    del self._slots[key]  # nobody else will ask
                else:
                    self._bytes += slot.nbytes
                    self._trim()
        slot.done.set()
        return value

    def _drop(self, key: Hashable) -> None:
        slot = self._slots.pop(key)
        if slot.ok:
            self._bytes -= slot.nbytes

    def _trim(self) -> None:
        while self._bytes > self.max_bytes or len(self._slots) > self.max_entries:
            for key, slot in self._slots.items():
                if slot.ok:
                    self._drop(key)
                    break
            else:
                return


def _size(value: object) -> int:
    """Bytes a result holds (bytes, numpy arrays, tuples of them)."""
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    return 0


_BY_SOURCE: WeakKeyDictionary[FrameSource, SharedEncodes] = WeakKeyDictionary()


def shared_encodes(source: FrameSource) -> SharedEncodes:
    """The shared results of ``source`` (created and subscribed to it on first use)."""
    return source_listener(_BY_SOURCE, source, SharedEncodes)


L = TypeVar("L", bound=DamageListener)


def source_listener(
    registry: WeakKeyDictionary[FrameSource, L], source: FrameSource, make: Callable[[], L]
) -> L:
    """``registry``'s listener of ``source``, made by ``make()`` and subscribed on first use."""
    listener = registry.get(source)
    if listener is None:
        listener = registry[source] = make()
        source.subscribe(listener)
    return listener


def _in_event_loop() -> bool:
    """Called from a trio task (not from a worker thread)."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
