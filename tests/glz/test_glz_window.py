"""Window semantics: stream order, win_head_dist, the pixel budget, type and presence checks."""

from __future__ import annotations

import struct

import pytest
import spice_glz
import vectors
from _glz_helpers import sequence
from spice_glz import DecodeError, ImageType


def _tile(seed: int, width: int = 40, height: int = 30) -> bytes:
    """A 4-byte-per-pixel picture with repeats inside and across seeds."""
    out = bytearray()
    for y in range(height):
        for x in range(width):
            v = ((x // 5) * 37 + (y // 3) * 11 + seed * ((x + y) % 3)) & 0xFF
            out += bytes((v, (v * 3) & 0xFF, (v * 7) & 0xFF, 0))
    return bytes(out)


def test_eviction_follows_win_head_dist() -> None:
    window = spice_glz.Window()
    held = []
    for case in sequence("evict"):
        spice_glz.decode(case.blob, window=window)
        held.append(window.ids())
        assert window.pixels == sum(128 * 96 for _ in window.ids())
    assert held[:3] == [[0], [0, 1], [0, 1, 2]]
    assert held[3:] == [[i - 2, i - 1, i] for i in range(3, 8)]


def test_reference_older_than_header_window_is_rejected() -> None:
    seq = sequence("evict")
    window = spice_glz.Window()
    for case in seq[:3]:
        spice_glz.decode(case.blob, window=window)
    narrowed = seq[3].blob[:29] + struct.pack(">I", 1) + seq[3].blob[33:]
    with pytest.raises(DecodeError, match=r"reference to image 1, older than the header's window"):
        spice_glz.decode(narrowed, window=window)
    assert window.ids() == [0, 1, 2]
    spice_glz.decode(seq[3].blob, window=window)
    assert window.ids() == [1, 2, 3]


def test_pixel_budget_too_small_fails_cleanly() -> None:
    window = spice_glz.Window(max_pixels=128 * 96)
    seq = sequence("evict")
    spice_glz.decode(seq[0].blob, window=window)
    spice_glz.decode(seq[1].blob, window=window)  # copies from image 0, which leaves afterwards
    assert window.ids() == [1]
    with pytest.raises(DecodeError, match="reference to image 0, which is not in the window"):
        spice_glz.decode(seq[2].blob, window=window)
    assert window.ids() == [1]


def test_budget_just_large_enough() -> None:
    window = spice_glz.Window(max_pixels=3 * 128 * 96)
    for case in sequence("evict"):
        img = spice_glz.decode(case.blob, window=window)
        assert vectors.sha256(img.pixels) == case.expected[0].sha256
        assert window.pixels <= 3 * 128 * 96


def test_missing_image() -> None:
    seq = sequence("scroll")
    window = spice_glz.Window()
    with pytest.raises(DecodeError, match="reference to image 0, which is not in the window"):
        spice_glz.decode(seq[1].blob, window=window)
    assert len(window) == 0


def test_image_distance_before_zero() -> None:
    seq = sequence("scroll")
    as_first = seq[1].blob[:21] + struct.pack(">QI", 0, 0) + seq[1].blob[33:]
    with pytest.raises(DecodeError, match="reaches before image 0"):
        spice_glz.decode(as_first, window=spice_glz.Window())


def test_reference_to_another_type() -> None:
    pixels = _tile(1)
    rgba_first = spice_glz.Encoder(1 << 20).encode(pixels, 40, 30, ImageType.RGBA)
    enc = spice_glz.Encoder(1 << 20)
    enc.encode(pixels, 40, 30, ImageType.RGB32)
    rgb32_second = enc.encode(pixels, 40, 30, ImageType.RGB32)
    window = spice_glz.Window()
    spice_glz.decode(rgba_first, window=window)
    with pytest.raises(DecodeError, match="reference to image 0, which has another LZ type"):
        spice_glz.decode(rgb32_second, window=window)
    assert window.ids() == [0]


def test_bottom_up_images_kept_in_stream_order() -> None:
    """The mixed sequence copies from bottom-up images by stream-order offsets."""
    window = spice_glz.Window()
    for case in sequence("mixed"):
        img = spice_glz.decode(case.blob, window=window)
        assert vectors.sha256(img.pixels) == case.expected[0].sha256, case.name


def test_oversized_image_is_decoded_but_not_kept() -> None:
    case = sequence("mixed")[0]
    window = spice_glz.Window(max_pixels=case.width * case.height - 1)
    img = spice_glz.decode(case.blob, window=window)
    assert vectors.sha256(img.pixels) == case.expected[0].sha256
    assert len(window) == 0 and window.pixels == 0


def test_repeated_id_replaces() -> None:
    case = sequence("mixed")[0]
    window = spice_glz.Window()
    spice_glz.decode(case.blob, window=window)
    spice_glz.decode(case.blob, window=window)
    assert window.ids() == [0]
    assert window.pixels == case.width * case.height


def test_lowering_max_pixels_evicts_and_clear_empties() -> None:
    window = spice_glz.Window()
    for case in sequence("scroll"):
        spice_glz.decode(case.blob, window=window)
    assert window.ids() == [0, 1, 2, 3] and 2 in window and 7 not in window
    window.max_pixels = 2 * 320 * 200
    assert window.ids() == [2, 3]
    assert window.max_pixels == 2 * 320 * 200
    window.clear()
    assert len(window) == 0 and window.pixels == 0
    with pytest.raises(ValueError, match="max_pixels"):
        spice_glz.Window(-1)
    assert "images=0" in repr(window)


def test_shared_pixels_outlive_the_window() -> None:
    """Top-down images share the window's copy; it stays valid after eviction and clear."""
    import gc

    seq = sequence("scroll")
    window = spice_glz.Window()
    images = [spice_glz.decode(case.blob, window=window) for case in seq]
    window.max_pixels = 320 * 200
    assert window.ids() == [3]
    window.clear()
    del window
    gc.collect()
    for img, case in zip(images, seq, strict=True):
        assert vectors.sha256(img.pixels) == case.expected[0].sha256
        assert img.pixels.readonly
        with pytest.raises(TypeError):
            img.pixels[0] = 1  # type: ignore[index]
    private = bytearray(images[0].pixels)
    private[0] ^= 0xFF
    assert vectors.sha256(images[0].pixels) == seq[0].expected[0].sha256


def test_shared_pixels_survive_replacement_by_the_same_id() -> None:
    case = sequence("mixed")[0]
    window = spice_glz.Window()
    first = spice_glz.decode(case.blob, window=window)
    for _ in range(3):
        spice_glz.decode(case.blob, window=window)
    assert first.pixels == case.expected[0].read()


def test_a_long_stream_slides_the_window_and_every_picture_comes_back() -> None:
    """Hundreds of images through a window that keeps a few: the oldest leave from the front
    (the window's array moves its run back or grows many times) and references still land."""
    width, height, keep = 24, 6, 5
    encoder = spice_glz.Encoder(keep * width * height)
    window = spice_glz.Window(keep * width * height)
    blobs, pictures = [], []
    for i in range(300):
        picture = _tile(i % 7, width, height)[(i % 4) * 4 :] + bytes((i % 4) * 4)
        blobs.append(encoder.encode(picture, width, height, ImageType.RGB32))
        pictures.append(picture)
        out = spice_glz.decode(blobs[-1], window=window)
        assert bytes(out.pixels) == picture
        assert window.ids() == list(range(max(0, i - keep + 1), i + 1))
    # the image before the newest, sent again: replaced in the middle of the run
    again = spice_glz.decode(blobs[-2], window=window)
    assert bytes(again.pixels) == pictures[-2] and window.ids() == list(range(295, 300))
    picture = _tile(3, width, height)
    out = spice_glz.decode(encoder.encode(picture, width, height, ImageType.RGB32), window=window)
    assert bytes(out.pixels) == picture and window.ids()[-1] == 300
