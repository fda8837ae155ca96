"""One memory budget per session: a running total of the bytes the client holds for the server.

Surfaces, cached images, the GLZ window, video streams and cached cursor shapes are
charged when they are made and refunded when they go; a decode is charged for the
time it runs.  Each charge or refund is O(1).  Whatever would take the total past the
limit is refused with :class:`BudgetExceeded` *before* anything is allocated, and
the display (or cursor) handler skips that one command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from ._errors import DisplayError

__all__ = ["DEFAULT_MEMORY_BUDGET", "BudgetExceeded", "MemoryBudget", "parse_size"]

#: What a session may hold unless told otherwise: 1 GiB.
DEFAULT_MEMORY_BUDGET = 1 << 30

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


class BudgetExceeded(DisplayError):
    """Something the server asked for would take the session past its memory budget; skipped."""


def parse_size(text: str) -> int:
    """``"512M"`` / ``"1G"`` / ``"1.5GiB"`` / ``"4096"`` as bytes (binary units); ``ValueError`` otherwise."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (expected e.g. 512M or 1G)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size <= 0:
        raise ValueError(f"a memory budget must be positive, not {text!r}")
    return size


class MemoryBudget:
    """Bytes held against ``limit``: :meth:`charge` before allocating, :meth:`refund` on release."""

    def __init__(self, limit: int = DEFAULT_MEMORY_BUDGET) -> None:
        if limit <= 0:
            raise ValueError(f"a memory budget must be positive, not {limit}")
        self.limit = limit
        #: Bytes charged now.
        self.used = 0
        #: Highest ``used`` so far.
        self.peak = 0
        #: Requests refused so far.
        self.refused = 0

    @property
    def available(self) -> int:
        return self.limit - self.used

    def check(self, nbytes: int, what: str) -> None:
        """:class:`BudgetExceeded` naming ``what`` if ``nbytes`` more would not fit."""
        if nbytes > self.limit - self.used:
            self.refused += 1
            raise BudgetExceeded(
                f"{what} needs {nbytes} bytes; {max(self.available, 0)} of the session's "
                f"{self.limit}-byte memory budget are left"
            )

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` as held (after :meth:`check`)."""
        self.check(nbytes, what)
        self.used += nbytes
        self.peak = max(self.peak, self.used)

    def refund(self, nbytes: int) -> None:
        """Give back bytes charged earlier."""
        self.used -= nbytes

    @contextmanager
    def hold(self, nbytes: int, what: str) -> Iterator[None]:
        """Charge ``nbytes`` for the duration of the ``with`` block (a decode's working memory)."""
        self.charge(nbytes, what)
        try:
            yield
        finally:
            self.refund(nbytes)

    def __repr__(self) -> str:
        return f"MemoryBudget(limit={self.limit}, used={self.used}, peak={self.peak})"
