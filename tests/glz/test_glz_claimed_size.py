"""A header's claimed size is checked against the most pixels the blob can decode to, before
anything is allocated: tiny blobs claiming huge pictures cost neither memory nor time."""

from __future__ import annotations

import re
import struct

import pytest
import spice_glz
from buffers import measure_child
from spice_glz._lib import lib


def claiming(image_type: int, width: int, height: int, data_bytes: int = 51) -> bytes:
    bpp = {6: 2, 7: 3, 8: 4, 9: 4}[image_type]
    head = struct.pack(
        ">IIBIIIQI", 0x20205A4C, 0x00010001, image_type | 0x10, width, height, width * bpp, 0, 0
    )
    return head + bytes(data_bytes)


def test_tiny_blobs_claiming_8000x8000_are_rejected_naming_both_numbers() -> None:
    with pytest.raises(spice_glz.DecodeError) as info:
        spice_glz.decode(claiming(8, 8000, 8000), window=spice_glz.Window())
    message = str(info.value)
    assert "8000x8000 = 64000000 pixels" in message
    bound = int(re.search(r"at most (\d+) pixels", message).group(1))  # type: ignore[union-attr]
    assert bound == 51 * 255 == lib.glz_pixel_bound(84)


def test_ten_claims_cost_no_memory_and_no_time() -> None:
    result = measure_child(
        """
import struct
import numpy as np
import spice_glz

SHAPES = [(8, 8000, 8000), (9, 8000, 8000), (6, 8000, 8000), (7, 1, 60000), (8, 8000, 8000)]
BPP = {6: 2, 7: 3, 8: 4, 9: 4}
blobs = [
    struct.pack(">IIBIIIQI", 0x20205A4C, 0x00010001, t | 0x10, w, h, w * BPP[t], 0, 0) + bytes(51)
    for t, w, h in SHAPES
]

def run():
    for _ in range(2):
        for blob in blobs:
            window = spice_glz.Window()
            calls = (
                lambda: spice_glz.decode(blob, window=window),
                lambda: spice_glz.decode_into(blob, np.zeros(1 << 28, np.uint8), 32000, window=window),
            )
            for call in calls:
                try:
                    call()
                except spice_glz.DecodeError:
                    pass
                else:
                    raise AssertionError("accepted")
"""
    )
    # before: each 84-byte claim of 8000x8000 allocated its window copy (256 MB for RGB32)
    assert result["rss_growth_mib"] < 16, result
    assert result["seconds"] < 2, result


@pytest.mark.parametrize("image_type", [6, 7, 8, 9])
@pytest.mark.parametrize(("width", "height"), [(1, 4000), (3, 3000), (700, 500), (20000, 20)])
def test_the_bound_holds_for_the_most_compressible_pictures(image_type: int, width: int, height: int) -> None:
    per_pixel = {6: 2, 7: 3, 8: 4, 9: 4}[image_type]
    blob = spice_glz.Encoder(1 << 25).encode(bytes(width * height * per_pixel), width, height, image_type)
    assert lib.glz_pixel_bound(len(blob)) >= width * height
    assert spice_glz.decode(blob, window=spice_glz.Window()).height == height
