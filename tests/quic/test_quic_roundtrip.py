"""Hypothesis round trips: encode then decode gives the picture back, for every image type and row order."""

from __future__ import annotations

import numpy as np
import spice_quic
from hypothesis import given, settings
from hypothesis import strategies as st
from spice_quic import ImageType

BYTES = {ImageType.GRAY: 1, ImageType.RGB16: 2, ImageType.RGB24: 3, ImageType.RGB32: 4, ImageType.RGBA: 4}


def _picture(rng: np.random.Generator, w: int, h: int, nbytes: int, style: str) -> np.ndarray:
    """Rows of w*nbytes bytes: noise, flat areas with runs, smooth ramps, or a mix."""
    if style == "noise":
        return rng.integers(0, 256, (h, w * nbytes), dtype=np.uint8)
    if style == "flat":
        colours = rng.integers(0, 256, (3, nbytes), dtype=np.uint8)
        pick = rng.integers(0, 3, (h, 1 + w // 7)).repeat(7, axis=1)[:, :w]
        if rng.integers(0, 2):
            pick[1:] = pick[:1]  # repeat the first row: long vertical runs
        return colours[pick].reshape(h, w * nbytes)
    if style == "ramp":
        y, x = np.mgrid[0:h, 0 : w * nbytes]
        return ((x * int(rng.integers(1, 5)) + y * int(rng.integers(0, 3))) & 0xFF).astype(np.uint8)
    pic = _picture(rng, w, h, nbytes, "flat")
    mask = rng.integers(0, 4, (h, w * nbytes)) == 0
    pic[mask] = rng.integers(0, 256, int(mask.sum()), dtype=np.uint8)
    return pic


def _expected(pic: np.ndarray, itype: ImageType, w: int, h: int, fmt: str) -> bytes:
    """What decode must return for a source picture (X -> 0, RGB24 widened, RGB16 bit 15 dropped)."""
    if itype in (ImageType.GRAY, ImageType.RGBA):
        return pic.tobytes()
    if itype is ImageType.RGB16:
        v = pic.reshape(h, w, 2).astype(np.uint16)
        v = (v[..., 0] | (v[..., 1] << 8)) & 0x7FFF
        if fmt == "x1r5g5b5":
            return v.astype("<u2").tobytes()
        ch = [(v >> s) & 0x1F for s in (0, 5, 10)]
        out = np.zeros((h, w, 4), np.uint8)
        for i, c in enumerate(ch):
            out[..., i] = (c << 3) | (c >> 2)
        return out.tobytes()
    px = pic.reshape(h, w, BYTES[itype])
    out = np.zeros((h, w, 4), np.uint8)
    out[..., :3] = px[..., :3]
    return out.tobytes()


@settings(max_examples=150, deadline=None)
@given(
    itype=st.sampled_from(list(ImageType)),
    w=st.integers(1, 300),
    h=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    style=st.sampled_from(["noise", "flat", "ramp", "mixed"]),
    bottom_up=st.booleans(),
    pad=st.sampled_from([0, 3, 64]),
)
def test_roundtrip(
    itype: ImageType, w: int, h: int, seed: int, style: str, bottom_up: bool, pad: int
) -> None:
    rng = np.random.default_rng(seed)
    nbytes = BYTES[itype]
    pic = _picture(rng, w, h, nbytes, style)
    row = w * nbytes
    # Lay the source out in memory with padding; bottom-up stores the top row last.
    mem = rng.integers(0, 256, (h, row + pad), dtype=np.uint8)
    mem[:, :row] = pic[::-1] if bottom_up else pic
    stride = -(row + pad) if bottom_up else row + pad
    blob = spice_quic.encode(mem.tobytes(), w, h, itype, stride=stride)
    assert spice_quic.read_header(blob) == spice_quic.Header(itype, w, h)
    for fmt in spice_quic.FORMATS[itype]:
        expected = _expected(pic, itype, w, h, fmt)
        img = spice_quic.decode(blob, format=fmt)
        assert img.pixels == expected
        out_row = len(expected) // h
        target = bytearray(out_row * h)
        spice_quic.decode_into(blob, target, -out_row if bottom_up else out_row, format=fmt)
        rows = [bytes(target[y * out_row : (y + 1) * out_row]) for y in range(h)]
        assert b"".join(rows[::-1] if bottom_up else rows) == expected


@settings(max_examples=40, deadline=None)
@given(itype=st.sampled_from(list(ImageType)), w=st.integers(2048, 5000), seed=st.integers(0, 2**32 - 1))
def test_roundtrip_wide_rows_cross_the_adaptation_steps(itype: ImageType, w: int, seed: int) -> None:
    # Update spacing changes every 2048 pixels: mid-row for wide images.
    rng = np.random.default_rng(seed)
    pic = _picture(rng, w, 4, BYTES[itype], "mixed")
    blob = spice_quic.encode(pic.tobytes(), w, 4, itype)
    fmt = spice_quic.FORMATS[itype][0]
    assert spice_quic.decode(blob).pixels == _expected(pic, itype, w, 4, fmt)
