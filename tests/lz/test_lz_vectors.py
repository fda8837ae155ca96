"""Every LZ golden vector decodes byte-exact, in every expected format, through decode and decode_into."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import spice_lz
import vectors

CASES = vectors.cases("lz")
EXPECTED = [(case, exp) for case in CASES for exp in case.expected]
SUBSET = Path(__file__).resolve().parents[1] / "vectors"


def _id(item: tuple[vectors.Case, vectors.Expected]) -> str:
    return f"{item[0].name.split('/', 1)[1]}-{item[1].format}"


def test_there_are_vectors() -> None:
    assert len(CASES) >= 100
    assert {c.image_type for c in CASES} == {t.name for t in spice_lz.ImageType}


@pytest.mark.parametrize("item", EXPECTED, ids=[_id(i) for i in EXPECTED])
def test_decode_matches_reference(item: tuple[vectors.Case, vectors.Expected]) -> None:
    case, exp = item
    img = spice_lz.decode(case.blob, palette=case.palette, format=exp.format)
    assert (img.width, img.height, img.format, img.stride) == (
        case.width,
        case.height,
        exp.format,
        exp.stride,
    )
    assert len(img.pixels) == exp.stride * case.height
    assert hashlib.sha256(img.pixels).hexdigest() == exp.sha256


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_default_format_is_first_expected(case: vectors.Case) -> None:
    img = spice_lz.decode(case.blob, palette=case.palette)
    assert img.format == case.expected[0].format
    assert hashlib.sha256(img.pixels).hexdigest() == case.expected[0].sha256


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_header_matches_manifest(case: vectors.Case) -> None:
    hdr = spice_lz.read_header(case.blob)
    assert hdr.image_type.name == case.image_type
    assert (hdr.width, hdr.height, hdr.top_down) == (case.width, case.height, case.top_down)
    assert hdr.stride == case.raw["encoded_stride"]


SMALL = [(case, exp) for case, exp in EXPECTED if case.width * case.height <= 300_000]


@pytest.mark.parametrize("item", SMALL, ids=[_id(i) for i in SMALL])
def test_decode_into_padded_rows_leaves_padding(item: tuple[vectors.Case, vectors.Expected]) -> None:
    case, exp = item
    stride = exp.stride + 12
    buf = bytearray(b"\xa5" * (stride * case.height))
    hdr = spice_lz.decode_into(case.blob, buf, stride, format=exp.format, palette=case.palette)
    assert (hdr.width, hdr.height) == (case.width, case.height)
    want = exp.read()
    for row in range(case.height):
        line = buf[row * stride : (row + 1) * stride]
        assert line[: exp.stride] == want[row * exp.stride : (row + 1) * exp.stride]
        assert line[exp.stride :] == b"\xa5" * 12


@pytest.mark.parametrize("case", CASES, ids=[c.name.split("/", 1)[1] for c in CASES])
def test_decode_into_tight_memoryview(case: vectors.Case) -> None:
    exp = case.expected[0]
    buf = bytearray(exp.stride * case.height)
    spice_lz.decode_into(case.blob, memoryview(buf), exp.stride, palette=case.palette)
    assert hashlib.sha256(buf).hexdigest() == exp.sha256


def test_subset_files_match_their_manifest() -> None:
    manifest = json.loads((SUBSET / "manifest-lz.json").read_text())
    total = 0
    paths = set()
    for case in manifest["cases"]:
        entries = [case["encoded"], *case["expected"]] + ([case["palette"]] if case.get("palette") else [])
        for entry in entries:
            data = (SUBSET / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]
            paths.add(entry["path"])
    total = sum((SUBSET / p).stat().st_size for p in paths)
    assert total <= 2_500_000
    on_disk = {f"lz/{p.name}" for p in (SUBSET / "lz").iterdir()}
    assert on_disk == paths
