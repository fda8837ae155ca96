"""decode, decode_into, encode and read_header: the thin Python face of the C core."""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from typing import Any

from ._contract import (
    FORMAT_BYTES,
    DecodeError,
    EncodeError,
    Limits,
    PixelFormat,
    byte_view,
    check_output,
    choose_format,
    writable_size,
)
from ._core import ffi, lib
from ._types import FORMATS, Header, Image, ImageType

__all__ = ["decode", "decode_into", "encode", "encode_bound", "read_header"]

_FORMAT_CODES = {
    "bgrx32": lib.SPICE_LZ_FMT_BGRX32,
    "bgra32": lib.SPICE_LZ_FMT_BGRA32,
    "x1r5g5b5": lib.SPICE_LZ_FMT_X1R5G5B5,
    "a8": lib.SPICE_LZ_FMT_A8,
}

Palette = bytes | bytearray | memoryview | Sequence[int]


def _status_message(st: Any) -> str:
    code, off, val = st.code, st.offset, st.detail
    messages = {
        lib.SC_E_SHORT_HEADER: f"blob of {val} bytes is shorter than the 28-byte LZ header",
        lib.SC_E_MAGIC: f"bad magic 0x{val:08x} at offset 0 (expected 0x20205a4c, bytes '  ZL')",
        lib.SC_E_VERSION: f"unsupported version 0x{val:08x} at offset 4 (expected 0x00010001)",
        lib.SC_E_TYPE: f"invalid image type {val} at offset 8 (expected 1..11)",
        lib.SC_E_SIZE: f"zero {'width' if off == 12 else 'height'} at offset {off}",
        lib.SC_E_STRIDE: f"header stride {val} at offset 20 does not match type and width",
        lib.SC_E_TOO_LARGE: "image size in the header is too large (stride * height >= 1 GiB)",
        lib.SPICE_LZ_E_TOP_DOWN: f"top_down flag {val} at offset 24 is neither 0 nor 1",
        lib.SC_E_TRUNCATED: f"stream truncated: token at offset {off} needs bytes past the end",
        lib.SC_E_REFERENCE: f"match at offset {off} refers {val} pixels back, before the image start",
        lib.SC_E_OVERRUN: f"token at offset {off} runs past the end of the image",
        lib.SC_E_TRAILING: f"{val} trailing bytes after the image data at offset {off}",
        lib.SPICE_LZ_E_NO_PALETTE: "palette image needs a non-empty palette",
        lib.SPICE_LZ_E_PALETTE_INDEX: f"palette index {val} is outside the palette",
        lib.SC_E_FORMAT: "output format not available for this image type",
        lib.SC_E_BUFFER: "output buffer too small for the image",
        lib.SC_E_NOMEM: "out of memory",
        lib.SC_E_IMPLAUSIBLE: "image size in the header is more than the blob can decode to",
    }
    return messages.get(code, f"LZ error {code} at offset {off}")


_TYPES: tuple[ImageType | None, ...] = (None, *ImageType)
_DEFAULT_LIMITS = Limits()
_HEADER = struct.Struct(">7I")
_tls = threading.local()
# The encoder writes its output before anything reads it: skip zero-filling.
_new_uninitialized = ffi.new_allocator(should_clear_after_alloc=False)


def _status() -> Any:
    """A status struct for the C calls, one per thread (the GIL is released while C runs)."""
    try:
        return _tls.status
    except AttributeError:
        _tls.status = ffi.new("sc_error *")
        return _tls.status


def _size_out() -> Any:
    """A size_t out-parameter, one per thread."""
    try:
        return _tls.size
    except AttributeError:
        _tls.size = ffi.new("size_t *")
        return _tls.size


def _parse(view: memoryview) -> Header:
    hdr = ffi.new("spice_lz_header *")
    st = _status()
    with ffi.from_buffer(view) as src:
        rc = lib.spice_lz_parse_header(src, view.nbytes, hdr, st)
    if rc:
        raise DecodeError(_status_message(st))
    return Header(ImageType(hdr.type), hdr.width, hdr.height, bool(hdr.top_down), hdr.stride)


def read_header(blob: Any) -> Header:
    """Parse and validate the 28-byte LZ header of ``blob``."""
    return _parse(byte_view("LZ", blob))


def _peek(view: memoryview, limits: Limits | None) -> tuple[ImageType, int, int, int, int]:
    """Type, width, height, stride and top_down from the header, once the size passed the
    limits and what the blob's length can decode to.

    The C decoder validates the whole header again; anything odd here is handed to the
    C parser for its error message.
    """
    if view.nbytes >= 28:
        magic, version, code, width, height, stride, top_down = _HEADER.unpack_from(view)
        if magic == 0x20205A4C and version == 0x00010001 and 0 < code <= 11 and width and height:
            kind = _TYPES[code]
            assert kind is not None
        else:
            head = _parse(view)  # raises the C parser's message
            kind, width, height, stride = head.image_type, head.width, head.height, head.stride
            top_down = int(head.top_down)
    else:
        _parse(view)
        raise AssertionError("unreachable: the C parser accepted a blob shorter than the header")
    (limits or _DEFAULT_LIMITS).check("LZ", width, height)
    bound = int(lib.spice_lz_pixel_bound(view.nbytes, kind, width))
    if width * height > bound:
        raise DecodeError(
            f"LZ header claims {width}x{height} = {width * height} pixels, but a {view.nbytes}-byte "
            f"{kind.name} blob decodes to at most {bound} pixels "
            "(the data is truncated or the size forged)"
        )
    return kind, width, height, stride, top_down


