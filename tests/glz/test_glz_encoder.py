"""The encoder: reference-identical output on the vectors, round trips of random image sequences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import spice_glz
import vectors
from _glz_helpers import sequences, window_pixels
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spice_glz import EncodeError, ImageType

SEQUENCES = sequences()


def _input_pixels(case: vectors.Case, window: spice_glz.Window) -> bytes:
    """The encoder input for a case: its expected picture in the type's input layout."""
    if case.image_type == "RGB16":
        # native x1r5g5b5 as the reference decoder produced it (bit 15 included)
        return bytes(spice_glz.decode(case.blob, window=window, format="x1r5g5b5").pixels)
    spice_glz.decode(case.blob, window=window)
    px = case.expected[0].read()
    if case.image_type == "RGB24":
        arr = np.frombuffer(px, np.uint8).reshape(-1, 4)[:, :3]
        return arr.tobytes()
    return px


@pytest.mark.parametrize("seq", SEQUENCES, ids=[s[0].raw["glz"]["sequence"] for s in SEQUENCES])
def test_vectors_reencode_identically(seq: list[vectors.Case]) -> None:
    enc = spice_glz.Encoder(window_pixels(seq[0].raw["glz"]["sequence"]))
    source = spice_glz.Window()
    window = spice_glz.Window()
    for case in seq:
        pixels = _input_pixels(case, source)
        blob = enc.encode(pixels, case.width, case.height, ImageType[case.image_type], top_down=case.top_down)
        ref = case.blob
        assert abs(len(blob) - len(ref)) <= len(ref) // 10, (case.name, len(blob), len(ref))
        assert blob == ref, case.name
        img = spice_glz.decode(blob, window=window)
        assert vectors.sha256(img.pixels) == case.expected[0].sha256


# ---------------------------------------------------------------- random sequences

TYPES = [ImageType.RGB16, ImageType.RGB24, ImageType.RGB32, ImageType.RGBA]
BPP = {ImageType.RGB16: 2, ImageType.RGB24: 3, ImageType.RGB32: 4, ImageType.RGBA: 4}


def _make_pixels(
    rng: np.random.Generator, itype: ImageType, w: int, h: int, style: str, prev: bytes | None
) -> bytes:
    bpp = BPP[itype]
    n = w * h
    if style == "noise":
        return rng.integers(0, 256, n * bpp, dtype=np.uint8).tobytes()
    if style == "copy" and prev:
        base = np.frombuffer(prev, np.uint8).reshape(-1, bpp)
        idx = (np.arange(n) + int(rng.integers(0, len(base)))) % len(base)
        out = base[idx].copy()
        hits = rng.random(n) < 0.05
        out[hits] = rng.integers(0, 256, (int(hits.sum()), bpp), dtype=np.uint8)
        return out.tobytes()
    colors = rng.integers(0, 256, (int(rng.integers(1, 5)), bpp), dtype=np.uint8)
    if style == "runs":
        lengths = rng.integers(1, 40, n)
        idx = np.repeat(rng.integers(0, len(colors), n), lengths)[:n]
    else:
        idx = rng.integers(0, len(colors), n)
    return colors[idx].tobytes()


