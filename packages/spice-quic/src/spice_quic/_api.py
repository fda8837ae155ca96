"""decode, decode_into, encode and read_header: a thin layer over the C core."""

from __future__ import annotations

import struct
from typing import Any

from spice_quic._errors import DecodeError, EncodeError
from spice_quic._ffi import ffi, lib
from spice_quic._types import (
    DEFAULT_FORMAT,
    FORMAT_BYTES,
    FORMATS,
    INPUT_BYTES,
    Image,
    ImageInfo,
    ImageType,
    Limits,
)

__all__ = ["decode", "decode_into", "encode", "read_header"]

_DEFAULT_LIMITS = Limits()
_HEADER = struct.Struct("<5I")
_MAGIC = 0x43495551
_FORMAT_CODES = {"bgrx32": 1, "bgra32": 2, "x1r5g5b5": 3, "gray8": 4}
_TYPES = {int(t): t for t in ImageType}


def read_header(blob: Any) -> ImageInfo:
    """Image type and size announced by a QUIC blob's 20-byte header."""
    view = memoryview(blob)
    if view.nbytes < _HEADER.size:
        raise DecodeError(f"QUIC blob of {view.nbytes} bytes is shorter than the 20-byte header")
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
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
    return ImageInfo(image_type, width, height)


def _check(info: ImageInfo, fmt: str | None, limits: Limits | None) -> str:
    lim = limits or _DEFAULT_LIMITS
    if info.width > lim.max_width or info.height > lim.max_height:
        raise DecodeError(
            f"QUIC image {info.width}x{info.height} exceeds the limit of {lim.max_width}x{lim.max_height}"
        )
    if info.width * info.height > lim.max_pixels:
        raise DecodeError(
            f"QUIC image {info.width}x{info.height} exceeds the limit of {lim.max_pixels} pixels"
        )
    if fmt is None:
        return DEFAULT_FORMAT[info.image_type]
    if fmt not in FORMATS[info.image_type]:
        raise DecodeError(
            f"cannot decode a QUIC {info.image_type.name} image to {fmt!r}; "
            f"supported: {', '.join(FORMATS[info.image_type])}"
        )
    return fmt


def _run(view: memoryview, info: ImageInfo, fmt: str, buf: Any, size: int, stride: int) -> None:
    err_row = ffi.new("int64_t *")
    rc = lib.spice_quic_decode(
        ffi.from_buffer(view), view.nbytes, _FORMAT_CODES[fmt], buf, size, stride, 1 << 62, err_row
    )
    if rc:
        _raise_decode(rc, view.nbytes, info, err_row[0])


def _raise_decode(rc: int, nbytes: int, info: ImageInfo, row: int) -> None:
    where = f" at row {row}" if row >= 0 else ""
    if rc == lib.SPICE_QUIC_ERR_ALIGN:
        raise DecodeError(
            f"QUIC blob length {nbytes} is not a multiple of 4 (it is a stream of 32-bit words)"
        )
    if rc == lib.SPICE_QUIC_ERR_TRUNCATED:
        raise DecodeError(
            f"QUIC stream truncated{where}: {nbytes} bytes are not enough for a "
            f"{info.width}x{info.height} {info.image_type.name} image"
        )
    if rc == lib.SPICE_QUIC_ERR_RUN:
        raise DecodeError(f"corrupt QUIC stream{where}: a run of repeated pixels goes past the row's end")
    if rc == lib.SPICE_QUIC_ERR_NOMEM:
        raise MemoryError("out of memory while decoding a QUIC image")
    raise DecodeError(f"QUIC decode failed{where} (core error {rc})")


def decode(blob: Any, format: str | None = None, *, limits: Limits | None = None) -> Image:
    """Decode a QUIC blob into a new top-down, tightly packed ``Image``.

    ``format`` defaults to the first format listed for the image type
    (``bgrx32``; ``bgra32`` for RGBA; ``gray8`` for GRAY).
    """
    view = memoryview(blob)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    info = read_header(view)
    fmt = _check(info, format, limits)
    stride = info.width * FORMAT_BYTES[fmt]
    pixels = bytearray(stride * info.height)
    _run(view, info, fmt, ffi.from_buffer(pixels), len(pixels), stride)
    return Image(info.width, info.height, fmt, stride, pixels)


def decode_into(
    blob: Any, buffer: Any, stride: int, format: str | None = None, *, limits: Limits | None = None
) -> ImageInfo:
    """Decode a QUIC blob straight into a caller's writable buffer.

    Row ``y`` starts at byte ``y * stride``; a negative ``stride`` stores the
    picture bottom-up (the top row goes last in the buffer).
    """
    view = memoryview(blob)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    info = read_header(view)
    fmt = _check(info, format, limits)
    row_bytes = info.width * FORMAT_BYTES[fmt]
    if abs(stride) < row_bytes:
        raise DecodeError(
            f"stride {stride} is smaller than a {fmt} row of {info.width} pixels ({row_bytes} bytes)"
        )
    try:
        target = ffi.from_buffer(buffer, require_writable=True)
    except (TypeError, BufferError, ValueError) as exc:
        raise DecodeError(
            f"decode_into needs a writable contiguous buffer, got {type(buffer).__name__} ({exc})"
        ) from exc
    size = ffi.sizeof(target)
    needed = abs(stride) * (info.height - 1) + row_bytes
    if size < needed:
        raise DecodeError(
            f"buffer of {size} bytes is too small for {info.width}x{info.height} {fmt} "
            f"with stride {stride} ({needed} bytes needed)"
        )
    _run(view, info, fmt, target, size, stride)
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
    try:
        source = ffi.from_buffer(pixels)
    except (TypeError, BufferError, ValueError) as exc:
        raise EncodeError(
            f"pixels must be a contiguous bytes-like object, got {type(pixels).__name__} ({exc})"
        ) from exc
    size = ffi.sizeof(source)
    needed = abs(stride) * (height - 1) + row_bytes
    if size < needed:
        raise EncodeError(
            f"{size} bytes of pixels are too few for {width}x{height} {itype.name} "
            f"with stride {stride} ({needed} bytes needed)"
        )
    out = ffi.new("uint8_t **")
    out_len = ffi.new("size_t *")
    rc = lib.spice_quic_encode(source, size, stride, int(itype), width, height, out, out_len)
    if rc == lib.SPICE_QUIC_ERR_NOMEM:
        raise MemoryError("out of memory while encoding a QUIC image")
    if rc:
        raise EncodeError(f"QUIC encode failed (core error {rc})")
    try:
        return bytes(ffi.buffer(out[0], out_len[0]))
    finally:
        lib.spice_quic_free(out[0])


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
