"""decode, decode_into, encode and read_header: a thin layer over the C core."""

from __future__ import annotations

import struct
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
from ._ffi import ffi, lib
from ._types import FORMATS, INPUT_BYTES, Header, Image, ImageType

__all__ = ["decode", "decode_into", "encode", "read_header"]

_DEFAULT_LIMITS = Limits()
_HEADER = struct.Struct("<5I")
_MAGIC = 0x43495551
_FORMAT_CODES = {"bgrx32": 1, "bgra32": 2, "x1r5g5b5": 3, "gray8": 4}
_TYPES = {int(t): t for t in ImageType}


def read_header(blob: Any) -> Header:
    """Image type and size announced by a QUIC blob's 20-byte header."""
    view = byte_view("QUIC", blob)
    if view.nbytes < _HEADER.size:
        raise DecodeError(f"QUIC blob of {view.nbytes} bytes is shorter than the 20-byte header")
    magic, version, type_code, width, height = _HEADER.unpack_from(view)
    if magic != _MAGIC:
        raise DecodeError(f"bad QUIC magic {bytes(view[:4])!r} at offset 0 (expected b'QUIC')")
    if version != 0:
        raise DecodeError(f"unsupported QUIC version 0x{version:08x} at offset 4 (expected 0)")
    image_type = _TYPES.get(type_code)
    if image_type is None:
        raise DecodeError(f"unknown QUIC image type {type_code} at offset 8 (expected 1..5)")
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31):
        raise DecodeError(f"invalid QUIC image size {width}x{height} at offsets 12 and 16")
    return Header(image_type, width, height)


def _check(info: Header, nbytes: int, fmt: str | None, limits: Limits | None) -> PixelFormat:
    """The output format, once the claimed size passed the limits and what ``nbytes`` can hold."""
    (limits or _DEFAULT_LIMITS).check("QUIC", info.width, info.height)
    npix = info.width * info.height
    bound = int(lib.spice_quic_pixel_bound(nbytes, int(info.image_type), info.width))
    if npix > bound:
        raise DecodeError(
            f"QUIC header claims {info.width}x{info.height} = {npix} pixels, but a {nbytes}-byte "
            f"{info.image_type.name} blob decodes to at most {bound} pixels "
            "(the data is truncated or the size forged)"
        )
    return choose_format("QUIC", info.image_type.name, FORMATS[info.image_type], fmt)


def _run(view: memoryview, fmt: str, out: Any, stride: int, width: int) -> tuple[int, int]:
    """Run the C decoder: (status code, image row of the failure or -1).

    Both buffers are released before this returns, so no error raised afterwards
    (nor its traceback) holds a pointer into them.
    """
    err = ffi.new("sc_error *")
    with ffi.from_buffer(view) as src, ffi.from_buffer(out, require_writable=True) as dst:
        rc = lib.spice_quic_decode(
            src, view.nbytes, _FORMAT_CODES[fmt], dst, ffi.sizeof(dst), stride, 1 << 62, err
        )
    pixel = int(err.pixel)
    return int(rc), pixel // width if pixel >= 0 else -1


def _decode_error(rc: int, nbytes: int, info: Header, row: int) -> Exception:
    where = f" at row {row}" if row >= 0 else ""
    if rc == lib.SPICE_QUIC_E_ALIGN:
        return DecodeError(
            f"QUIC blob length {nbytes} is not a multiple of 4 (it is a stream of 32-bit words)"
        )
    if rc == lib.SC_E_TRUNCATED:
        return DecodeError(
            f"QUIC stream truncated{where}: {nbytes} bytes are not enough for a "
            f"{info.width}x{info.height} {info.image_type.name} image"
        )
    if rc == lib.SPICE_QUIC_E_RUN:
        return DecodeError(f"corrupt QUIC stream{where}: a run of repeated pixels goes past the row's end")
    if rc == lib.SC_E_IMPLAUSIBLE:
        return DecodeError(
            f"QUIC header claims {info.width}x{info.height}, more than {nbytes} bytes can hold"
        )
    if rc == lib.SC_E_NOMEM:
        return MemoryError("out of memory while decoding a QUIC image")
    return DecodeError(f"QUIC decode failed{where} (core error {rc})")


