"""Capability sets: the u32 bit-words exchanged in the link messages."""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import ProtocolError


class Caps(frozenset[int]):
    """A set of capability bit numbers, convertible to and from u32 words."""

    def words(self) -> list[int]:
        """The caps as u32 words, bit ``n`` in word ``n // 32`` (no trailing zero words)."""
        if not self:
            return []
        if min(self) < 0:
            raise ProtocolError(f"negative capability bit {min(self)}")
        out = [0] * (max(self) // 32 + 1)
        for bit in self:
            out[bit // 32] |= 1 << (bit % 32)
        return out

    @classmethod
    def from_words(cls, words: Iterable[int]) -> Caps:
        bits = set()
        for index, word in enumerate(words):
            for bit in range(32):
                if word >> bit & 1:
                    bits.add(index * 32 + bit)
        return cls(bits)

    @classmethod
    def of(cls, *bits: int) -> Caps:
        return cls(int(b) for b in bits)

    def __repr__(self) -> str:
        return f"Caps({sorted(self)})"
