"""Caps on connections that have not linked and authenticated yet, per peer address and in total."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PendingLinks", "address_key"]


def address_key(host: str) -> str:
    """The unit a per-address limit counts: the IPv4 address, or the /64 network of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(eq=False)
class _Pending:
    address: str
    cancel: Callable[[], None]


class PendingLinks:
    """Book-keeping of pre-auth connections (sans-I/O: the caller passes a cancel callback).

    A new connection from an address that already has ``per_address`` pending is refused.
    When ``total`` are pending, the oldest one is cancelled to make room: idle sockets, half-sent
    links and throttled password guessers can then never keep a newcomer out for long.
    """

    def __init__(self, per_address: int, total: int) -> None:
        if per_address < 1 or total < 1:
            raise ValueError("pending-link limits must be at least 1")
        self.per_address = per_address
        self.total = total
        self._entries: dict[_Pending, None] = {}  # insertion-ordered: oldest first
        self._per_address: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, address: str) -> int:
        """Pending connections from ``address`` (as :func:`address_key` groups it)."""
        return self._per_address[address_key(address)]

    def admit(self, address: str, cancel: Callable[[], None]) -> _Pending | None:
        """Register a new connection; ``None`` if its address is over the limit (close it at once)."""
        key = address_key(address)
        if self._per_address[key] >= self.per_address:
            return None
        while len(self._entries) >= self.total:
            oldest = next(iter(self._entries))
            self.release(oldest)
            oldest.cancel()
        entry = _Pending(key, cancel)
        self._entries[entry] = None
        self._per_address[key] += 1
        return entry

    def release(self, entry: _Pending) -> None:
        """The connection linked, failed or was evicted (idempotent)."""
        if self._entries.pop(entry, 0) is None:
            self._per_address[entry.address] -= 1
            if not self._per_address[entry.address]:
                del self._per_address[entry.address]