def decode(blob: Any, *, format: str | None = None, limits: Limits | None = None) -> Image:
    """Decode a QUIC blob into a new top-down, tightly packed ``Image``.

    ``format`` defaults to the image type's first entry in ``FORMATS``.
    """
    view = byte_view("QUIC", blob)
    info = read_header(view)
    fmt = _check(info, view.nbytes, format, limits)
    stride = info.width * FORMAT_BYTES[fmt]
    pixels = bytearray(stride * info.height)
    rc, row = _run(view, fmt, pixels, stride, info.width)
    if rc:
        raise _decode_error(rc, view.nbytes, info, row)
    return Image(info.width, info.height, fmt, stride, pixels, info.image_type)


def decode_into(
    blob: Any, out: Any, stride: int, *, format: str | None = None, limits: Limits | None = None
) -> Header:
    """Decode a QUIC blob straight into a caller's writable buffer.

    Row ``y`` starts at byte ``y * stride``; a negative ``stride`` stores the
    picture bottom-up (the top row goes last in the buffer).
    """
    view = byte_view("QUIC", blob)
    info = read_header(view)
    fmt = _check(info, view.nbytes, format, limits)
    check_output("QUIC", writable_size(ffi, out), stride, info.width, info.height, fmt, negative=True)
    rc, row = _run(view, fmt, out, stride, info.width)
    if rc:
        raise _decode_error(rc, view.nbytes, info, row)
    return info


def encode(
    pixels: Any, width: int, height: int, image_type: ImageType | int | str, stride: int | None = None
) -> bytes:
    """Encode pixels as a QUIC blob.

    Source layout per image type: GRAY 1 byte; RGB16 little-endian x1r5g5b5;
    RGB24 B, G, R; RGB32 B, G, R, X (X ignored); RGBA B, G, R, A.  ``stride``
    defaults to the packed row size; a negative stride reads a bottom-up
    buffer (its last row is the top of the picture).
    """
    itype = _image_type(image_type)
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31) or width * height >= 1 << 29:
        raise EncodeError(f"cannot encode a {width}x{height} image (each side 1..2^31-1, under 2^29 pixels)")
    row_bytes = width * INPUT_BYTES[itype]
    if stride is None:
        stride = row_bytes
    if abs(stride) < row_bytes:
        raise EncodeError(
            f"stride {stride} is smaller than a {itype.name} row of {width} pixels ({row_bytes} bytes)"
        )
    needed = abs(stride) * (height - 1) + row_bytes
    out = ffi.new("uint8_t **")
    out_len = ffi.new("size_t *")
    rc, size = _encode_call(pixels, needed, stride, int(itype), width, height, out, out_len)
    if isinstance(size, str):
        raise EncodeError(
            f"pixels must be a contiguous bytes-like object, got {type(pixels).__name__} ({size})"
        )
    if size < needed:
        raise EncodeError(
            f"{size} bytes of pixels are too few for {width}x{height} {itype.name} "
            f"with stride {stride} ({needed} bytes needed)"
        )
    if rc == lib.SC_E_NOMEM:
        raise MemoryError("out of memory while encoding a QUIC image")
    if rc:
        raise EncodeError(f"QUIC encode failed (core error {rc})")
    try:
        return bytes(ffi.buffer(out[0], out_len[0]))
    finally:
        lib.spice_quic_free(out[0])


def _encode_call(
    pixels: Any, needed: int, stride: int, itype: int, width: int, height: int, out: Any, out_len: Any
) -> tuple[int, int | str]:
    """(result code, source size or why ``pixels`` is unusable); the source is released on return."""
    try:
        source = ffi.from_buffer(pixels)
    except (TypeError, BufferError, ValueError) as exc:
        return 0, str(exc)
    with source:
        size = int(ffi.sizeof(source))
        if size < needed:
            return 0, size
        return int(lib.spice_quic_encode(source, size, stride, itype, width, height, out, out_len)), size


def _image_type(value: ImageType | int | str) -> ImageType:
    if isinstance(value, str):
        try:
            return ImageType[value.upper()]
        except KeyError:
            raise EncodeError(
                f"unknown QUIC image type {value!r}; use one of {[t.name for t in ImageType]}"
            ) from None
    try:
        return ImageType(value)
    except ValueError:
        raise EncodeError(
            f"unknown QUIC image type {value!r}; use one of {[t.name for t in ImageType]}"
        ) from None
