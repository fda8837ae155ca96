"""Every QUIC golden vector decodes byte-exact in each expected format and encodes back to its blob."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import spice_quic
import vectors
from _quic_helpers import TYPES, source_pixels

CASES = vectors.cases("quic")
EXPECTED = [(case, exp) for case in CASES for exp in case.expected]


def _id(item: tuple[vectors.Case, vectors.Expected]) -> str:
    return f"{item[0].name.split('/', 1)[1]}-{item[1].format}"


def test_there_are_vectors() -> None:
    assert len(CASES) >= 50
    assert {c.image_type for c in CASES} == set(TYPES)


@pytest.mark.parametrize("item", EXPECTED, ids=[_id(i) for i in EXPECTED])
def test_decode_matches_reference(item: tuple[vectors.Case, vectors.Expected]) -> None:
    case, exp = item
    img = spice_quic.decode(case.blob, format=exp.format)
    assert (img.width, img.height, img.format, img.stride) == (
        case.width,
        case.height,
        exp.format,
        exp.stride,
    )
    assert len(img.pixels) == exp.stride * case.height
    assert hashlib.sha256(img.pixels).hexdigest() == exp.sha256


@pytest.mark.parametrize("item", EXPECTED, ids=[_id(i) for i in EXPECTED])
def test_decode_into_padded_numpy_rows(item: tuple[vectors.Case, vectors.Expected]) -> None:
    case, exp = item
    pad = 12
    target = np.full((case.height, exp.stride + pad), 0xA5, dtype=np.uint8)
    info = spice_quic.decode_into(case.blob, target, exp.stride + pad, format=exp.format)
    assert (info.width, info.height, info.image_type.name) == (case.width, case.height, case.image_type)
    assert hashlib.sha256(target[:, : exp.stride].tobytes()).hexdigest() == exp.sha256
    assert (target[:, exp.stride :] == 0xA5).all()


@pytest.mark.parametrize("item", EXPECTED, ids=[_id(i) for i in EXPECTED])
def test_decode_into_bottom_up(item: tuple[vectors.Case, vectors.Expected]) -> None:
    case, exp = item
    target = bytearray(exp.stride * case.height)
    spice_quic.decode_into(case.blob, target, -exp.stride, format=exp.format)
    rows = [target[y * exp.stride : (y + 1) * exp.stride] for y in range(case.height)]
    assert hashlib.sha256(b"".join(reversed(rows))).hexdigest() == exp.sha256


def test_default_format_is_the_first_expected() -> None:
    for case in CASES:
        assert spice_quic.decode(case.blob).format == case.expected[0].format


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_encode_reproduces_reference_blob(case: vectors.Case) -> None:
    pixels, itype = source_pixels(case)
    blob = spice_quic.encode(pixels, case.width, case.height, itype)
    # Same model, same decisions: the reference encoder's output, bit for bit.
    assert len(blob) <= 1.10 * len(case.blob)
    assert blob == case.blob
    for exp in case.expected:
        assert spice_quic.decode(blob, format=exp.format).pixels == exp.read()


@pytest.mark.parametrize("case", CASES[:12], ids=[c.name.split("/", 1)[1] for c in CASES[:12]])
def test_encode_bottom_up_source_gives_same_blob(case: vectors.Case) -> None:
    pixels, itype = source_pixels(case)
    row = len(pixels) // case.height
    flipped = b"".join(pixels[y * row : (y + 1) * row] for y in reversed(range(case.height)))
    assert spice_quic.encode(flipped, case.width, case.height, itype, stride=-row) == case.blob
