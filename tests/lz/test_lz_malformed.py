"""Malformed blobs, buffers, palettes and formats raise spice_lz.DecodeError naming the problem."""

from __future__ import annotations

import random
import struct

import pytest
import spice_lz
import vectors
from spice_lz import DecodeError, ImageType

CASES = vectors.cases("lz")
SMALL = [c for c in CASES if c.name.startswith("lz/small_") and len(c.blob) <= 600]


def header(
    image_type: int = 8, width: int = 2, height: int = 2, stride: int | None = None, top_down: int = 1
) -> bytes:
    if stride is None:
        stride = ImageType(image_type).row_bytes(width) if 1 <= image_type <= 11 else width * 4
    return struct.pack(">7I", 0x20205A4C, 0x00010001, image_type, width, height, stride, top_down)


def by_name(name: str) -> vectors.Case:
    return next(c for c in CASES if c.name == name)


def test_small_set_covers_every_type() -> None:
    assert {c.image_type for c in SMALL} == {t.name for t in ImageType}


@pytest.mark.parametrize("case", SMALL, ids=[c.name.split("/", 1)[1] for c in SMALL])
def test_every_truncation_is_rejected(case: vectors.Case) -> None:
    blob = case.blob
    for cut in range(len(blob)):
        with pytest.raises(DecodeError) as info:
            spice_lz.decode(blob[:cut], palette=case.palette)
        if cut < 28:
            assert "header" in str(info.value)
        else:
            assert "truncated" in str(info.value)


@pytest.mark.parametrize("case", SMALL, ids=[c.name.split("/", 1)[1] for c in SMALL])
def test_trailing_bytes_are_rejected(case: vectors.Case) -> None:
    with pytest.raises(
        DecodeError, match=rf"1 trailing bytes after the image data at offset {len(case.blob)}"
    ):
        spice_lz.decode(case.blob + b"\0", palette=case.palette)


