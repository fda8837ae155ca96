"""Malformed QUIC input: every bad blob, format or buffer raises DecodeError (never a crash or hang)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import spice_quic
import vectors
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_quic import DecodeError

CASES = vectors.cases("quic")
SMALL = [c for c in CASES if len(c.blob) <= 2100]
BY_NAME = {c.name: c for c in CASES}


def _header(magic: int = 0x43495551, version: int = 0, itype: int = 4, w: int = 2, h: int = 2) -> bytes:
    return struct.pack("<5I", magic, version, itype, w, h)


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)
    assert issubclass(spice_quic.EncodeError, ValueError)


@pytest.mark.parametrize("case", SMALL, ids=[c.name.split("/", 1)[1] for c in SMALL])
def test_every_truncation_raises(case: vectors.Case) -> None:
    blob = case.blob
    for n in range(len(blob)):
        with pytest.raises(DecodeError):
            spice_quic.decode(blob[:n])


def test_truncation_messages_name_the_problem() -> None:
    blob = BY_NAME["quic/small_100x37_rgb32"].blob
    with pytest.raises(DecodeError, match="shorter than the 20-byte header"):
        spice_quic.decode(blob[:19])
    with pytest.raises(DecodeError, match="not a multiple of 4"):
        spice_quic.decode(blob[:-2])
    with pytest.raises(DecodeError, match="truncated"):
        spice_quic.decode(blob[:-4])
    with pytest.raises(DecodeError, match=r"truncated at row \d+"):
        spice_quic.decode(blob[: len(blob) // 2 & ~3])


def test_trailing_bytes_after_the_stream_are_ignored() -> None:
    case = BY_NAME["quic/small_31x33_rgba"]
    assert spice_quic.decode(case.blob + bytes(64)).pixels == case.expected[0].read()


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (_header(magic=0x12345678), "bad QUIC magic"),
        (_header(version=1), "unsupported QUIC version"),
        (_header(itype=0), "unknown QUIC image type 0"),
        (_header(itype=6), "unknown QUIC image type 6"),
        (_header(w=0), "invalid QUIC image size 0x2"),
        (_header(h=0), "invalid QUIC image size 2x0"),
        (_header(w=0x80000000), "invalid QUIC image size"),
        (_header(w=0xFFFFFFFF, h=0xFFFFFFFF), "invalid QUIC image size"),
    ],
)
def test_bad_headers(header: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        spice_quic.decode(header + bytes(8))
    with pytest.raises(DecodeError, match=message):
        spice_quic.read_header(header)


def test_absurd_dimensions_are_rejected_before_allocating() -> None:
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_quic.decode(_header(w=0x7FFFFFFF, h=0x7FFFFFFF) + bytes(8))
    with pytest.raises(DecodeError, match="exceeds the limit of 67108864 pixels"):
        spice_quic.decode(_header(w=16384, h=16384) + bytes(8))


def test_limits_are_configurable() -> None:
    case = BY_NAME["quic/small_31x33_rgb32"]
    with pytest.raises(DecodeError, match="limit of 1000 pixels"):
        spice_quic.decode(case.blob, limits=spice_quic.Limits(max_pixels=1000))
    with pytest.raises(DecodeError, match="limit of 30x"):
        spice_quic.decode(case.blob, limits=spice_quic.Limits(max_width=30))
    with pytest.raises(DecodeError, match="limit of"):
        spice_quic.decode_into(
            case.blob, bytearray(31 * 33 * 4), 31 * 4, limits=spice_quic.Limits(max_height=32)
        )
    assert spice_quic.decode(case.blob, limits=spice_quic.Limits(max_pixels=31 * 33)).width == 31


def test_wrong_format_for_the_image_type() -> None:
    gray = BY_NAME["quic/small_5x5_gray"].blob
    with pytest.raises(DecodeError, match="QUIC GRAY cannot be decoded to 'bgrx32'; use one of gray8"):
        spice_quic.decode(gray, format="bgrx32")
    with pytest.raises(DecodeError, match="use one of bgra32"):
        spice_quic.decode(BY_NAME["quic/small_5x5_rgba"].blob, format="x1r5g5b5")
    with pytest.raises(DecodeError, match="'rgb565'"):
        spice_quic.decode(BY_NAME["quic/small_5x5_rgb16"].blob, format="rgb565")


def test_decode_into_buffer_checks() -> None:
    blob = BY_NAME["quic/small_7x3_rgb32"].blob
    with pytest.raises(DecodeError, match="too small"):
        spice_quic.decode_into(blob, bytearray(7 * 3 * 4 - 1), 28)
    with pytest.raises(DecodeError, match="too small"):
        spice_quic.decode_into(blob, bytearray(7 * 3 * 4), 29)
    with pytest.raises(DecodeError, match="stride 27 is smaller"):
        spice_quic.decode_into(blob, bytearray(1000), 27)
    with pytest.raises(DecodeError, match="stride -27 is smaller"):
        spice_quic.decode_into(blob, bytearray(1000), -27)
    with pytest.raises(DecodeError, match="writable contiguous buffer"):
        spice_quic.decode_into(blob, bytes(1000), 28)
    with pytest.raises(DecodeError, match="not C-contiguous"):
        spice_quic.decode_into(blob, np.zeros((3, 14, 4), np.uint8)[:, ::2], 28)
    # the exact minimum (last row without padding) is enough
    out = bytearray(32 * 2 + 28)
    spice_quic.decode_into(blob, out, 32)
    assert bytes(out[64:92]) == BY_NAME["quic/small_7x3_rgb32"].expected[0].read()[56:84]


def test_garbage_after_a_valid_header_never_crashes() -> None:
    rng = __import__("random").Random(1234)
    for itype in range(1, 6):
        for w, h in [(1, 1), (3, 5), (40, 9), (257, 3)]:
            for _ in range(20):
                data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200) * 4))
                try:
                    img = spice_quic.decode(_header(itype=itype, w=w, h=h) + data)
                except DecodeError:
                    continue
                assert len(img.pixels) == img.stride * h


def test_all_ones_tail_reports_a_corrupt_run() -> None:
    # A flat 64x4 picture codes its later rows almost entirely as runs; an
    # all-ones run code would run past the row's end.
    blob = spice_quic.encode(bytes(64 * 4 * 4), 64, 4, "RGB32")
    messages = set()
    for keep in range(5, len(blob) // 4):
        broken = blob[: keep * 4] + b"\xff" * (len(blob) - keep * 4)
        try:
            spice_quic.decode(broken)
        except DecodeError as exc:
            messages.add(str(exc).split(":")[0])
    assert "corrupt QUIC stream at row 1" in messages


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, len(CASES) - 1),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=4),
)
def test_bit_flips_give_an_image_or_decode_error(index: int, flips: list[tuple[float, int]]) -> None:
    case = CASES[index]
    if case.width * case.height > 300_000:
        return
    blob = bytearray(case.blob)
    for where, bit in flips:  # coded data only: header fields have their own tests
        blob[20 + int(where * (len(blob) - 20))] ^= 1 << bit
    try:
        img = spice_quic.decode(blob)
    except DecodeError:
        return
    assert (img.width, img.height) == (case.width, case.height)
    assert len(img.pixels) == img.stride * img.height
