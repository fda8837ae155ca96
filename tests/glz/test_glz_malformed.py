"""Malformed GLZ input: every failure is a DecodeError naming what is wrong, the window unharmed."""

from __future__ import annotations

import random
import struct

import pytest
import spice_glz
import vectors
from _glz_helpers import sequence
from spice_glz import DecodeError


def _prefix_window(name: str, upto: int) -> tuple[spice_glz.Window, vectors.Case]:
    """A window holding the first ``upto`` images of a sequence, and the next case."""
    seq = sequence(name)
    window = spice_glz.Window()
    for case in seq[:upto]:
        spice_glz.decode(case.blob, window=window)
    return window, seq[upto]


def _patch(blob: bytes, offset: int, data: bytes) -> bytes:
    return blob[:offset] + data + blob[offset + len(data) :]


@pytest.mark.parametrize(
    ("name", "index"),
    [("mixed", 4), ("mixed", 8), ("evict", 3), ("mixed", 2)],
    ids=["rgba-bottom-up", "rgb16", "evicting", "rgb32-bottom-up"],
)
def test_every_truncation_raises(name: str, index: int) -> None:
    window, case = _prefix_window(name, index)
    blob = case.blob
    before = window.ids()
    for n in range(len(blob)):
        with pytest.raises(DecodeError):
            spice_glz.decode(blob[:n], window=window)
    assert window.ids() == before, "a failed decode changed the window"
    img = spice_glz.decode(blob, window=window)
    assert vectors.sha256(img.pixels) == case.expected[0].sha256


def test_truncation_messages_name_the_place() -> None:
    window, case = _prefix_window("scroll", 1)
    with pytest.raises(DecodeError, match=r"ends early \(image 1, byte \d+, pixel \d+\)"):
        spice_glz.decode(case.blob[:-1], window=window)
    with pytest.raises(DecodeError, match="shorter than its 33-byte header"):
        spice_glz.decode(case.blob[:20], window=window)


def test_trailing_bytes_rejected() -> None:
    window, case = _prefix_window("scroll", 0)
    with pytest.raises(DecodeError, match="3 bytes left after the image is complete"):
        spice_glz.decode(case.blob + b"abc", window=window)
    assert len(window) == 0


@pytest.mark.parametrize(("name", "index"), [("mixed", 4), ("evict", 5), ("mixed", 8), ("scroll", 2)])
def test_bit_flips_never_crash(name: str, index: int) -> None:
    seq = sequence(name)
    rng = random.Random(f"{name}{index}")
    blob = seq[index].blob
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        window = spice_glz.Window()
        for case in seq[:index]:
            spice_glz.decode(case.blob, window=window)
        data = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(33, len(data))
            data[pos] ^= 1 << rng.randrange(8)
        try:
            img = spice_glz.decode(bytes(data), window=window)
        except DecodeError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            assert len(img.pixels) == img.stride * img.height
    assert outcomes["error"] > 0


def test_random_garbage_after_a_valid_header() -> None:
    case = sequence("mixed")[0]
    rng = random.Random(7)
    for size in (0, 1, 2, 5, 64, 1000):
        for _ in range(20):
            body = bytes(rng.randrange(256) for _ in range(size))
            try:
                spice_glz.decode(case.blob[:33] + body, window=spice_glz.Window())
            except DecodeError:
                pass


HEADER_CASES = [
    (0, b"\x20\x20\x5a\x4d", "bad magic"),
    (4, b"\x00\x01\x00\x02", "unsupported version"),
    (8, b"\x00", "invalid type 0"),
    (8, b"\x0c", "invalid type 12"),
    (8, b"\x05", "PLT8 is not supported"),
    (8, b"\x0b", "A8 is not supported"),
    (8, b"\x28", "unknown flag bits"),
    (9, b"\x00\x00\x00\x00", "empty image 0x"),
    (13, b"\x00\x00\x00\x00", r"empty image \d+x0"),
    (17, b"\x00\x00\x02\x00", "stride 512 does not match width"),
]


@pytest.mark.parametrize(("offset", "data", "message"), HEADER_CASES)
def test_bad_headers(offset: int, data: bytes, message: str) -> None:
    case = sequence("mixed")[0]
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match=message):
        spice_glz.decode(_patch(case.blob, offset, data), window=window)
    with pytest.raises(DecodeError, match=message):
        spice_glz.read_header(_patch(case.blob, offset, data))
    assert len(window) == 0


def test_win_head_dist_beyond_id() -> None:
    case = sequence("mixed")[0]
    with pytest.raises(DecodeError, match="win_head_dist 1 exceeds image id 0"):
        spice_glz.decode(_patch(case.blob, 29, struct.pack(">I", 1)), window=spice_glz.Window())


def test_absurd_dimensions_rejected_before_allocating() -> None:
    case = sequence("mixed")[0]
    huge = _patch(case.blob, 9, struct.pack(">II", 0x3FFFFFFF, 0xFFFFFFFF))
    huge = _patch(huge, 17, struct.pack(">I", 0xFFFFFFFC))
    with pytest.raises(DecodeError, match="exceeds the limit of"):
        spice_glz.decode(huge, window=spice_glz.Window())
    with pytest.raises(DecodeError, match="exceeds the limit of 1000 pixels"):
        spice_glz.decode(case.blob, window=spice_glz.Window(), limits=spice_glz.Limits(max_pixels=1000))


def test_wrong_format_for_type() -> None:
    case = sequence("mixed")[0]
    with pytest.raises(DecodeError, match="RGB32 cannot be decoded to 'x1r5g5b5'"):
        spice_glz.decode(case.blob, window=spice_glz.Window(), format="x1r5g5b5")
    with pytest.raises(DecodeError, match="cannot be decoded to 'rgb565'"):
        spice_glz.decode(case.blob, window=spice_glz.Window(), format="rgb565")


def test_decode_into_small_buffer_and_stride() -> None:
    case = sequence("mixed")[0]
    need = case.width * 4 * case.height
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match="too small"):
        spice_glz.decode_into(case.blob, bytearray(need - 1), case.width * 4, window=window)
    with pytest.raises(DecodeError, match="smaller than a bgrx32 row"):
        spice_glz.decode_into(case.blob, bytearray(need), case.width * 4 - 1, window=window)
    with pytest.raises(DecodeError, match="too small"):
        spice_glz.decode_into(case.blob, bytearray(need), case.width * 4 + 4, window=window)
    with pytest.raises(DecodeError, match="needs a writable contiguous buffer"):
        spice_glz.decode_into(case.blob, bytes(need), case.width * 4, window=window)
    assert len(window) == 0
    spice_glz.decode_into(case.blob, bytearray(need), case.width * 4, window=window)
    assert window.ids() == [0]


def test_empty_input_and_unused_window() -> None:
    """Regression (fuzz): an empty blob, and freeing a window that never held an image."""
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match="shorter than its 33-byte header"):
        spice_glz.decode(b"", window=window)
    window.clear()
    del window
