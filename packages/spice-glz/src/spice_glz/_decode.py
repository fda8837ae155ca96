"""GLZ decoding: header parsing, decode, decode_into and the ZLIB_GLZ_RGB wrapper."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from ._errors import DecodeError
from ._lib import ffi, lib
from ._types import BYTES_PER_PIXEL, DEFAULT_FORMATS, FORMATS, Header, Image, ImageType, Limits
from ._window import Window

__all__ = ["DEFAULT_LIMITS", "decode", "decode_into", "decode_zlib", "decode_zlib_into", "read_header"]

DEFAULT_LIMITS = Limits()
_FORMAT_CODES = {"bgrx32": lib.GLZ_FMT_BGRX32, "bgra32": lib.GLZ_FMT_BGRA32, "x1r5g5b5": lib.GLZ_FMT_X1R5G5B5}
_TYPES = {int(t): t for t in ImageType}
_STRIDE_BPP = {ImageType.RGB16: 2, ImageType.RGB24: 3, ImageType.RGB32: 4, ImageType.RGBA: 4}


def _type_name(code: int) -> str:
    try:
        return ImageType(code).name
    except ValueError:
        return f"invalid type {code}"


def _header_error(code: int, h: Any) -> DecodeError:
    if code == lib.GLZ_E_TRUNCATED_HEADER:
        return DecodeError("GLZ blob shorter than its 33-byte header")
    if code == lib.GLZ_E_MAGIC:
        return DecodeError("GLZ header: bad magic at byte 0 (expected 20 20 5A 4C)")
    if code == lib.GLZ_E_VERSION:
        return DecodeError("GLZ header: unsupported version at byte 4 (expected 0x00010001)")
    if code == lib.GLZ_E_TYPE:
        if h.top_down > 1:
            return DecodeError(f"GLZ header: byte 8 has unknown flag bits (0x{h.top_down << 4:02x})")
        if 1 <= h.type <= 11:
            return DecodeError(
                f"GLZ header: image type {_type_name(h.type)} is not supported "
                "(GLZ carries RGB16, RGB24, RGB32 and RGBA)"
            )
        return DecodeError(f"GLZ header: {_type_name(h.type)} at byte 8")
    if code == lib.GLZ_E_DIMENSIONS:
        return DecodeError(f"GLZ header: empty image {h.width}x{h.height}")
    if code == lib.GLZ_E_STRIDE:
        bpp = _STRIDE_BPP.get(ImageType(h.type), 0)
        return DecodeError(
            f"GLZ header: stride {h.stride} does not match width {h.width} x {bpp} bytes "
            f"for {_type_name(h.type)}"
        )
    if code == lib.GLZ_E_WINDOW:
        return DecodeError(f"GLZ header: win_head_dist {h.win_head_dist} exceeds image id {h.id}")
    return DecodeError(f"GLZ header: error {code}")


def _parse_header(data: Any, size: int) -> Any:
    h = ffi.new("glz_header *")
    code = lib.glz_read_header(data, size, h)
    if code:
        raise _header_error(code, h)
    return h


def read_header(blob: bytes | bytearray | memoryview) -> Header:
    """Parse and check the 33-byte GLZ header of ``blob``."""
    h = _parse_header(ffi.from_buffer("uint8_t[]", blob), len(blob))
    return Header(_TYPES[h.type], h.width, h.height, h.stride, bool(h.top_down), int(h.id), h.win_head_dist)


def _decode_error(code: int, err: Any, h: Any) -> DecodeError:
    where = f"image {h.id}, byte {err.in_offset}, pixel {err.pixel}"
    d = int(err.detail)
    messages = {
        lib.GLZ_E_TRUNCATED: "stream ends early",
        lib.GLZ_E_OVERRUN: f"run of {d} pixels goes past the end of the image",
        lib.GLZ_E_BAD_OFFSET: f"back reference {d} pixels before the start of the image",
        lib.GLZ_E_IMAGE_DIST: f"image distance {d} reaches before image 0",
        lib.GLZ_E_OUTSIDE_WINDOW: f"reference to image {d}, older than the header's window "
        f"(id - win_head_dist = {h.id - h.win_head_dist})",
        lib.GLZ_E_MISSING_IMAGE: f"reference to image {d}, which is not in the window",
        lib.GLZ_E_TYPE_MISMATCH: f"reference to image {d}, which has another LZ type",
        lib.GLZ_E_REF_RANGE: f"reference at pixel offset {d} runs past the end of the referenced image",
        lib.GLZ_E_TRAILING: f"{d} bytes left after the image is complete",
    }
    if code in messages:
        return DecodeError(f"GLZ: {messages[code]} ({where})")
    if code == lib.GLZ_E_TOO_LARGE:
        return DecodeError(f"GLZ: image {h.width}x{h.height} exceeds the pixel limit")
    if code == lib.GLZ_E_NOMEM:
        return DecodeError(f"GLZ: out of memory decoding a {h.width}x{h.height} image")
    if code == lib.GLZ_E_BUFFER:
        return DecodeError("GLZ: output buffer too small")
    return _header_error(code, h)


_STORED_FORMAT = {
    ImageType.RGB16: "x1r5g5b5",
    ImageType.RGB24: "bgrx32",
    ImageType.RGB32: "bgrx32",
    ImageType.RGBA: "bgra32",
}


class _Job:
    """A parsed header and the chosen output format, as plain Python values."""

    __slots__ = ("data", "fmt", "h", "height", "id", "itype", "size", "top_down", "width")

    def __init__(self, blob: Any, fmt: str | None, limits: Limits) -> None:
        self.data = data = ffi.from_buffer("uint8_t[]", blob)
        self.size = size = len(data)
        self.h = h = _parse_header(data, size)
        self.itype = itype = _TYPES[h.type]
        self.width = width = h.width
        self.height = height = h.height
        self.top_down = bool(h.top_down)
        self.id = int(h.id)
        if fmt is None:
            fmt = DEFAULT_FORMATS[itype]
        elif fmt not in FORMATS[itype]:
            raise DecodeError(
                f"GLZ: {itype.name} cannot be decoded to {fmt!r}; choose one of {FORMATS[itype]}"
            )
        self.fmt = fmt
        if width * height > limits.max_pixels:
            raise DecodeError(f"GLZ: image {width}x{height} exceeds the limit of {limits.max_pixels} pixels")

    def header(self) -> Header:
        h = self.h
        return Header(self.itype, self.width, self.height, h.stride, self.top_down, self.id, h.win_head_dist)


def _run(window: Window, job: _Job, out: Any, out_len: int, stride: int, limits: Limits, pin: bool) -> Any:
    """Decode under the window's lock; returns the pinned pixel pointer (or NULL)."""
    err = window._err
    pinned = window._pinned
    with window._lock:
        code = lib.glz_decode(
            window._ptr,
            job.data,
            job.size,
            out,
            out_len,
            stride,
            _FORMAT_CODES[job.fmt],
            limits.max_pixels,
            err,
            pinned if pin else ffi.NULL,
        )
        ptr = pinned[0] if pin else ffi.NULL
        if code:
            error = _decode_error(code, err, job.h)
    if ptr != ffi.NULL:
        # the window's own copy, freed when both the window and the caller let go
        ptr = ffi.gc(ptr, lib.glz_unpin, size=stride * job.height)
    if code:
        raise error
    return ptr


