"""Caps on connections that have not linked and authenticated yet, per peer address and in total."""

from __future__ import annotations

import enum
import ipaddress
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PendingLink", "PendingLinks", "Progress", "address_key"]


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


class Progress(enum.IntEnum):
    """How far a pending connection got; when room is needed the lowest goes first (oldest first)."""

    DENIED = 0  #: sent a wrong ticket (it waits for its answer)
    CONNECTED = 1  #: no complete link request yet (idle sockets, half-sent links, TLS never done)
    REQUESTED = 2  #: sent a complete link request


@dataclass(eq=False)
class PendingLink:
    address: str
    cancel: Callable[[], None]
    progress: Progress = Progress.CONNECTED


class PendingLinks:
    """Book-keeping of pre-auth connections (sans-I/O: the caller passes a cancel callback).

    A new connection from an address that already has ``per_address`` pending is refused.
    When ``total`` are pending, one is cancelled to make room: the oldest that sent a wrong
    ticket, else the oldest that has not sent a complete link request, else the oldest of all.
    Idle sockets, half-sent links and password guessers thus make room for a client that
    links at once, however many addresses they come from.
    """

    def __init__(self, per_address: int, total: int) -> None:
        if per_address < 1 or total < 1:
            raise ValueError("pending-link limits must be at least 1")
        self.per_address = per_address
        self.total = total
        # per progress, insertion-ordered: oldest first
        self._entries: dict[Progress, dict[PendingLink, None]] = {p: {} for p in Progress}
        self._per_address: Counter[str] = Counter()

    def __len__(self) -> int:
        return sum(map(len, self._entries.values()))

    def count(self, address: str) -> int:
        """Pending connections from ``address`` (as :func:`address_key` groups it)."""
        return self._per_address[address_key(address)]

    def admit(self, address: str, cancel: Callable[[], None]) -> PendingLink | None:
        """Register a new connection; ``None`` if its address is over the limit (close it at once)."""
        key = address_key(address)
        if self._per_address[key] >= self.per_address:
            return None
        while len(self) >= self.total:
            victims = next(entries for entries in self._entries.values() if entries)
            victim = next(iter(victims))
            self.release(victim)
            victim.cancel()
        entry = PendingLink(key, cancel)
        self._entries[entry.progress][entry] = None
        self._per_address[key] += 1
        return entry

    def advance(self, entry: PendingLink, progress: Progress) -> None:
        """Record how far ``entry`` got (it becomes the youngest of that kind)."""
        if self._entries[entry.progress].pop(entry, 0) is None:
            entry.progress = progress
            self._entries[progress][entry] = None

    def release(self, entry: PendingLink) -> None:
        """The connection linked, failed or was evicted (idempotent)."""
        if self._entries[entry.progress].pop(entry, 0) is None:
            self._per_address[entry.address] -= 1
            if not self._per_address[entry.address]:
                del self._per_address[entry.address]
