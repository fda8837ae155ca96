"""The public surface of spice_quic: exports, argument types, encode validation."""

from __future__ import annotations

import array

import numpy as np
import pytest
import spice_quic
import vectors
from spice_quic import EncodeError, ImageType

CASE = {c.name: c for c in vectors.cases("quic")}["quic/small_31x33_rgba"]


def test_exports() -> None:
    assert sorted(spice_quic.__all__) == sorted(
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
            "read_header",
        ]
    )
    assert spice_quic.__version__ == "0.2.0"


def test_blob_may_be_any_bytes_like_object() -> None:
    expected = CASE.expected[0].read()
    blob = CASE.blob
    for obj in (
        blob,
        bytearray(blob),
        memoryview(blob),
        np.frombuffer(blob, np.uint8),
        array.array("I", blob),
    ):
        assert spice_quic.decode(obj).pixels == expected


def test_image_fields_and_repr() -> None:
    img = spice_quic.decode(CASE.blob)
    assert (img.width, img.height, img.format, img.stride) == (31, 33, "bgra32", 124)
    assert isinstance(img.pixels, bytearray)
    assert "pixels" not in repr(img)
    with pytest.raises(AttributeError):
        img.width = 3  # type: ignore[misc]


def test_read_header() -> None:
    assert spice_quic.read_header(CASE.blob) == spice_quic.Header(ImageType.RGBA, 31, 33)


def test_decode_into_writes_only_the_picture() -> None:
    target = np.zeros((33, 31, 4), np.uint8)
    info = spice_quic.decode_into(CASE.blob, target, 31 * 4)
    assert info == spice_quic.Header(ImageType.RGBA, 31, 33)
    assert target.tobytes() == CASE.expected[0].read()


def test_image_type_by_enum_int_or_name() -> None:
    pixels = bytes(range(48))
    blobs = {spice_quic.encode(pixels, 4, 3, t) for t in (ImageType.RGB32, 4, "RGB32", "rgb32")}
    assert len(blobs) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((bytes(16), 2, 2, "RGB8"), "unknown QUIC image type 'RGB8'"),
        ((bytes(16), 2, 2, 9), "unknown QUIC image type 9"),
        ((bytes(16), 0, 2, "RGB32"), "cannot encode a 0x2 image"),
        ((bytes(16), 2, -1, "RGB32"), "cannot encode a 2x-1 image"),
        ((bytes(15), 2, 2, "RGB32"), "15 bytes of pixels are too few"),
        ((bytes(100), 2, 2, "RGB32", 7), "stride 7 is smaller"),
        (("text", 2, 2, "GRAY"), "bytes-like"),
    ],
)
def test_encode_rejects_bad_arguments(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        spice_quic.encode(*args)  # type: ignore[arg-type]


def test_encode_ignores_the_x_byte_and_rgb16_bit15() -> None:
    a = spice_quic.encode(bytes([1, 2, 3, 0] * 6), 3, 2, "RGB32")
    b = spice_quic.encode(bytes([1, 2, 3, 0xFF] * 6), 3, 2, "RGB32")
    assert a == b
    c = spice_quic.encode(bytes([0x21, 0x04] * 6), 3, 2, "RGB16")
    d = spice_quic.encode(bytes([0x21, 0x84] * 6), 3, 2, "RGB16")
    assert c == d
    assert spice_quic.decode(d, format="x1r5g5b5").pixels == bytes([0x21, 0x04] * 6)


def test_encoded_blob_layout() -> None:
    blob = spice_quic.encode(bytes(3), 3, 1, "GRAY")
    assert blob[:20] == b"QUIC" + bytes(4) + (1).to_bytes(4, "little") + (3).to_bytes(4, "little") + (
        1
    ).to_bytes(4, "little")
    assert len(blob) % 4 == 0
    assert blob[-4:] == bytes(4)  # the final all-zero lookahead word


def test_stale_core_is_refused() -> None:
    from spice_quic import _ffi

    class OldCore:
        def spice_quic_abi(self) -> int:
            return _ffi.EXPECTED_ABI - 1

    with pytest.raises(ImportError, match="stale"):
        _ffi.check_abi(OldCore())
    with pytest.raises(ImportError, match="core ABI None"):
        _ffi.check_abi(object())
    _ffi.check_abi(_ffi.lib)


def test_threads_decode_concurrently() -> None:
    import concurrent.futures

    cases = [c for c in vectors.cases("quic") if c.width * c.height <= 100_000]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        decoded = list(pool.map(lambda c: bytes(spice_quic.decode(c.blob).pixels), cases * 3))
    assert decoded == [c.expected[0].read() for c in cases * 3]


@pytest.mark.parametrize(("width", "height"), [(5, 1), (5, 3), (1, 1)])
def test_encode_a_view_whose_last_row_is_short(width: int, height: int) -> None:
    """A sub-rectangle of a wider framebuffer: the buffer ends right after the last row's pixels."""
    stride = 16 * 4  # the framebuffer is 16 pixels wide
    frame = bytes((i * 7 + 3) % 256 for i in range(stride * height))
    x0 = 4
    view = frame[x0 * 4 : x0 * 4 + stride * (height - 1) + width * 4]
    blob = spice_quic.encode(view, width, height, "RGB32", stride=stride)
    decoded = spice_quic.decode(blob)
    for y in range(height):
        row = frame[y * stride + x0 * 4 : y * stride + (x0 + width) * 4]
        expected = bytes(b if i % 4 != 3 else 0 for i, b in enumerate(row))
        assert bytes(decoded.pixels[y * width * 4 : (y + 1) * width * 4]) == expected
