"""A header's claimed size is checked against the most pixels the blob can decode to, before
anything is allocated: tiny blobs claiming huge pictures cost neither memory nor time."""

from __future__ import annotations

import re
import struct

import pytest
import spice_lz
from buffers import measure_child
from spice_lz import ImageType
from spice_lz._core import lib


def claiming(image_type: ImageType, width: int, height: int, data_bytes: int = 56) -> bytes:
    head = struct.pack(
        ">7I", 0x20205A4C, 0x00010001, image_type, width, height, image_type.row_bytes(width), 1
    )
    return head + bytes(data_bytes)


def test_tiny_blobs_claiming_8000x8000_are_rejected_naming_both_numbers() -> None:
    with pytest.raises(spice_lz.DecodeError) as info:
        spice_lz.decode(claiming(ImageType.RGB32, 8000, 8000))
    message = str(info.value)
    assert "8000x8000 = 64000000 pixels" in message
    bound = int(re.search(r"at most (\d+) pixels", message).group(1))  # type: ignore[union-attr]
    assert bound == 56 * 255 == lib.spice_lz_pixel_bound(84, ImageType.RGB32, 8000)


def test_ten_claims_cost_no_memory_and_no_time() -> None:
    result = measure_child(
        """
import struct
import numpy as np
import spice_lz
from spice_lz import ImageType as T

SHAPES = [(T.RGB32, 8000, 8000), (T.RGBA, 8000, 8000), (T.A8, 8000, 8000), (T.PLT1_LE, 8000, 8000),
          (T.RGB16, 1, 60000)]
blobs = [
    struct.pack(">7I", 0x20205A4C, 0x00010001, t, w, h, t.row_bytes(w), 1) + bytes(56)
    for t, w, h in SHAPES
]

def run():
    for _ in range(2):
        for blob in blobs:
            calls = (
                lambda: spice_lz.decode(blob, palette=[0, 1]),
                lambda: spice_lz.decode_into(blob, np.zeros(1 << 28, np.uint8), 32000, palette=[0, 1]),
            )
            for call in calls:
                try:
                    call()
                except spice_lz.DecodeError:
                    pass
                else:
                    raise AssertionError("accepted")
"""
    )
    # before: each 84-byte claim of 8000x8000 allocated its output (256 MB for RGB32)
    assert result["rss_growth_mib"] < 16, result
    assert result["seconds"] < 2, result


@pytest.mark.parametrize("image_type", list(ImageType))
@pytest.mark.parametrize(("width", "height"), [(1, 4000), (3, 3000), (700, 500), (65535, 20)])
def test_the_bound_holds_for_the_most_compressible_pictures(
    image_type: ImageType, width: int, height: int
) -> None:
    blob = spice_lz.encode(bytes(image_type.row_bytes(width) * height), width, height, image_type)
    assert lib.spice_lz_pixel_bound(len(blob), image_type, width) >= width * height
    palette = [0x123456] * 256 if image_type.is_palette else None
    assert spice_lz.decode(blob, palette=palette).height == height
