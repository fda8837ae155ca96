"""Shared helpers of the QUIC tests: source-pixel conversions of expected outputs."""

from __future__ import annotations

import spice_quic
import vectors

TYPES = {t.name: t for t in spice_quic.ImageType}


def source_pixels(case: vectors.Case) -> tuple[bytes, spice_quic.ImageType]:
    """The case's picture in ``encode``'s input layout for its image type, built from the expected output."""
    itype = TYPES[case.image_type]
    outputs = {e.format: e.read() for e in case.expected}
    if itype is spice_quic.ImageType.GRAY:
        return outputs["gray8"], itype
    if itype is spice_quic.ImageType.RGBA:
        return outputs["bgra32"], itype
    bgrx = outputs["bgrx32"]
    if itype is spice_quic.ImageType.RGB32:
        return bgrx, itype
    if itype is spice_quic.ImageType.RGB24:
        out = bytearray(len(bgrx) // 4 * 3)
        out[0::3] = bgrx[0::4]
        out[1::3] = bgrx[1::4]
        out[2::3] = bgrx[2::4]
        return bytes(out), itype
    # RGB16: the 8-bit expansion c8 = c5 << 3 | c5 >> 2 keeps c5 in the top bits.
    out = bytearray(len(bgrx) // 2)
    for i in range(len(bgrx) // 4):
        b, g, r = bgrx[4 * i] >> 3, bgrx[4 * i + 1] >> 3, bgrx[4 * i + 2] >> 3
        v = r << 10 | g << 5 | b
        out[2 * i] = v & 0xFF
        out[2 * i + 1] = v >> 8
    return bytes(out), itype
