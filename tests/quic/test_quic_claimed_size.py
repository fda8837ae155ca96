"""A header's claimed size is checked against the most pixels the blob can decode to, before
anything is allocated: tiny blobs claiming huge pictures cost neither memory nor time."""

from __future__ import annotations

import re
import struct

import pytest
import spice_quic
from buffers import measure_child
from spice_quic._ffi import lib


def claiming(width: int, height: int, image_type: int = 4, data_bytes: int = 64) -> bytes:
    return struct.pack("<5I", 0x43495551, 0, image_type, width, height) + bytes(data_bytes)


def test_tiny_blobs_claiming_8000x8000_are_rejected_naming_both_numbers() -> None:
    with pytest.raises(spice_quic.DecodeError) as info:
        spice_quic.decode(claiming(8000, 8000))
    message = str(info.value)
    assert "8000x8000 = 64000000 pixels" in message
    bound = int(re.search(r"at most (\d+) pixels", message).group(1))  # type: ignore[union-attr]
    assert bound == lib.spice_quic_pixel_bound(84, 4, 8000) < 8000


def test_ten_claims_cost_no_memory_and_no_time() -> None:
    result = measure_child(
        """
import struct
import numpy as np
import spice_quic

SHAPES = [(4, 8000, 8000), (1, 8000, 8000), (5, 4096, 4096), (4, 1, 1 << 20), (2, 1 << 20, 64)]
blobs = [struct.pack("<5I", 0x43495551, 0, t, w, h) + bytes(64) for t, w, h in SHAPES]

def run():
    for _ in range(2):
        for blob in blobs:
            calls = (
                lambda: spice_quic.decode(blob),
                lambda: spice_quic.decode_into(blob, np.zeros(1 << 28, np.uint8), 32000),
            )
            for call in calls:
                try:
                    call()
                except spice_quic.DecodeError:
                    pass
                else:
                    raise AssertionError("accepted")
"""
    )
    # before: each 84-byte claim of 8000x8000 allocated and zeroed its 256 MB output
    assert result["rss_growth_mib"] < 16, result
    assert result["seconds"] < 2, result


@pytest.mark.parametrize("image_type", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    ("width", "height"), [(1, 4000), (2, 3000), (3, 3000), (4, 2000), (700, 500), (70000, 20)]
)
def test_the_bound_holds_for_the_most_compressible_pictures(image_type: int, width: int, height: int) -> None:
    per_pixel = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4}[image_type]
    blob = spice_quic.encode(bytes(width * height * per_pixel), width, height, image_type)
    assert lib.spice_quic_pixel_bound(len(blob), image_type, width) >= width * height
    assert spice_quic.decode(blob).width == width