def _palette_bytes(kind: ImageType, palette: Palette | None) -> tuple[Any, int]:
    if palette is None or not kind.is_palette:
        return ffi.NULL, 0  # the C decoder reports a missing palette after checking the header
    if isinstance(palette, bytes | bytearray | memoryview):
        data = bytes(palette)
        if len(data) % 4:
            raise DecodeError(f"palette of {len(data)} bytes is not a whole number of 4-byte entries")
    else:
        try:
            data = struct.pack(f"<{len(palette)}I", *palette)
        except struct.error as exc:
            raise DecodeError(f"palette entries must be 32-bit unsigned integers ({exc})") from None
    if not data:
        raise DecodeError("palette is empty")
    return data, len(data) // 4


def _run_decode(
    view: memoryview, kind: ImageType, fmt: PixelFormat, palette: Palette | None, out: Any, stride: int
) -> None:
    """Run the C decoder; both buffers are released before any error is raised."""
    pal, num = _palette_bytes(kind, palette)
    st = _status()
    with ffi.from_buffer(view) as src, ffi.from_buffer(out, require_writable=True) as dst:
        rc = lib.spice_lz_decode(
            src, view.nbytes, _FORMAT_CODES[fmt], pal, num, dst, ffi.sizeof(dst), stride, st
        )
    if rc:
        if st.code == lib.SPICE_LZ_E_NO_PALETTE:
            raise DecodeError(f"LZ {kind.name} image needs a palette")
        raise DecodeError(_status_message(st))


def decode(
    blob: Any,
    *,
    format: str | None = None,
    limits: Limits | None = None,
    palette: Palette | None = None,
) -> Image:
    """Decode an LZ blob into a new tightly packed image, top row first.

    ``format`` defaults to the type's first entry in ``FORMATS``. ``palette``
    (PLT types only) is a list of 0x00RRGGBB integers or their little-endian
    u32 bytes.
    """
    view = byte_view("LZ", blob)
    kind, width, height, _, _ = _peek(view, limits)
    fmt = choose_format("LZ", kind.name, FORMATS[kind], format)
    stride = width * FORMAT_BYTES[fmt]
    pixels = bytearray(stride * height)
    _run_decode(view, kind, fmt, palette, pixels, stride)
    return Image(width, height, fmt, stride, pixels, kind)


def decode_into(
    blob: Any,
    out: Any,
    stride: int,
    *,
    format: str | None = None,
    limits: Limits | None = None,
    palette: Palette | None = None,
) -> Header:
    """Decode an LZ blob into a caller's writable buffer with rows ``stride`` bytes apart.

    The buffer must hold ``stride * (height - 1) + width * bpp`` bytes; bytes
    between rows are left untouched. Returns the blob's header.
    """
    view = byte_view("LZ", blob)
    kind, width, height, hdr_stride, top_down = _peek(view, limits)
    fmt = choose_format("LZ", kind.name, FORMATS[kind], format)
    check_output("LZ", writable_size(ffi, out), stride, width, height, fmt)
    _run_decode(view, kind, fmt, palette, out, stride)
    return Header(kind, width, height, bool(top_down), hdr_stride)


def encode_bound(image_type: ImageType | int, width: int, height: int) -> int:
    """The largest blob :func:`encode` can produce for an image of this type and size."""
    try:
        bound = int(lib.spice_lz_encode_bound(int(image_type), width, height))
    except OverflowError:
        bound = 0
    if bound == 0:
        raise EncodeError(f"cannot encode a {width}x{height} image of LZ type {image_type!r}")
    return bound


def encode(
    pixels: bytes | bytearray | memoryview,
    width: int,
    height: int,
    image_type: ImageType | int,
    stride: int | None = None,
    *,
    top_down: bool = True,
) -> bytes:
    """Encode pixels given in the type's native layout, top row first, into an LZ blob.

    Native layouts: PLT types packed indices (``row_bytes`` per row), RGB16
    x1r5g5b5, RGB24 B G R, RGB32 B G R X, RGBA B G R A, XXXA 4 bytes of which
    only A is coded, A8 one byte. ``top_down=False`` sends the bottom row first.
    """
    kind = _TYPES[image_type] if type(image_type) is int and 0 < image_type <= 11 else None
    if kind is None:
        try:
            kind = ImageType(image_type)
        except ValueError:
            raise EncodeError(f"unknown LZ image type {image_type!r}") from None
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31):
        raise EncodeError(f"image size {width}x{height}: both must be in 1 .. 2**31-1")
    row = kind.row_bytes(width)
    if stride is None:
        stride = row
    if stride < row:
        raise EncodeError(f"stride {stride} is smaller than a row of {row} bytes")
    bound = lib.spice_lz_encode_bound(kind, width, height)
    if bound == 0:
        raise EncodeError(f"image {width}x{height} is too large to encode")
    need = stride * (height - 1) + row
    out = _new_uninitialized("uint8_t[]", bound)
    size = _size_out()
    rc = 0
    with ffi.from_buffer(pixels) as src:
        have = len(src)
        if have >= need:
            rc = lib.spice_lz_encode(kind, width, height, int(top_down), src, have, stride, out, bound, size)
    if have < need:
        raise EncodeError(f"pixel buffer has {have} bytes, {width}x{height} {kind.name} needs {need}")
    if rc:
        raise EncodeError(f"encoding failed (LZ error {rc})")
    blob: bytes = ffi.buffer(out, size[0])[:]
    return blob