def test_bit_flips_never_crash() -> None:
    rng = random.Random(1234)
    outcomes = {"ok": 0, "error": 0}
    for case in SMALL:
        blob = case.blob
        for _ in range(40):
            mutated = bytearray(blob)
            pos = rng.randrange(28, len(mutated))
            mutated[pos] ^= 1 << rng.randrange(8)
            try:
                img = spice_lz.decode(bytes(mutated), palette=case.palette)
            except DecodeError:
                outcomes["error"] += 1
            else:
                assert len(img.pixels) == img.stride * img.height
                outcomes["ok"] += 1
    assert outcomes["error"] > 0 and outcomes["ok"] > 0


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "shorter than the 28-byte LZ header"),
        (b"LZ  " + header()[4:], "bad magic 0x4c5a2020"),
        (header()[:4] + struct.pack(">I", 0x00010002) + header()[8:], "unsupported version 0x00010002"),
        (header(image_type=0), "invalid image type 0 at offset 8"),
        (header(image_type=12), "invalid image type 12"),
        (header(width=0), "zero width at offset 12"),
        (header(height=0), "zero height at offset 16"),
        (header(stride=9), "header stride 9 at offset 20"),
        (header(image_type=2, width=9, stride=1), "header stride 1"),
        (header(image_type=2, width=9, stride=3), "header stride 3"),
        (header(top_down=2), "top_down flag 2 at offset 24"),
        (header(width=0x80000000, stride=0), "too large|exceeds the limit"),
        (header(image_type=11, width=70000, height=70000), "too large|exceeds the limit"),
    ],
)
def test_bad_headers(blob: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        spice_lz.decode(blob + b"\0" * 8)
    with pytest.raises(DecodeError, match=message):
        spice_lz.read_header(blob)


def test_absurd_sizes_rejected_before_allocating() -> None:
    blob = header(image_type=11, width=20000, height=20000) + b"\x1f"
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_lz.decode(blob)
    tight = spice_lz.Limits(max_width=100, max_height=100, max_pixels=50)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_lz.decode(by_name("lz/small_31x33_rgb32_bottomup").blob, limits=tight)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_lz.decode_into(by_name("lz/small_31x33_rgb32_bottomup").blob, bytearray(1), 1, limits=tight)


def test_reference_before_image_start() -> None:
    # A match (length field 1, distance 1) as the very first token.
    blob = header(width=2, height=1) + bytes([0x20, 0x00])
    with pytest.raises(DecodeError, match="match at offset 28 refers 1 pixels back"):
        spice_lz.decode(blob)
    # Far form: 16-bit distance 8191 + 0x0102 + 1 after one literal pixel.
    blob = header(width=4, height=1) + bytes([0, 1, 2, 3, 0x3F, 0xFF, 0x01, 0x02])
    with pytest.raises(DecodeError, match="match at offset 32 refers 8450 pixels back"):
        spice_lz.decode(blob)


def test_runs_past_the_image_end() -> None:
    literal = header(width=2, height=1) + bytes([2]) + bytes(9)
    with pytest.raises(DecodeError, match="token at offset 28 runs past the end of the image"):
        spice_lz.decode(literal)
    # One literal pixel then a match of 2 pixels in a 2-pixel image.
    match = header(width=2, height=1) + bytes([0, 1, 2, 3, 0x40, 0x00])
    with pytest.raises(DecodeError, match="token at offset 32 runs past"):
        spice_lz.decode(match)
    # Extended length whose 255-bytes never end.
    endless = header(width=2, height=1) + bytes([0, 1, 2, 3, 0xE0]) + b"\xff" * 1000
    with pytest.raises(DecodeError, match="truncated"):
        spice_lz.decode(endless)


def test_rgba_needs_its_alpha_stream() -> None:
    rgb_only = header(image_type=9, width=1, height=1) + bytes([0, 1, 2, 3])
    with pytest.raises(DecodeError, match="truncated: token at offset 32"):
        spice_lz.decode(rgb_only)
    whole = rgb_only + bytes([0, 0x80])
    assert spice_lz.decode(whole).pixels == bytes([1, 2, 3, 0x80])


def test_palette_problems() -> None:
    plt8 = by_name("lz/small_5x5_plt8")
    with pytest.raises(DecodeError, match="needs a palette"):
        spice_lz.decode(plt8.blob)
    with pytest.raises(DecodeError, match="palette is empty"):
        spice_lz.decode(plt8.blob, palette=[])
    with pytest.raises(DecodeError, match="not a whole number of 4-byte entries"):
        spice_lz.decode(plt8.blob, palette=b"\0" * 6)
    with pytest.raises(DecodeError, match="32-bit unsigned"):
        spice_lz.decode(plt8.blob, palette=[-1])
    used = max(spice_lz.decode(plt8.blob, palette=list(range(256))).pixels[::4])
    with pytest.raises(DecodeError, match=r"palette index \d+ is outside the palette"):
        spice_lz.decode(plt8.blob, palette=list(range(used)))
    plt1 = by_name("lz/small_31x33_plt1le")
    with pytest.raises(DecodeError, match="palette index 1 is outside the palette"):
        spice_lz.decode(plt1.blob, palette=[0x123456])


def test_palette_as_ints_equals_palette_as_bytes() -> None:
    case = by_name("lz/desktop_201x151_plt4le")
    assert case.palette is not None
    ents = list(struct.unpack(f"<{len(case.palette) // 4}I", case.palette))
    assert (
        spice_lz.decode(case.blob, palette=ents).pixels
        == spice_lz.decode(case.blob, palette=case.palette).pixels
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("lz/small_5x5_rgb32", "bgra32"),
        ("lz/small_5x5_rgb32", "a8"),
        ("lz/small_5x5_rgb32", "gray8"),
        ("lz/small_5x5_a8", "bgrx32"),
        ("lz/small_5x5_plt8", "x1r5g5b5"),
        ("lz/small_2x2_rgba", "bgrx32"),
    ],
)
def test_unavailable_format(name: str, fmt: str) -> None:
    case = by_name(name)
    with pytest.raises(DecodeError, match=f"cannot be decoded to {fmt!r}"):
        spice_lz.decode(case.blob, palette=case.palette, format=fmt)


def test_decode_into_buffer_checks() -> None:
    case = by_name("lz/small_7x3_rgb32_bottomup")
    row = 7 * 4
    with pytest.raises(DecodeError, match="84 bytes needed"):
        spice_lz.decode_into(case.blob, bytearray(83), row)
    with pytest.raises(DecodeError, match="88 bytes needed"):
        spice_lz.decode_into(case.blob, bytearray(87), row + 2)
    with pytest.raises(DecodeError, match=r"stride 27 is smaller than a bgrx32 row of 7 pixels \(28 bytes\)"):
        spice_lz.decode_into(case.blob, bytearray(1000), row - 1)
    with pytest.raises(DecodeError, match="needs a writable"):
        spice_lz.decode_into(case.blob, bytes(84), row)
    exact = bytearray(b"\xee" * (2 * (row + 2) + row))
    spice_lz.decode_into(case.blob, exact, row + 2)
    assert exact[row : row + 2] == b"\xee\xee"
    assert bytes(exact[-row:]) == case.expected[0].read()[-row:]


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)
    assert issubclass(spice_lz.EncodeError, ValueError)
