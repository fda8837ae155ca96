"""The one contract of spice_quic, spice_lz and spice_glz (see tools/codec_contract.py).

Names, signatures, dataclass fields and behaviour are compared across the three
packages; the vendored copies of the shared Python module and C header must equal
their canonical copies under tools/.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import spice_glz
import spice_lz
import spice_quic

ROOT = Path(__file__).resolve().parents[1]
CODECS = {"quic": spice_quic, "lz": spice_lz, "glz": spice_glz}
CONTRACT_NAMES = {
    "DecodeError",
    "EncodeError",
    "FORMATS",
    "Header",
    "Image",
    "ImageType",
    "Limits",
    "PixelFormat",
    "__version__",
    "decode",
    "decode_into",
    "read_header",
}
#: The keyword-only parameters each codec adds after ``format`` and ``limits``.
EXTRAS = {"quic": [], "lz": ["palette"], "glz": ["window"]}


def _params(func: Callable[..., Any]) -> list[tuple[str, str, object]]:
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(func).parameters.values()]


@pytest.fixture(params=sorted(CODECS), ids=str)
def codec(request: pytest.FixtureRequest) -> tuple[str, ModuleType]:
    return request.param, CODECS[request.param]


def test_vendored_contract_module_is_the_canonical_one() -> None:
    canonical = (ROOT / "tools" / "codec_contract.py").read_text()
    for name in CODECS:
        vendored = ROOT / "packages" / f"spice-{name}" / "src" / f"spice_{name}" / "_contract.py"
        assert vendored.read_text() == canonical, f"{vendored} differs from tools/codec_contract.py"


def test_vendored_c_header_is_the_canonical_one() -> None:
    canonical = (ROOT / "tools" / "spice_codec.h").read_text()
    for name in CODECS:
        vendored = ROOT / "packages" / f"spice-{name}" / "csrc" / "spice_codec.h"
        assert vendored.read_text() == canonical, f"{vendored} differs from tools/spice_codec.h"


def test_c_cores_define_no_private_helpers_of_their_own() -> None:
    for name in CODECS:
        for path in (ROOT / "packages" / f"spice-{name}" / "csrc").glob("*.[ch]"):
            if path.name == "spice_codec.h":
                continue
            text = path.read_text()
            for private in ("__builtin_expect", "__BYTE_ORDER__", "__builtin_bswap"):
                assert private not in text, f"{path.name} uses {private}: use spice_codec.h"


def test_one_error_convention_in_the_three_cores() -> None:
    from spice_glz._lib import ffi as glz_ffi
    from spice_glz._lib import lib as glz_lib
    from spice_lz._core import ffi as lz_ffi
    from spice_lz._core import lib as lz_lib
    from spice_quic._ffi import ffi as quic_ffi
    from spice_quic._ffi import lib as quic_lib

    cores = {"quic": (quic_ffi, quic_lib), "lz": (lz_ffi, lz_lib), "glz": (glz_ffi, glz_lib)}
    shared = [n for n in dir(quic_lib) if n.startswith("SC_")]
    assert len(shared) >= 17
    for name, (ffi, lib) in cores.items():
        assert [n for n in dir(lib) if n.startswith("SC_")] == shared, name
        assert all(getattr(lib, n) == getattr(quic_lib, n) for n in shared), name
        fields = [f for f, _ in ffi.typeof("sc_error").fields]
        assert fields == ["code", "offset", "pixel", "detail"], name
        own = [n for n in dir(lib) if "_E_" in n and not n.startswith("SC_")]
        assert own and all(getattr(lib, n) >= lib.SC_E_CODEC for n in own), (name, own)


def test_same_public_names(codec: tuple[str, ModuleType]) -> None:
    _, module = codec
    assert set(module.__all__) >= CONTRACT_NAMES, CONTRACT_NAMES - set(module.__all__)
    for public in ("DecodeError", "EncodeError", "Header", "Image", "ImageType", "Limits"):
        assert getattr(module, public).__module__ == module.__name__, public


def test_signatures(codec: tuple[str, ModuleType]) -> None:
    name, module = codec
    kw = "KEYWORD_ONLY"
    assert _params(module.read_header) == [("blob", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty)]
    head = [("format", kw, None), ("limits", kw, None)]
    decode = _params(module.decode)
    assert decode[0][:2] == ("blob", "POSITIONAL_OR_KEYWORD")
    assert decode[1:3] == head
    assert [p[0] for p in decode[3:]] == EXTRAS[name] and all(p[1] == kw for p in decode[3:])
    into = _params(module.decode_into)
    assert [p[:2] for p in into[:3]] == [(n, "POSITIONAL_OR_KEYWORD") for n in ("blob", "out", "stride")]
    assert into[3:5] == head
    assert [p[0] for p in into[5:]] == EXTRAS[name] and all(p[1] == kw for p in into[5:])


def test_dataclasses_and_enums(codec: tuple[str, ModuleType]) -> None:
    _, module = codec
    header = [f.name for f in dataclasses.fields(module.Header)]
    assert header[:4] == ["image_type", "width", "height", "top_down"]
    image = [f.name for f in dataclasses.fields(module.Image)]
    assert image[:6] == ["width", "height", "format", "stride", "pixels", "image_type"]
    assert module.Header.__dataclass_params__.frozen and module.Image.__dataclass_params__.frozen
    assert issubclass(module.ImageType, enum.IntEnum) and module.ImageType.__name__ == "ImageType"
    assert set(module.FORMATS) == set(module.ImageType)
    for formats in module.FORMATS.values():
        assert formats and all(f in ("bgrx32", "bgra32", "x1r5g5b5", "gray8", "a8") for f in formats)
    assert issubclass(module.DecodeError, ValueError) and issubclass(module.EncodeError, ValueError)


def test_limits_are_the_same_everywhere() -> None:
    shapes = {name: [(f.name, f.default) for f in dataclasses.fields(m.Limits)] for name, m in CODECS.items()}
    assert shapes["quic"] == shapes["lz"] == shapes["glz"]
    assert [n for n, _ in shapes["quic"]] == ["max_width", "max_height", "max_pixels"]
    errors = {m.DecodeError for m in CODECS.values()}
    assert len(errors) == 3  # each package raises its own exception type


def _sample(name: str) -> tuple[bytes, dict[str, Any], bytes]:
    """A 5x3 RGB32 blob, the extra keywords its decode needs, and its pixels (X = 0)."""
    pixels = bytes((i * 7) % 256 if i % 4 != 3 else 0 for i in range(5 * 3 * 4))
    if name == "glz":
        blob = spice_glz.Encoder(1 << 10).encode(pixels, 5, 3, "RGB32")
        return blob, {"window": spice_glz.Window()}, pixels
    module = CODECS[name]
    return module.encode(pixels, 5, 3, module.ImageType.RGB32), {}, pixels


def test_behaviour(codec: tuple[str, ModuleType]) -> None:
    name, module = codec
    blob, extra, pixels = _sample(name)
    head = module.read_header(blob)
    assert (head.image_type, head.width, head.height, head.top_down) == (module.ImageType.RGB32, 5, 3, True)
    image = module.decode(blob, **extra)
    assert (image.width, image.height, image.stride, image.image_type) == (5, 3, 20, head.image_type)
    assert image.format == module.FORMATS[head.image_type][0] == "bgrx32"
    assert bytes(image.pixels) == pixels
    _, extra, _ = _sample(name)  # a fresh window: GLZ ids must follow each other
    out = bytearray(3 * 24)
    assert module.decode_into(blob, out, 24, **extra) == head
    assert all(out[y * 24 : y * 24 + 20] == pixels[y * 20 : (y + 1) * 20] for y in range(3))
    assert out[20:24] == bytes(4)  # the bytes between rows are left alone


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, b, x: m.read_header(b"\x00" * 40), "magic"),
        (lambda m, b, x: m.read_header(12345), "bytes-like"),
        (lambda m, b, x: m.decode(b, format="gray9", **x), "cannot be decoded to 'gray9'"),
        (lambda m, b, x: m.decode(b, limits=m.Limits(max_pixels=14), **x), "exceeds the limit of 14 pixels"),
        (lambda m, b, x: m.decode(b, limits=m.Limits(max_width=4), **x), "exceeds the limit of 4x"),
        (lambda m, b, x: m.decode_into(b, bytes(60), 20, **x), "needs a writable contiguous buffer"),
        (lambda m, b, x: m.decode_into(b, bytearray(59), 20, **x), "too small"),
        (lambda m, b, x: m.decode_into(b, bytearray(60), 19, **x), "smaller than a bgrx32 row"),
    ],
    ids=["bad-magic", "not-bytes", "format", "max-pixels", "max-width", "read-only", "small", "stride"],
)
def test_errors(codec: tuple[str, ModuleType], call: Callable[..., Any], match: str) -> None:
    name, module = codec
    blob, extra, _ = _sample(name)
    with pytest.raises(module.DecodeError, match=match):
        call(module, blob, extra)


def test_encode_errors(codec: tuple[str, ModuleType]) -> None:
    name, module = codec
    encode = spice_glz.Encoder(1 << 10).encode if name == "glz" else module.encode
    with pytest.raises(module.EncodeError):
        encode(bytes(4), 5, 3, module.ImageType.RGB32)  # too few pixels
    with pytest.raises(module.EncodeError):
        encode(bytes(60), 5, 3, 99)  # no such image type
