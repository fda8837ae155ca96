"""Message bodies for hostile scripts: valid framing around whatever the test wants to claim."""

from __future__ import annotations

import struct

import spice_proto as sp
import spice_quic
from spice_proto import QuicImage

__all__ = ["cursor_set", "draw_copy", "quic_claiming", "surface_create"]


def surface_create(surface_id: int, width: int, height: int, primary: bool = True) -> bytes:
    """SURFACE_CREATE of a 32-bit xRGB surface (nothing checks the size here)."""
    flags = sp.SurfaceFlags.PRIMARY if primary else sp.SurfaceFlags(0)
    return struct.pack("<IIIII", surface_id, width, height, sp.SurfaceFmt.FMT_32_xRGB, flags)


def quic_claiming(width: int, height: int) -> bytes:
    """A small valid QUIC RGB32 blob whose header is patched to claim ``width`` x ``height``."""
    blob = bytearray(spice_quic.encode(bytes(4 * 4 * 4), 4, 4, spice_quic.ImageType.RGB32))
    struct.pack_into("<II", blob, 12, width, height)
    return bytes(blob)


def draw_copy(surface_id: int, image_id: int, width: int, height: int, data: bytes) -> bytes:
    """DRAW_COPY of a QUIC image (descriptor ``width`` x ``height``, raw ``data``) at 0, 0."""
    image = QuicImage(id=image_id, width=width, height=height, data=data)
    box = sp.Rect(0, 0, width, height)
    return sp.DisplayDrawCopy(surface_id, box, sp.Clip(), image, sp.Rect(0, 0, width, height)).encode()


def cursor_set(width: int, height: int, data: bytes, unique: int = 1) -> bytes:
    """CURSOR_SET of an ALPHA cursor claiming ``width`` x ``height`` with raw shape ``data``."""
    head = struct.pack("<QBHHHH", unique, sp.CursorType.ALPHA, width, height, 0, 0)
    return struct.pack("<hhB", 10, 10, 1) + struct.pack("<H", 0) + head + data
