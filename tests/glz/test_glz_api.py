"""The public surface of spice_glz."""

from __future__ import annotations

import dataclasses

import spice_glz


def test_exports() -> None:
    assert sorted(spice_glz.__all__) == sorted(
        [
            "DEFAULT_WINDOW_PIXELS",
            "FORMATS",
            "MAX_WINDOW_PIXELS",
            "DecodeError",
            "DecodeTarget",
            "DirectFormats",
            "EncodeError",
            "Encoder",
            "Header",
            "Image",
            "ImageType",
            "Limits",
            "PixelFormat",
            "Window",
            "__version__",
            "decode",
            "decode_at",
            "decode_into",
            "decode_zlib",
            "decode_zlib_into",
            "inflate",
            "read_header",
        ]
    )
    for name in spice_glz.__all__:
        assert hasattr(spice_glz, name)


def test_errors_are_value_errors() -> None:
    assert issubclass(spice_glz.DecodeError, ValueError)
    assert issubclass(spice_glz.EncodeError, ValueError)


def test_compiled_core_matches() -> None:
    from spice_glz._lib import ABI, lib

    assert lib.spice_glz_core_abi() == ABI


def test_image_is_frozen_and_formats_default() -> None:
    fields = [f.name for f in dataclasses.fields(spice_glz.Image)]
    assert fields[:5] == ["width", "height", "format", "stride", "pixels"]
    assert spice_glz.FORMATS[spice_glz.ImageType.RGBA][0] == "bgra32"
    assert spice_glz.FORMATS[spice_glz.ImageType.RGB16][0] == "bgrx32"
    assert spice_glz.FORMATS[spice_glz.ImageType.RGB16] == ("bgrx32", "x1r5g5b5")
