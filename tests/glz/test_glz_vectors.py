"""Every GLZ golden vector decodes byte-exact, in sequence order, in every expected format."""

from __future__ import annotations

import numpy as np
import pytest
import spice_glz
import vectors
from _glz_helpers import all_cases, sequences, subset_sequences

SEQUENCES = sequences()
SEQ_IDS = [s[0].raw["glz"]["sequence"] for s in SEQUENCES]


def test_all_cases_are_in_sequences() -> None:
    names = {c.name for s in SEQUENCES for c in s}
    try:
        listed = {c.name for c in vectors.cases("glz")}
    except FileNotFoundError:
        listed = names
    assert names == (listed or names)
    assert len(names) >= 21


@pytest.mark.parametrize("seq", SEQUENCES, ids=SEQ_IDS)
def test_sequence_decodes_byte_exact(seq: list[vectors.Case]) -> None:
    window = spice_glz.Window()
    for case in seq:
        img = spice_glz.decode(case.blob, window=window)
        first = case.expected[0]
        assert (img.width, img.height, img.format) == (case.width, case.height, first.format), case.name
        assert img.stride == first.stride
        assert img.image_id == case.glz["image_id"]
        assert img.image_type.name == case.image_type
        assert vectors.sha256(img.pixels) == first.sha256, case.name
        assert img.image_id in window.ids()


@pytest.mark.parametrize("seq", SEQUENCES, ids=SEQ_IDS)
def test_every_expected_format(seq: list[vectors.Case]) -> None:
    """Each expected format, decoded in its own pass over the sequence (the window is per pass)."""
    formats = {e.format for c in seq for e in c.expected}
    for fmt in sorted(formats):
        window = spice_glz.Window()
        for case in seq:
            wanted = [e for e in case.expected if e.format == fmt]
            img = spice_glz.decode(case.blob, window=window, format=None if not wanted else fmt)
            if wanted:
                assert img.pixels == wanted[0].read(), (case.name, fmt)


@pytest.mark.parametrize("seq", SEQUENCES, ids=SEQ_IDS)
def test_decode_into_padded_numpy(seq: list[vectors.Case]) -> None:
    window = spice_glz.Window()
    for case in seq:
        exp = case.expected[0]
        stride = exp.stride + 12
        arr = np.full((case.height, stride), 0xAB, dtype=np.uint8)
        hdr = spice_glz.decode_into(case.blob, arr, stride, window=window)
        assert (hdr.width, hdr.height, hdr.image_id) == (case.width, case.height, case.glz["image_id"])
        assert hdr.win_head_dist == case.glz["win_head_dist"]
        assert hdr.top_down == case.top_down
        assert arr[:, : exp.stride].tobytes() == exp.read(), case.name
        assert (arr[:, exp.stride :] == 0xAB).all(), "wrote outside the rows"


def test_read_header_matches_manifest() -> None:
    for case in all_cases():
        hdr = spice_glz.read_header(case.blob)
        assert hdr.image_type.name == case.image_type
        assert (hdr.width, hdr.height, hdr.stride) == (case.width, case.height, case.raw["encoded_stride"])
        assert hdr.top_down == case.top_down
        assert hdr.image_id == case.glz["image_id"]
        assert hdr.win_head_dist == case.glz["win_head_dist"]


@pytest.mark.parametrize("seq", subset_sequences(), ids=lambda s: s[0].raw["glz"]["sequence"])
def test_committed_subset(seq: list[vectors.Case]) -> None:
    """The subset under tests/vectors is intact and decodes, even when ../shared is used above."""
    window = spice_glz.Window()
    for case in seq:
        assert vectors.sha256(case.blob) == case.raw["encoded"]["sha256"]
        img = spice_glz.decode(case.blob, window=window)
        for exp in case.expected:
            assert vectors.sha256(exp.read()) == exp.sha256
        assert vectors.sha256(img.pixels) == case.expected[0].sha256


def test_other_formats_agree_with_the_expected_ones() -> None:
    """RGB16 native output widens to the expected bgrx32; RGBA as bgrx32 is bgra32 minus alpha."""
    seq = next(s for s in SEQUENCES if s[0].raw["glz"]["sequence"] == "mixed")
    default, other = spice_glz.Window(), spice_glz.Window()
    checked = set()
    for case in seq:
        first = spice_glz.decode(case.blob, window=default)
        if case.image_type == "RGB16":
            native = np.frombuffer(spice_glz.decode(case.blob, window=other, format="x1r5g5b5").pixels, "<u2")
            widened = np.zeros((native.size, 4), np.uint8)
            for i, shift in enumerate((0, 5, 10)):
                c = (native >> shift) & 31
                widened[:, i] = (c << 3) | (c >> 2)
            assert widened.tobytes() == bytes(first.pixels), case.name
            checked.add("RGB16")
        elif case.image_type == "RGBA":
            no_alpha = np.frombuffer(
                spice_glz.decode(case.blob, window=other, format="bgrx32").pixels, np.uint8
            ).reshape(-1, 4)
            expected = np.frombuffer(first.pixels, np.uint8).reshape(-1, 4).copy()
            expected[:, 3] = 0
            assert np.array_equal(no_alpha, expected), case.name
            checked.add("RGBA")
        else:
            spice_glz.decode(case.blob, window=other)
    assert checked == {"RGB16", "RGBA"}


def test_threads_share_a_window_safely() -> None:
    """Decodes from several threads on one window are serialized; every result is right."""
    from concurrent.futures import ThreadPoolExecutor

    seq = next(s for s in SEQUENCES if s[0].raw["glz"]["sequence"] == "scroll")
    window = spice_glz.Window()
    for case in seq:
        spice_glz.decode(case.blob, window=window)
    jobs = [seq[i % len(seq)] for i in range(40)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: (c, bytes(spice_glz.decode(c.blob, window=window).pixels)), jobs))
    for case, pixels in results:
        assert vectors.sha256(pixels) == case.expected[0].sha256
