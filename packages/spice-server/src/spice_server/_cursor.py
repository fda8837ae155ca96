"""The pointer shape and position the server shows (cursor channel contents)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from spice_proto import Cursor, CursorFlags, CursorHeader, CursorType

__all__ = ["CursorShape", "default_cursor"]


@dataclass(frozen=True)
class CursorShape:
    """An ALPHA cursor: ``width`` x ``height`` pixels, 4 bytes each in B, G, R, A order
    (not premultiplied), with the hot spot at ``hot_x, hot_y``."""

    width: int
    height: int
    bgra: bytes
    hot_x: int = 0
    hot_y: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.width <= 512 and 0 < self.height <= 512):
            raise ValueError(f"cursor size {self.width}x{self.height}: each side must be 1..512")
        if len(self.bgra) != 4 * self.width * self.height:
            raise ValueError(
                f"cursor pixels are {len(self.bgra)} bytes, {self.width}x{self.height} needs "
                f"{4 * self.width * self.height}"
            )
        if not (0 <= self.hot_x < self.width and 0 <= self.hot_y < self.height):
            raise ValueError(
                f"hot spot {self.hot_x},{self.hot_y} is outside the {self.width}x{self.height} cursor"
            )

    @classmethod
    def from_rgba(cls, rgba: bytes, width: int, height: int, hot_x: int = 0, hot_y: int = 0) -> CursorShape:
        """A shape from R, G, B, A bytes (row by row, top first)."""
        raw = bytes(rgba)
        if len(raw) != 4 * width * height:
            raise ValueError(
                f"cursor pixels are {len(raw)} bytes, {width}x{height} needs {4 * width * height}"
            )
        swapped = bytearray(raw)
        swapped[0::4] = raw[2::4]
        swapped[2::4] = raw[0::4]
        return cls(width, height, bytes(swapped), hot_x, hot_y)

    @property
    def unique(self) -> int:
        """A 64-bit id derived from the shape (the client's cache key)."""
        digest = hashlib.blake2b(self.bgra, digest_size=8, key=b"%d,%d" % (self.width, self.height))
        return int.from_bytes(digest.digest(), "little")

    def to_wire(self) -> Cursor:
        header = CursorHeader(self.unique, CursorType.ALPHA, self.width, self.height, self.hot_x, self.hot_y)
        return Cursor(CursorFlags(0), header, self.bgra)


_ARROW = (
    "X           ",
    "XX          ",
    "X.X         ",
    "X..X        ",
    "X...X       ",
    "X....X      ",
    "X.....X     ",
    "X......X    ",
    "X.......X   ",
    "X........X  ",
    "X.....XXXXX ",
    "X..X..X     ",
    "X.X X..X    ",
    "XX  X..X    ",
    "X    X..X   ",
    "     X..X   ",
    "      XX    ",
)


def default_cursor() -> CursorShape:
    """A small black-and-white arrow, hot spot at its tip."""
    width, height = len(_ARROW[0]), len(_ARROW)
    px = bytearray()
    for row in _ARROW:
        for ch in row:
            px += {"X": b"\0\0\0\xff", ".": b"\xff\xff\xff\xff"}.get(ch, b"\0\0\0\0")
    return CursorShape(width, height, bytes(px), 0, 0)
