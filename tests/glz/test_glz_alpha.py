"""The RGBA alpha pass, byte for byte on hand-made streams: literal alpha, a run repeating the
previous pixel's alpha, an overlapping in-image copy and a copy from an earlier image (the
decoder merges whole words there; the picture's B, G, R bytes must stay as the RGB pass left
them)."""

from __future__ import annotations

import struct

import spice_glz


def _blob(image_id: int, rgb: bytes, alpha_stream: bytes, width: int) -> bytes:
    # magic, version, type RGBA | top-down, width, height, stride, id (u64), win_head_dist
    head = struct.pack(">IIBIIIIII", 0x20205A4C, 0x00010001, 0x19, width, 1, width * 4, 0, image_id, image_id)
    literal = bytes([width - 1]) + rgb  # one literal run of every pixel's B, G, R
    return head + literal + alpha_stream


def _expected(rgb: bytes, alpha: list[int]) -> bytes:
    return b"".join(rgb[3 * i : 3 * i + 3] + bytes([a]) for i, a in enumerate(alpha))


def test_alpha_runs_and_copies_exact() -> None:
    window = spice_glz.Window(1 << 16)
    rgb = bytes(range(1, 25))
    # image 0: alpha 0x10, 0x20 literal, then 6 pixels copied from 2 back (overlapping)
    first = _blob(0, rgb, bytes([1, 0x10, 0x20, 0x80 | 1, 0, 0]), 8)
    got = spice_glz.decode(first, window=window)
    assert bytes(got.pixels) == _expected(rgb, [0x10, 0x20] * 4)
    # image 1: alpha 0x33 literal, then 7 pixels repeating it (distance 1)
    rgb1 = bytes(range(100, 124))
    second = _blob(1, rgb1, bytes([0, 0x33, 0xA0, 0, 0]), 8)
    assert bytes(spice_glz.decode(second, window=window).pixels) == _expected(rgb1, [0x33] * 8)
    # image 2: all 8 alpha bytes copied from image 0 (image distance 2), into a strided buffer
    rgb2 = bytes(range(200, 224))
    third = _blob(2, rgb2, bytes([0xC0, 0, 2]), 8)
    out = bytearray(b"\xee" * 40)
    spice_glz.decode_into(third, out, 40, window=window)
    assert bytes(out[:32]) == _expected(rgb2, [0x10, 0x20] * 4)
    assert out[32:] == b"\xee" * 8
