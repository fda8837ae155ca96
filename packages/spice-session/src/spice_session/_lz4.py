"""The LZ4 image payload: ``u8 top_down, u8 bitmap format``, then ``[u32 BE size][LZ4 block]``
repeated, decoded as one continued stream (later blocks may refer back into earlier output)."""

from __future__ import annotations

import struct

import lz4.block  # type: ignore[import-untyped]
from spice_proto import BitmapFmt, Payload

from ._errors import DisplayError

__all__ = ["LZ4_FORMATS", "inflate_lz4"]

#: Bitmap formats an LZ4 image may carry, and their bytes per pixel.
LZ4_FORMATS = {
    BitmapFmt.FMT_16BIT: 2,
    BitmapFmt.FMT_24BIT: 3,
    BitmapFmt.FMT_32BIT: 4,
    BitmapFmt.RGBA: 4,
}
#: LZ4 blocks refer back at most this far.
_WINDOW = 65536


def inflate_lz4(data: Payload, width: int, height: int, what: str) -> tuple[BitmapFmt, bool, bytearray]:
    """(bitmap format, top_down, the ``width`` x ``height`` pixels as raw rows) of an LZ4 payload.

    Anything malformed is a :class:`~spice_session.DisplayError` starting with ``what``.
    """
    if len(data) < 2:
        raise DisplayError(f"{what}: LZ4 data shorter than its 2-byte header")
    top_down, fmt_code = data[0], data[1]
    try:
        fmt = BitmapFmt(fmt_code)
        bpp = LZ4_FORMATS[fmt]
    except (ValueError, KeyError):
        raise DisplayError(f"{what}: LZ4 bitmap format {fmt_code} not supported") from None
    total = width * height * bpp
    out = bytearray()
    pos = 2
    while pos < len(data):
        if pos + 4 > len(data):
            raise DisplayError(f"{what}: LZ4 block header truncated at byte {pos}")
        (size,) = struct.unpack_from(">I", data, pos)
        pos += 4
        if size > len(data) - pos:
            raise DisplayError(f"{what}: LZ4 block of {size} bytes at byte {pos} is truncated")
        room = total - len(out)
        if room <= 0:
            raise DisplayError(f"{what}: LZ4 data continues past the image at byte {pos}")
        try:
            block = lz4.block.decompress(
                data[pos : pos + size],
                uncompressed_size=room,
                dict=bytes(out[-_WINDOW:]),
                return_bytearray=False,
            )
        except lz4.block.LZ4BlockError as exc:
            raise DisplayError(f"{what}: corrupt LZ4 block at byte {pos} ({exc})") from None
        out += block
        pos += size
    if len(out) != total:
        raise DisplayError(f"{what}: LZ4 data holds {len(out)} bytes, {total} expected")
    return fmt, bool(top_down), out
