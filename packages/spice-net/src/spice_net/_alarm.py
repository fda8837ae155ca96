"""Cheap wake-ups for a trio task: a descriptor turning readable, a deadline, or a ring.

trio ends a timed wait by cancelling it: a deadline that passes raises ``Cancelled`` through
the waiting task, which costs ~150-250 us of CPU per wake-up here, against ~70-90 for a
descriptor turning readable.  A viewer waking for every frame, or a reader pausing between
small reads, pays that hundreds of times a second.  :class:`Alarm` waits on one epoll set
holding a timerfd (the deadline), an eventfd (:meth:`Alarm.ring`) and optionally one watched
descriptor, so every wake-up is a plain readable descriptor.  Where those are missing (not
Linux), it falls back to trio's cancel scopes with the same behaviour.
"""

from __future__ import annotations

import math
import os
import select
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import trio

__all__ = ["Alarm", "nap"]

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = 0o2000000

#: libc with the timerfd functions typed, and the itimerspec structure (ctypes is imported
#: on first use, once); ``_no_timerfd`` where libc has none.
_timerfd: tuple[Any, Any] | None = None
_no_timerfd = False


def _timerfd_functions() -> tuple[Any, Any] | None:
    """(libc, itimerspec type), or ``None`` where libc has no timerfd."""
    global _timerfd, _no_timerfd
    if _timerfd is None and not _no_timerfd:
        try:
            import ctypes

            class Timespec(ctypes.Structure):
                _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

            class Itimerspec(ctypes.Structure):
                _fields_ = [("it_interval", Timespec), ("it_value", Timespec)]

            libc = ctypes.CDLL(None, use_errno=True)
            libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
            libc.timerfd_create.restype = ctypes.c_int
            libc.timerfd_settime.argtypes = [
                ctypes.c_int,
                ctypes.c_int,
                ctypes.POINTER(Itimerspec),
                ctypes.c_void_p,
            ]
            libc.timerfd_settime.restype = ctypes.c_int
            _timerfd = (libc, Itimerspec)
        except (OSError, AttributeError):
            _no_timerfd = True
    return _timerfd


def _real_clock(clock: trio.abc.Clock) -> bool:
    """Whether ``clock`` is trio's system clock (a test's MockClock has a time of its own, which a
    timerfd would not follow)."""
    return type(clock).__name__ == "SystemClock"


def clock_reader() -> Callable[[], float]:
    """``trio.current_time`` as one call: the running trio clock's own ``current_time`` (outside
    a run, ``trio.current_time`` itself).  What reads the time several times a video frame binds
    this once; the run's clock does not change while it runs."""
    try:
        return trio.lowlevel.current_clock().current_time
    except RuntimeError:
        return trio.current_time


