"""Public surface of spice_lz: exports, the README example, numpy buffers, threads."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import spice_lz
import vectors

README = Path(__file__).resolve().parents[2] / "packages" / "spice-lz" / "README.md"


def test_exports() -> None:
    assert sorted(spice_lz.__all__) == sorted(
        [
            "FORMATS",
            "DecodeError",
            "EncodeError",
            "Header",
            "Image",
            "ImageType",
            "Limits",
            "PixelFormat",
            "__version__",
            "decode",
            "decode_into",
            "encode",
            "encode_bound",
            "read_header",
        ]
    )
    for name in spice_lz.__all__:
        assert hasattr(spice_lz, name)


def test_readme_example_runs() -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    lines = code.group(1).strip().splitlines()
    assert len(lines) <= 12
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    surface = namespace["surface"]
    assert isinstance(surface, bytearray)
    row = 100 * 4
    assert surface[5 * row + 7 * 4 : 5 * row + 8 * 4] == bytes([0x10, 0x20, 0x30, 0])
    assert surface[5 * row + 6 * 4 : 5 * row + 7 * 4] == bytes(4)
    assert surface[5 * row + 71 * 4 : 5 * row + 72 * 4] == bytes(4)


def test_decode_into_numpy_array() -> None:
    case = next(c for c in vectors.cases("lz") if c.name == "lz/small_31x33_rgba")
    surface = np.zeros((40, 50, 4), np.uint8)
    # A contiguous view starting at the rectangle's first pixel, rows one surface row apart.
    view = surface.reshape(-1)[(3 * 50 + 2) * 4 :]
    spice_lz.decode_into(case.blob, view, stride=50 * 4)
    want = np.frombuffer(case.expected[0].read(), np.uint8).reshape(33, 31, 4)
    assert np.array_equal(surface[3:36, 2:33], want)
    assert not surface[:3].any() and not surface[:, :2].any() and not surface[:, 33:].any()


def test_concurrent_decodes_in_threads() -> None:
    case = max(vectors.cases("lz"), key=lambda c: c.width * c.height)
    want = case.expected[0].read()

    def work(_: int) -> bool:
        return spice_lz.decode(case.blob, palette=case.palette).pixels == want

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(8)))


def test_decode_into_rejects_non_contiguous_arrays() -> None:
    blob = spice_lz.encode(bytes(16), 2, 2, spice_lz.ImageType.RGB32)
    surface = np.zeros((10, 10, 4), np.uint8)
    with pytest.raises(spice_lz.DecodeError, match="needs a writable contiguous buffer"):
        spice_lz.decode_into(blob, surface[2:, 3:], stride=40)
    with pytest.raises(spice_lz.DecodeError, match="needs a writable contiguous buffer"):
        spice_lz.decode_into(blob, np.zeros(64, np.uint8)[::2], stride=8)
