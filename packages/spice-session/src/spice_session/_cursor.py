"""The cursor channel on the client: shapes of every cursor type as RGBA, the shape cache, state.

Shapes become :class:`CursorImage`: straight ``(height, width, 4)`` uint8 RGBA plus an
``xor`` mask for the pixels that combine with the screen instead of covering it.  The
SPICE cursor types follow the Windows cursor model, ``screen = (screen AND and_bit) XOR
colour``, with an AND mask of 1 bit per pixel (rows padded to whole bytes, most
significant bit first):

- ``AND = 0``: the pixel is the colour, opaque.
- ``AND = 1`` and colour 0: transparent (``rgba`` 0, 0, 0, 0).
- ``AND = 1`` and another colour: the screen is XORed with that colour (white: inverted).
  Such pixels have ``xor`` True and hold the XOR colour in ``rgba``, alpha 255, so a
  renderer that cannot XOR still shows a visible pixel.

MONO cursors carry the AND mask, then an XOR mask whose 1 bits mean white.  ALPHA cursors
are 32-bit B, G, R, A words, passed on as sent (X servers send premultiplied alpha).
COLOR16 pixels are x1r5g5b5, expanded to 8 bits by repeating the top bits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from spice_proto import (
    Cursor,
    CursorFlags,
    CursorHeader,
    CursorHide,
    CursorInit,
    CursorInvalAll,
    CursorInvalOne,
    CursorMove,
    CursorReset,
    CursorSet,
    CursorTrail,
    CursorType,
    Message,
    UnknownMessage,
    cursor_data_size,
)
from spice_proto.lowlevel import frozen

from ._budget import BudgetExceeded, MemoryBudget
from ._errors import SessionError
from ._events import Event

__all__ = [
    "MAX_CURSOR_SIDE",
    "CursorError",
    "CursorHidden",
    "CursorImage",
    "CursorMoved",
    "CursorProblem",
    "CursorShapeChanged",
    "CursorState",
    "decode_cursor",
]

log = logging.getLogger("spice_session.cursor")

#: Largest cursor width or height accepted; a larger one is a :class:`CursorError`.
MAX_CURSOR_SIDE = 1024
#: Bytes a decoded cursor pixel takes (RGBA plus the XOR flag), and its peak while decoding.
CURSOR_BYTES_PER_PIXEL = 5
DECODE_BYTES_PER_PIXEL = 3 * CURSOR_BYTES_PER_PIXEL

RGBA = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]


class CursorError(SessionError):
    """Cursor data that cannot be turned into a shape (truncated, too large, an unknown cache id)."""


@dataclass(frozen=True, eq=False)
class CursorImage:
    """A decoded cursor: ``rgba`` (height, width, 4) uint8 straight RGBA, hot spot, ``xor`` mask.

    ``xor`` is (height, width) bool: True where the screen pixel is XORed with the RGB of
    ``rgba`` (white means inverted) rather than covered by it.  ``unique`` is the server's
    cache key and ``type`` the wire :class:`~spice_proto.CursorType` it came as.
    """

    width: int
    height: int
    hot_x: int
    hot_y: int
    rgba: RGBA
    xor: Mask
    type: CursorType = CursorType.ALPHA
    unique: int = 0

    @property
    def has_xor(self) -> bool:
        """Whether any pixel XORs with the screen (MONO inversions, masked colours)."""
        return bool(self.xor.any())

    def __repr__(self) -> str:
        return (
            f"<CursorImage {self.type.name} {self.width}x{self.height} "
            f"hot ({self.hot_x}, {self.hot_y}) unique {self.unique:#x}>"
        )


# --------------------------------------------------------------------------- decoding


def _bits(data: npt.NDArray[np.uint8], width: int, height: int) -> Mask:
    """A 1-bit-per-pixel mask (rows padded to bytes, MSB first) as (height, width) bool."""
    rows = data.reshape(height, (width + 7) // 8)
    return np.unpackbits(rows, axis=1, bitorder="big")[:, :width].astype(bool)


def _apply_and_mask(rgb: RGBA, and_mask: Mask) -> tuple[RGBA, Mask]:
    """RGBA and the XOR mask from an opaque colour image and its AND mask (module docstring rules)."""
    height, width = and_mask.shape
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[:, :, :3] = rgb
    rgba[:, :, 3] = 255
    xor = and_mask & rgb.any(axis=2)
    transparent = and_mask & ~xor
    rgba[transparent] = 0
    return rgba, xor


_FIVE_TO_EIGHT = np.array([(i << 3) | (i >> 2) for i in range(32)], np.uint8)


def _expand5(value: npt.NDArray[np.integer[Any]]) -> RGBA:
    """5-bit channel values (the low bits of ``value``) scaled to 8 bits."""
    out: RGBA = _FIVE_TO_EIGHT[value & 0x1F]
    return out


def check_cursor(header: CursorHeader, data: bytes) -> int:
    """The bytes of ``data`` the shape uses; :class:`CursorError` if the cursor is larger than
    :data:`MAX_CURSOR_SIDE` or ``data`` is shorter than its type and size call for."""
    kind, w, h = CursorType(header.type), header.width, header.height
    where = f"{kind.name} cursor {w}x{h} (unique {header.unique:#x})"
    if w > MAX_CURSOR_SIDE or h > MAX_CURSOR_SIDE:
        raise CursorError(f"{where}: larger than {MAX_CURSOR_SIDE} pixels a side")
    need = cursor_data_size(kind, w, h)
    if len(data) < need:
        raise CursorError(f"{where}: needs {need} bytes of shape data, got {len(data)}")
    return need


def decode_cursor(header: CursorHeader, data: bytes) -> CursorImage:
    """Turn a cursor header and its shape data into a :class:`CursorImage`.

    Raises :class:`CursorError` naming the cursor when the data is shorter than its type
    and size call for, or the cursor is larger than :data:`MAX_CURSOR_SIDE`.  A hot spot
    outside the shape is moved to its edge (as spice-gtk does).
    """
    kind, w, h = CursorType(header.type), header.width, header.height
    need = check_cursor(header, data)
    buf = np.frombuffer(data, np.uint8, need)
    npx = w * h
    mask_len = (w + 7) // 8 * h
    if kind == CursorType.ALPHA:
        rgba = np.ascontiguousarray(buf.reshape(h, w, 4)[:, :, [2, 1, 0, 3]])
        xor = np.zeros((h, w), bool)
    elif kind == CursorType.MONO:
        and_mask = _bits(buf[:mask_len], w, h)
        white = _bits(buf[mask_len : 2 * mask_len], w, h)
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[white, :] = 255
        rgba[~and_mask, 3] = 255
        xor = and_mask & white
    else:
        if kind == CursorType.COLOR4:
            row = (w + 1) // 2
            packed = buf[: row * h].reshape(h, row)
            nibbles = np.empty((h, row * 2), np.uint8)
            nibbles[:, 0::2] = packed >> 4
            nibbles[:, 1::2] = packed & 0x0F
            palette = buf[row * h : row * h + 64].reshape(16, 4)
            rgb = palette[nibbles[:, :w], 2::-1]
            mask_at = row * h + 64
        elif kind == CursorType.COLOR8:
            palette = buf[npx : npx + 1024].reshape(256, 4)
            rgb = palette[buf[:npx].reshape(h, w), 2::-1]
            mask_at = npx + 1024
        elif kind == CursorType.COLOR16:
            words: npt.NDArray[np.uint16] = buf[: 2 * npx].view("<u2").reshape(h, w)
            rgb = np.stack([_expand5(words >> 10), _expand5(words >> 5), _expand5(words)], axis=2)
            mask_at = 2 * npx
        elif kind == CursorType.COLOR24:
            rgb = buf[: 3 * npx].reshape(h, w, 3)[:, :, ::-1]
            mask_at = 3 * npx
        else:  # COLOR32
            rgb = buf[: 4 * npx].reshape(h, w, 4)[:, :, 2::-1]
            mask_at = 4 * npx
        rgba, xor = _apply_and_mask(rgb, _bits(buf[mask_at : mask_at + mask_len], w, h))
    return CursorImage(
        w, h, min(header.hot_spot_x, w), min(header.hot_spot_y, h), rgba, xor, kind, header.unique
    )


def _shape_bytes(shape: CursorImage) -> int:
    return int(shape.rgba.nbytes + shape.xor.nbytes)


# --------------------------------------------------------------------------- events


@frozen
class CursorShapeChanged(Event):
    """The server set a new cursor shape (at ``x``, ``y``; ``visible`` as the server says)."""

    shape: CursorImage
    x: int
    y: int
    visible: bool


@frozen
class CursorMoved(Event):
    """The server moved the cursor (the hot spot goes to ``x``, ``y`` of the primary display)."""

    x: int
    y: int


@frozen
class CursorHidden(Event):
    """The server hid the cursor (HIDE, a NONE shape, INIT/SET with visible 0, or RESET)."""


@frozen
class CursorProblem(Event):
    """A cursor message whose shape could not be used (also logged); the state is unchanged."""

    error: CursorError


# --------------------------------------------------------------------------- state


@dataclass
class CursorState:
    """What the cursor channel has said so far: shape, position, visibility, the shape cache.

    Feed every cursor-channel message to :meth:`handle`; it returns the events to report.
    Decoding and the shape cache are charged to ``budget`` (the session's memory budget);
    a shape that does not fit is a :class:`CursorError`, skipped like any unusable shape.
    """

    shape: CursorImage | None = None
    x: int = 0
    y: int = 0
    visible: bool = False
    trail_length: int = 0
    trail_frequency: int = 0
    cache: dict[int, CursorImage] = field(default_factory=dict)
    budget: MemoryBudget = field(default_factory=MemoryBudget, repr=False)

    def handle_safely(self, message: Message | UnknownMessage) -> list[Event]:
        """:meth:`handle`, with a :class:`CursorError` logged and reported as :class:`CursorProblem`.

        A bad shape should not end a session: the cursor keeps its previous state.
        """
        try:
            return self.handle(message)
        except CursorError as exc:
            log.warning("cursor: skipped %s: %s", type(message).__name__, exc)
            return [CursorProblem(exc)]

    def handle(self, message: Message | UnknownMessage) -> list[Event]:
        """Update the state from one message; the resulting cursor events (maybe none).

        Raises :class:`CursorError` for an unusable shape; shape, position and visibility
        then stay as they were.
        """
        if isinstance(message, CursorInit):
            self._clear_cache()
            self.trail_length, self.trail_frequency = message.trail_length, message.trail_frequency
            return self._set(message.cursor, message.x, message.y, message.visible)
        if isinstance(message, CursorSet):
            return self._set(message.cursor, message.x, message.y, message.visible)
        if isinstance(message, CursorMove):
            self.x, self.y = message.x, message.y
            return [CursorMoved(message.x, message.y)]
        if isinstance(message, CursorHide):
            self.visible = False
            return [CursorHidden()]
        if isinstance(message, CursorReset):
            self._clear_cache()
            self.shape = None
            self.visible = False
            return [CursorHidden()]
        if isinstance(message, CursorTrail):
            self.trail_length, self.trail_frequency = message.length, message.frequency
            return []
        if isinstance(message, CursorInvalOne):
            self._uncache(message.id)
            return []
        if isinstance(message, CursorInvalAll):
            self._clear_cache()
            return []
        return []

    def _uncache(self, unique: int) -> None:
        gone = self.cache.pop(unique, None)
        if gone is not None:
            self.budget.refund(_shape_bytes(gone))

    def _clear_cache(self) -> None:
        self.budget.refund(sum(_shape_bytes(shape) for shape in self.cache.values()))
        self.cache.clear()

    def lookup(self, cursor: Cursor) -> CursorImage | None:
        """The shape a wire cursor stands for (decoded, or from the cache); ``None`` for NONE.

        Shapes flagged CACHE_ME are remembered under their ``unique``.  A FROM_CACHE
        cursor whose ``unique`` is not cached raises :class:`CursorError`.
        """
        if cursor.is_none or cursor.header is None:
            return None
        header = cursor.header
        if cursor.flags & CursorFlags.FROM_CACHE:
            try:
                return self.cache[header.unique]
            except KeyError:
                raise CursorError(
                    f"cursor from cache: unique {header.unique:#x} is not cached "
                    f"({len(self.cache)} shapes cached)"
                ) from None
        check_cursor(header, cursor.data)
        where = f"{CursorType(header.type).name} cursor {header.width}x{header.height}"
        try:
            with self.budget.hold(DECODE_BYTES_PER_PIXEL * header.width * header.height, f"decoding {where}"):
                shape = decode_cursor(header, cursor.data)
            if cursor.flags & CursorFlags.CACHE_ME:
                self._uncache(header.unique)
                self.budget.charge(_shape_bytes(shape), f"caching {where}")
                self.cache[header.unique] = shape
        except BudgetExceeded as exc:
            raise CursorError(str(exc)) from None
        return shape

    def _set(self, cursor: Cursor, x: int, y: int, visible: bool) -> list[Event]:
        shape = self.lookup(cursor)
        self.x, self.y = x, y
        if shape is None:
            self.shape = None
            self.visible = False
            return [CursorHidden()]
        self.shape = shape
        self.visible = visible
        events: list[Event] = [CursorShapeChanged(shape, x, y, visible)]
        if not visible:
            events.append(CursorHidden())
        return events