def _expected(itype: ImageType, pixels: bytes, fmt: str) -> np.ndarray[Any, Any]:
    a = np.frombuffer(pixels, np.uint8)
    if itype == ImageType.RGB16:
        v = a.view("<u2") & 0x7FFF
        if fmt == "x1r5g5b5":
            return v
        r, g, b = (v >> 10) & 31, (v >> 5) & 31, v & 31
        out = np.zeros((len(v), 4), np.uint8)
        for i, c in enumerate((b, g, r)):
            out[:, i] = (c << 3) | (c >> 2)
        return out.reshape(-1)
    if itype == ImageType.RGB24:
        out = np.zeros((len(a) // 3, 4), np.uint8)
        out[:, :3] = a.reshape(-1, 3)
        return out.reshape(-1)
    if itype == ImageType.RGB32:
        out = a.reshape(-1, 4).copy()
        out[:, 3] = 0
        return out.reshape(-1)
    return a


def _got(itype: ImageType, img: spice_glz.Image) -> np.ndarray[Any, Any]:
    a = np.frombuffer(img.pixels, np.uint8)
    if itype == ImageType.RGB16 and img.format == "x1r5g5b5":
        return a.view("<u2") & 0x7FFF
    return a


frame = st.tuples(
    st.sampled_from(TYPES),
    st.integers(1, 300),
    st.integers(1, 300),
    st.booleans(),
    st.sampled_from(["noise", "palette", "runs", "copy", "copy"]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(frame, min_size=1, max_size=5), slack=st.integers(0, 100_000), rgb16_native=st.booleans()
)
def test_random_sequences_round_trip(
    frames: list[tuple[ImageType, int, int, bool, str, int, int]], slack: int, rgb16_native: bool
) -> None:
    biggest = max(w * h for _, w, h, *_ in frames)
    window_size = biggest + slack
    enc = spice_glz.Encoder(window_size)
    window = spice_glz.Window(window_size)
    last: dict[ImageType, bytes] = {}
    for i, (itype, w, h, top_down, style, seed, pad) in enumerate(frames):
        rng = np.random.default_rng(seed)
        pixels = _make_pixels(rng, itype, w, h, style, last.get(itype))
        last[itype] = pixels
        stride = w * BPP[itype] + pad
        padded = bytearray(stride * h)
        for y in range(h):
            row = w * BPP[itype]
            padded[y * stride : y * stride + row] = pixels[y * row : (y + 1) * row]
        blob = enc.encode(padded, w, h, itype, stride=stride, top_down=top_down)
        hdr = spice_glz.read_header(blob)
        assert (hdr.image_id, hdr.top_down, hdr.image_type) == (i, top_down, itype)
        fmt = "x1r5g5b5" if itype == ImageType.RGB16 and rgb16_native else None
        img = spice_glz.decode(blob, window=window, format=fmt)
        assert np.array_equal(_got(itype, img), _expected(itype, pixels, img.format))
        assert window.pixels <= window_size


def test_cross_image_references_shrink_repeats() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, 200 * 150 * 4, dtype=np.uint8).tobytes()
    enc = spice_glz.Encoder(1 << 20)
    first = enc.encode(pixels, 200, 150, ImageType.RGB32)
    second = enc.encode(pixels, 200, 150, ImageType.RGB32, top_down=True)
    assert len(second) < len(first) // 50
    window = spice_glz.Window(1 << 20)
    spice_glz.decode(first, window=window)
    assert (
        spice_glz.decode(second, window=window).pixels
        == _expected(ImageType.RGB32, pixels, "bgrx32").tobytes()
    )


def test_eviction_and_win_head_dist() -> None:
    enc = spice_glz.Encoder(3 * 100)
    dists = []
    for _ in range(6):
        blob = enc.encode(bytes(100 * 4), 10, 10, ImageType.RGB32)
        dists.append(spice_glz.read_header(blob).win_head_dist)
    assert dists == [0, 1, 2, 2, 2, 2]
    assert enc.next_image_id == 6
    enc.reset()
    assert enc.next_image_id == 0
    assert spice_glz.read_header(enc.encode(bytes(4), 1, 1, ImageType.RGB32)).win_head_dist == 0


def test_numpy_input_and_tiny_images() -> None:
    enc = spice_glz.Encoder(1 << 16)
    window = spice_glz.Window(1 << 16)
    for w, h in [(1, 1), (2, 1), (1, 3), (2, 2), (3, 2), (7, 1), (1, 9)]:
        arr = np.arange(w * h * 4, dtype=np.uint8).reshape(h, w * 4)
        img = spice_glz.decode(enc.encode(arr, w, h, "rgba"), window=window)
        assert img.pixels == arr.tobytes()


def test_encoder_errors() -> None:
    enc = spice_glz.Encoder(1000)
    with pytest.raises(EncodeError, match="does not fit the 1000-pixel window"):
        enc.encode(bytes(4 * 1001), 1001, 1, ImageType.RGB32)
    with pytest.raises(EncodeError, match="cannot encode image type 5; GLZ carries RGB16"):
        enc.encode(bytes(10), 10, 1, 5)  # PLT8: an LZ type, but not one GLZ carries
    with pytest.raises(EncodeError, match="cannot encode image type 42"):
        enc.encode(bytes(10), 10, 1, 42)
    with pytest.raises(EncodeError, match="cannot encode image type 'RGB48'"):
        enc.encode(bytes(10), 10, 1, "RGB48")
    with pytest.raises(EncodeError, match="bad image size 0x1"):
        enc.encode(b"", 0, 1, ImageType.RGB32)
    with pytest.raises(EncodeError, match="needs 40"):
        enc.encode(bytes(39), 10, 1, ImageType.RGB32)
    with pytest.raises(EncodeError, match="stride 20 is smaller than a row"):
        enc.encode(bytes(80), 10, 2, ImageType.RGB24, stride=20)
    with pytest.raises(ValueError, match="window_pixels"):
        spice_glz.Encoder(0)
    with pytest.raises(ValueError, match="window_pixels"):
        spice_glz.Encoder(spice_glz.MAX_WINDOW_PIXELS + 1)
    assert enc.next_image_id == 0, "failed calls must not use up ids"