class Alarm:
    """Lets one task at a time wait until its watched descriptor is readable, a deadline
    (trio's clock) passes, or another task of the same trio run calls :meth:`ring`.

    A ring while nobody waits makes the next :meth:`wait` return at once.  :meth:`wait`
    tells nothing about why it returned: the caller looks at what it waits for.  Close it
    (or use it as a context manager) to release its descriptors.
    """

    def __init__(self, *, portable: bool = False) -> None:
        """``portable=True`` uses trio's cancel scopes even where the descriptors exist."""
        self._fd: int | None = None
        self._closed = False
        self._epoll: select.epoll | None = None
        self._timer = -1
        self._bell = -1
        self._armed = False
        self._until: float | None = None  # the deadline of the wait going on (None: no wait)
        self._soon = math.inf  # the earliest ring_at made while nobody waited
        # the portable way
        self._rung = False
        self._scope: trio.CancelScope | None = None
        native = not portable and hasattr(select, "epoll") and hasattr(os, "eventfd")
        functions = _timerfd_functions() if native else None
        if functions is None:
            return
        self._libc, spec = functions
        self._setting = spec()  # the timer's setting, reused for every wait
        timer = self._libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if timer < 0:
            return
        self._timer = timer
        self._bell = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll = select.epoll()
        self._epoll.register(self._timer, select.EPOLLIN)
        self._epoll.register(self._bell, select.EPOLLIN)

    @property
    def native(self) -> bool:
        """Whether it waits on descriptors (else on trio's cancel scopes)."""
        return self._epoll is not None

    def watch(self, fd: int | None) -> None:
        """Wake on ``fd`` turning readable too (it replaces the one watched so far); ``None``
        watches none."""
        if fd == self._fd:
            return
        if self._epoll is not None:
            if self._fd is not None:
                try:
                    self._epoll.unregister(self._fd)
                except OSError:  # closed meanwhile: epoll forgot it already
                    pass
            if fd is not None:
                self._epoll.register(fd, select.EPOLLIN)
        self._fd = fd

    def ring(self) -> None:
        """Wake the task waiting now, or make the next wait return at once."""
        if self._closed:
            return
        self._rung = True
        if self._epoll is not None:
            os.eventfd_write(self._bell, 1)
        if self._scope is not None:
            self._scope.cancel()

    def ring_at(self, deadline: float, now: float | None = None) -> None:
        """Wake the task waiting now at ``deadline`` (trio's clock) if its own deadline is later,
        or make the next wait end by then: one wake-up at the time something is due, instead of
        a ring now and a second wait until then.  ``now``: ``trio.current_time()``, when the
        caller has just read it."""
        if self._closed:
            return
        until = self._until
        if until is None:
            self._soon = min(self._soon, deadline)
            return
        if deadline < until:
            self._end_at(deadline, now)

    def reschedule(self, deadline: float, now: float | None = None) -> None:
        """Make the wait going on end at ``deadline`` (trio's clock), later or earlier than it
        would have: for a waiter whose reason to wake another task dealt with.  A ring or the
        watched descriptor still end it sooner; nothing happens while nobody waits.  ``now``:
        ``trio.current_time()``, when the caller has just read it."""
        if not self._closed and self._until is not None:
            self._end_at(deadline, now)

    def _end_at(self, deadline: float, now: float | None) -> None:
        """Make the wait going on end at ``deadline``."""
        self._until = deadline
        if self._scope is not None:
            self._scope.deadline = deadline
        elif self._epoll is not None:
            delay = deadline - (trio.current_time() if now is None else now)
            if delay <= 0:
                self.ring()
            elif math.isfinite(delay):
                self._arm(delay)
            elif self._armed:
                self._arm(0.0)

    async def wait(self, deadline: float = math.inf) -> None:
        """Until the watched descriptor is readable, ``deadline`` passes (or one that
        :meth:`ring_at` set) or :meth:`ring` is called; a checkpoint even when one of them
        holds already."""
        if self._closed:
            raise trio.ClosedResourceError("the alarm is closed")
        deadline, self._soon = min(deadline, self._soon), math.inf
        self._until = deadline
        try:
            clock = trio.lowlevel.current_clock()
            if self._epoll is None or not _real_clock(clock):
                await self._wait_portably(deadline)
            else:
                await self._wait_natively(deadline, clock.current_time())
        finally:
            self._until = None

    async def _wait_natively(self, deadline: float, now: float) -> None:
        assert self._epoll is not None
        delay = deadline - now
        if delay <= 0:
            self._drain()
            await trio.lowlevel.checkpoint()
            return
        if math.isfinite(delay):
            self._arm(delay)
        elif self._armed:
            self._arm(0.0)
        await trio.lowlevel.wait_readable(self._epoll.fileno())
        self._drain()

    def _arm(self, delay: float) -> None:
        """Set the timer ``delay`` seconds ahead (0: stop it); this also clears its count."""
        seconds = int(delay)
        value = self._setting.it_value
        value.tv_sec, value.tv_nsec = seconds, 0 if delay <= 0 else max(1, int((delay - seconds) * 1e9))
        if self._libc.timerfd_settime(self._timer, 0, self._setting, None) != 0:
            raise OSError("timerfd_settime failed")
        self._armed = delay > 0

    def _drain(self) -> None:
        """Clear the bell and an expired timer (the watched descriptor is its reader's)."""
        self._rung = False
        assert self._epoll is not None
        for fd, _ in self._epoll.poll(0):
            if fd == self._timer or fd == self._bell:
                try:
                    os.read(fd, 8)
                except BlockingIOError:  # cleared meanwhile
                    pass
                if fd == self._timer:
                    self._armed = False

    async def _wait_portably(self, deadline: float) -> None:
        if self._rung:
            self._clear_bell()
            await trio.lowlevel.checkpoint()
            return
        with trio.CancelScope(deadline=deadline) as scope:
            self._scope = scope
            try:
                if self._fd is not None:
                    await trio.lowlevel.wait_readable(self._fd)
                else:
                    await trio.sleep_forever()
            finally:
                self._scope = None
        self._clear_bell()

    def _clear_bell(self) -> None:
        self._rung = False
        if self._epoll is not None:
            try:
                os.read(self._bell, 8)
            except BlockingIOError:
                pass

    def close(self) -> None:
        """Release the descriptors (the watched one stays open: it is not the alarm's)."""
        if self._closed:
            return
        self._closed = True
        if self._epoll is not None:
            try:  # trio may still have the epoll descriptor registered
                trio.lowlevel.notify_closing(self._epoll.fileno())
            except RuntimeError:  # not inside trio.run
                pass
            self._epoll.close()
            os.close(self._timer)
            os.close(self._bell)

    def __enter__(self) -> Alarm:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_spare = threading.local()


async def nap(seconds: float) -> None:
    """``trio.sleep(seconds)`` through an :class:`Alarm` (kept per thread for the next nap):
    the same pause, without a cancellation to end it."""
    spare: list[Alarm] = _spare.__dict__.setdefault("alarms", [])
    alarm = spare.pop() if spare else Alarm()
    try:
        await alarm.wait(trio.current_time() + seconds)
    finally:
        spare.append(alarm)
