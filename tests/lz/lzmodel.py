"""Independent numpy model of what an LZ image decodes to, given the encoder's native input."""

from __future__ import annotations

import numpy as np
from spice_lz import ImageType

PIXELS_PER_BYTE = {
    ImageType.PLT1_LE: 8,
    ImageType.PLT1_BE: 8,
    ImageType.PLT4_LE: 2,
    ImageType.PLT4_BE: 2,
    ImageType.PLT8: 1,
}


def indices(kind: ImageType, packed: bytes, width: int, height: int) -> np.ndarray:
    """Unpack palette indices (height x width) from tightly packed rows."""
    ppb = PIXELS_PER_BYTE[kind]
    rows = np.frombuffer(packed, np.uint8).reshape(height, kind.row_bytes(width))
    if ppb == 1:
        return rows.astype(np.int64)
    bits = 8 // ppb
    lsb_first = kind in (ImageType.PLT1_LE, ImageType.PLT4_LE)
    shifts = [k * bits if lsb_first else 8 - bits - k * bits for k in range(ppb)]
    parts = [(rows >> s) & ((1 << bits) - 1) for s in shifts]
    full = np.stack(parts, axis=-1).reshape(height, -1)
    return full[:, :width].astype(np.int64)


def expected(
    kind: ImageType, native: bytes, width: int, height: int, palette: list[int] | None, fmt: str
) -> bytes:
    """Decoded pixels in ``fmt`` for tightly packed native rows (bit 15 of RGB16 excluded)."""
    if kind.is_palette:
        assert palette is not None
        idx = indices(kind, native, width, height)
        if kind in (ImageType.PLT4_LE, ImageType.PLT4_BE):
            idx = idx % len(palette)
        ents = np.array(palette, np.uint32) & 0x00FFFFFF
        return ents[idx].astype("<u4").tobytes()
    if kind in (ImageType.RGB32, ImageType.RGBA, ImageType.XXXA):
        px = np.frombuffer(native, np.uint8).reshape(-1, 4).copy()
        if kind == ImageType.RGB32:
            px[:, 3] = 0
        if kind == ImageType.XXXA:
            return px[:, 3].tobytes()
        return px.tobytes()
    if kind == ImageType.RGB24:
        px = np.frombuffer(native, np.uint8).reshape(-1, 3)
        return np.concatenate([px, np.zeros((len(px), 1), np.uint8)], axis=1).tobytes()
    if kind == ImageType.A8:
        return native
    v = np.frombuffer(native, "<u2").astype(np.uint32)
    if fmt == "x1r5g5b5":
        return (v & 0x7FFF).astype("<u2").tobytes()
    r, g, b = (v >> 10) & 31, (v >> 5) & 31, v & 31
    r, g, b = (r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2)
    return (b | (g << 8) | (r << 16)).astype("<u4").tobytes()
