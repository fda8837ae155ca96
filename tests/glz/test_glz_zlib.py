"""ZLIB_GLZ_RGB: u32 glz_data_size, u32 data_size (little-endian), zlib data inflating to a GLZ blob."""

from __future__ import annotations

import struct
import zlib

import pytest
import spice_glz
import vectors
from _glz_helpers import sequence
from spice_glz import DecodeError


def wrap(glz: bytes, *, glz_size: int | None = None, extra: bytes = b"") -> bytes:
    data = zlib.compress(glz) + extra
    return struct.pack("<II", len(glz) if glz_size is None else glz_size, len(data)) + data


def test_sequence_through_zlib() -> None:
    window = spice_glz.Window()
    for case in sequence("mixed"):
        img = spice_glz.decode_zlib(wrap(case.blob), window=window)
        assert vectors.sha256(img.pixels) == case.expected[0].sha256, case.name
    assert len(window) == 9


def test_zlib_into_buffer() -> None:
    case = sequence("scroll")[0]
    buf = bytearray(case.width * case.height * 4)
    hdr = spice_glz.decode_zlib_into(wrap(case.blob), buf, case.width * 4, window=spice_glz.Window())
    assert hdr.image_id == 0
    assert vectors.sha256(buf) == case.expected[0].sha256


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:7], "shorter than its 8-byte header"),
        (lambda b: b[:-1], r"data_size \d+ but \d+ bytes follow"),
        (lambda b: b + b"x", r"data_size \d+ but \d+ bytes follow"),
        (lambda b: b[:8] + bytes(len(b) - 8), "corrupt zlib data"),
    ],
    ids=["short-header", "short-data", "long-data", "not-zlib"],
)
def test_malformed_wrappers(mutate: object, message: str) -> None:
    case = sequence("scroll")[0]
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match=message):
        spice_glz.decode_zlib(mutate(wrap(case.blob)), window=window)  # type: ignore[operator]
    assert len(window) == 0


def test_size_mismatches_and_cap() -> None:
    blob = sequence("scroll")[0].blob
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match=r"inflates to \d+ bytes"):
        spice_glz.decode_zlib(wrap(blob, glz_size=len(blob) + 1), window=window)
    with pytest.raises(DecodeError, match="inflates to more bytes"):
        spice_glz.decode_zlib(wrap(blob, glz_size=len(blob) - 1), window=window)
    with pytest.raises(DecodeError, match="inflates to more bytes or has data after"):
        spice_glz.decode_zlib(wrap(blob, extra=b"junk"), window=window)
    # the inflated blob may hold 8 bytes per pixel of Limits.max_pixels, plus 256
    with pytest.raises(DecodeError, match="exceeds the limit of 1000 bytes"):
        spice_glz.decode_zlib(wrap(blob), window=window, limits=spice_glz.Limits(max_pixels=93))
    bomb = wrap(bytes(50_000_000), glz_size=50_000_000)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_glz.decode_zlib(bomb, window=window, limits=spice_glz.Limits(max_pixels=1 << 17))
    # a wrong inner blob is the GLZ decoder's error
    with pytest.raises(DecodeError, match="bad magic"):
        spice_glz.decode_zlib(wrap(b"x" * 40), window=window)
    assert len(window) == 0


def test_parsed_form_with_glz_data_size() -> None:
    case = sequence("scroll")[0]
    data = zlib.compress(case.blob)
    img = spice_glz.decode_zlib(data, window=spice_glz.Window(), glz_data_size=len(case.blob))
    assert vectors.sha256(img.pixels) == case.expected[0].sha256
    with pytest.raises(DecodeError, match="inflates to"):
        spice_glz.decode_zlib(data, window=spice_glz.Window(), glz_data_size=len(case.blob) + 5)
    with pytest.raises(DecodeError, match="exceeds the limit"):
        spice_glz.decode_zlib(data, window=spice_glz.Window(), glz_data_size=-1)