def decode(
    blob: bytes | bytearray | memoryview,
    window: Window,
    format: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Image:
    """Decode one GLZ image against ``window`` and add it there.

    ``format`` defaults to ``bgrx32`` (``bgra32`` for RGBA); RGB16 also decodes to
    ``x1r5g5b5``. Rows come out top first whatever the stream's row order.
    ``Image.pixels`` is a read-only memoryview: for top-down images in the window's own
    layout it shares the window's copy (no copy is made); ``bytearray(img.pixels)`` gives a
    private, writable one. Use :func:`decode_into` to write into a buffer of your own.
    """
    job = _Job(blob, format, limits)
    fmt = job.fmt
    stride = job.width * BYTES_PER_PIXEL[fmt]
    nbytes = stride * job.height
    if job.top_down and _STORED_FORMAT[job.itype] == fmt:
        ptr = _run(window, job, ffi.NULL, 0, stride, limits, True)
        pixels = memoryview(ffi.buffer(ptr, nbytes)).toreadonly()
    else:
        out = bytearray(nbytes)
        _run(
            window,
            job,
            ffi.from_buffer("uint8_t[]", out, require_writable=True),
            nbytes,
            stride,
            limits,
            False,
        )
        pixels = memoryview(out).toreadonly()
    return Image(job.width, job.height, fmt, stride, pixels, job.itype, job.id)


def decode_into(
    blob: bytes | bytearray | memoryview,
    window: Window,
    buffer: Any,
    stride: int | None = None,
    format: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Header:
    """Decode one GLZ image into a writable ``buffer`` (rows ``stride`` bytes apart, top first).

    The buffer needs ``stride * (height - 1) + width * bytes_per_pixel`` bytes. Returns the
    header, so callers learn the size and id.
    """
    job = _Job(blob, format, limits)
    row = job.width * BYTES_PER_PIXEL[job.fmt]
    if stride is None:
        stride = row
    if stride < row:
        raise DecodeError(f"GLZ: stride {stride} is smaller than a row ({row} bytes)")
    need = stride * (job.height - 1) + row
    try:
        view = memoryview(buffer)
    except TypeError as exc:
        raise TypeError("decode_into needs a writable buffer") from exc
    if view.readonly:
        raise TypeError("decode_into needs a writable buffer, got a read-only one")
    if not view.contiguous:
        raise TypeError("decode_into needs a contiguous buffer")
    nbytes = view.nbytes
    if nbytes < need:
        raise DecodeError(
            f"GLZ: buffer of {nbytes} bytes is too small for {job.width}x{job.height} ({need} needed)"
        )
    _run(
        window,
        job,
        ffi.from_buffer("uint8_t[]", buffer, require_writable=True),
        nbytes,
        stride,
        limits,
        False,
    )
    return job.header()


_ZLIB_HEAD = struct.Struct("<II")


def _inflate(blob: bytes | bytearray | memoryview, limits: Limits, glz_data_size: int | None) -> bytes:
    view = memoryview(blob).cast("B")
    if glz_data_size is None:
        if len(view) < _ZLIB_HEAD.size:
            raise DecodeError(f"ZLIB_GLZ_RGB: {len(view)} bytes, shorter than its 8-byte header")
        glz_size, data_size = _ZLIB_HEAD.unpack_from(view)
        if len(view) - 8 != data_size:
            raise DecodeError(
                f"ZLIB_GLZ_RGB: data_size {data_size} but {len(view) - 8} bytes follow the header"
            )
        view = view[8:]
    else:
        glz_size = glz_data_size
    if not 0 <= glz_size <= limits.max_zlib_bytes:
        raise DecodeError(
            f"ZLIB_GLZ_RGB: glz_data_size {glz_size} exceeds the limit of {limits.max_zlib_bytes}"
        )
    inflater = zlib.decompressobj()
    try:
        glz = inflater.decompress(view, glz_size)
    except zlib.error as exc:
        raise DecodeError(f"ZLIB_GLZ_RGB: corrupt zlib data: {exc}") from None
    if len(glz) != glz_size or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        if len(glz) < glz_size:
            detail = f"inflates to {len(glz)} bytes"
        else:
            detail = "inflates to more bytes or has data after the zlib stream"
        raise DecodeError(f"ZLIB_GLZ_RGB: glz_data_size {glz_size} but the zlib data {detail}")
    return glz


def decode_zlib(
    blob: bytes | bytearray | memoryview,
    window: Window,
    format: str | None = None,
    *,
    glz_data_size: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Image:
    """Decode a ZLIB_GLZ_RGB payload: ``u32 glz_data_size, u32 data_size`` (little-endian), then
    ``data_size`` bytes of zlib data that inflate to exactly one GLZ blob.

    With ``glz_data_size`` given, ``blob`` is the zlib data alone (as a parsed message holds it).
    """
    return decode(_inflate(blob, limits, glz_data_size), window, format, limits=limits)


def decode_zlib_into(
    blob: bytes | bytearray | memoryview,
    window: Window,
    buffer: Any,
    stride: int | None = None,
    format: str | None = None,
    *,
    glz_data_size: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Header:
    """:func:`decode_into` for a ZLIB_GLZ_RGB payload (see :func:`decode_zlib`)."""
    return decode_into(_inflate(blob, limits, glz_data_size), window, buffer, stride, format, limits=limits)
