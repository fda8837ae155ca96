"""Growing per-address delays before a wrong ticket is answered."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AuthThrottle"]


@dataclass
class _Record:
    failures: int
    last: float


class AuthThrottle:
    """Counts wrong tickets per address; each is answered after ``first`` seconds, doubling up to ``cap``.

    A correct ticket clears the address; so do ``forget_after`` seconds without a failure.  At most
    ``max_addresses`` are remembered (the stalest are dropped first), so a spread-out attacker cannot
    grow this table without bound.  Times are whatever clock the caller passes (sans-I/O).
    """

    def __init__(
        self, first: float = 0.5, cap: float = 4.0, forget_after: float = 600.0, max_addresses: int = 4096
    ) -> None:
        if first < 0 or cap < first:
            raise ValueError("need 0 <= first <= cap")
        self.first = first
        self.cap = cap
        self.forget_after = forget_after
        self.max_addresses = max_addresses
        self._records: dict[str, _Record] = {}  # least recently failed first

    def failures(self, address: str, now: float) -> int:
        """Wrong tickets from ``address`` that are still remembered."""
        record = self._records.get(address)
        if record is None or now - record.last >= self.forget_after:
            return 0
        return record.failures

    def delay(self, address: str, now: float) -> float:
        """The delay ``address``'s latest wrong ticket got (0 if none is remembered)."""
        count = self.failures(address, now)
        return min(self.cap, self.first * 2.0 ** min(count - 1, 64)) if count else 0.0

    def failed(self, address: str, now: float) -> float:
        """Record a wrong ticket; returns the seconds to wait before answering it."""
        count = self.failures(address, now) + 1
        self._records.pop(address, None)
        self._records[address] = _Record(count, now)
        while len(self._records) > self.max_addresses:
            del self._records[next(iter(self._records))]
        return self.delay(address, now)

    def succeeded(self, address: str) -> None:
        """A correct ticket: forget the address's failures."""
        self._records.pop(address, None)
