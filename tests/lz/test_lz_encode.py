"""The encoder reproduces the reference encoder's blobs and round-trips through the decoder."""

from __future__ import annotations

import struct

import pytest
import spice_lz
import vectors
from spice_lz import EncodeError, ImageType

CASES = vectors.cases("lz")


def native_input(case: vectors.Case) -> bytes:
    """The encoder input that reproduces a vector: its decoded pixels in the type's native layout.

    Palette types are decoded with an identity palette and a header widened to
    the whole stride, which recovers the indices including the padding bits.
    """
    kind = ImageType[case.image_type]
    if kind in (ImageType.RGB32, ImageType.RGBA, ImageType.A8):
        return case.expected[0].read()
    if kind == ImageType.RGB24:
        px = case.expected[0].read()
        return b"".join(px[i : i + 3] for i in range(0, len(px), 4))
    if kind == ImageType.RGB16:
        return bytes(spice_lz.decode(case.blob, format="x1r5g5b5").pixels)
    if kind == ImageType.XXXA:
        return bytes(b for a in case.expected[0].read() for b in (0, 0, 0, a))
    per_byte = {1: 8, 2: 8, 3: 2, 4: 2, 5: 1}[kind]
    stride = kind.row_bytes(case.width)
    wide = bytearray(case.blob)
    wide[12:16] = struct.pack(">I", stride * per_byte)
    idx = spice_lz.decode(bytes(wide), palette=list(range(256))).pixels[::4]
    bits = 8 // per_byte
    lsb_first = kind in (ImageType.PLT1_LE, ImageType.PLT4_LE)
    out = bytearray(stride * case.height)
    for i, value in enumerate(idx):
        k = i % per_byte
        out[i // per_byte] |= value << (k * bits if lsb_first else 8 - bits - k * bits)
    return bytes(out)


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_encode_is_byte_identical_to_reference(case: vectors.Case) -> None:
    kind = ImageType[case.image_type]
    blob = spice_lz.encode(native_input(case), case.width, case.height, kind, top_down=case.top_down)
    assert blob == case.blob
    img = spice_lz.decode(blob, palette=case.palette)
    assert img.pixels == case.expected[0].read()


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_encode_from_padded_rows(case: vectors.Case) -> None:
    kind = ImageType[case.image_type]
    native = native_input(case)
    row = kind.row_bytes(case.width)
    stride = row + 5
    padded = b"".join(native[r * row : (r + 1) * row] + b"\x99" * 5 for r in range(case.height))
    blob = spice_lz.encode(memoryview(padded), case.width, case.height, kind, stride, top_down=case.top_down)
    assert blob == case.blob


def test_bottom_up_flag_and_row_order() -> None:
    px = bytes([0, 1, 0, 1, 0, 1, 9, 9, 9, 9, 8, 8])  # 4x3 A8 with distinct rows
    top = spice_lz.encode(px, 4, 3, ImageType.A8)
    bottom = spice_lz.encode(px, 4, 3, ImageType.A8, top_down=False)
    assert spice_lz.read_header(top).top_down and not spice_lz.read_header(bottom).top_down
    assert top != bottom
    assert spice_lz.decode(top).pixels == px == spice_lz.decode(bottom).pixels


def test_encode_errors() -> None:
    with pytest.raises(EncodeError, match="unknown LZ image type 12"):
        spice_lz.encode(b"\0" * 16, 2, 2, 12)
    with pytest.raises(EncodeError, match=r"both must be in 1 \.\. 2"):
        spice_lz.encode(b"", 0, 2, ImageType.A8)
    with pytest.raises(EncodeError, match="needs 16"):
        spice_lz.encode(b"\0" * 15, 2, 2, ImageType.RGB32)
    with pytest.raises(EncodeError, match="needs 11"):
        spice_lz.encode(b"\0" * 10, 3, 3, ImageType.PLT8, stride=4)
    with pytest.raises(EncodeError, match="stride 5 is smaller than a row of 6 bytes"):
        spice_lz.encode(b"\0" * 100, 2, 2, ImageType.RGB24, stride=5)
    with pytest.raises(EncodeError, match="too large"):
        spice_lz.encode(b"", 40000, 40000, ImageType.RGBA)
