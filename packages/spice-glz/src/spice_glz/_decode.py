"""GLZ decoding: header parsing, decode, decode_into and the ZLIB_GLZ_RGB wrapper."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import Any

from ._contract import (
    FORMAT_BYTES,
    DecodeError,
    Limits,
    byte_view,
    check_output,
    choose_format,
)
from ._lib import ffi, lib
from ._types import FORMATS, Header, Image, ImageType
from ._window import Window

__all__ = [
    "DecodeTarget",
    "decode",
    "decode_at",
    "decode_into",
    "decode_zlib",
    "decode_zlib_into",
    "inflate",
    "read_header",
]

_DEFAULT_LIMITS = Limits()
#: An inflated ZLIB_GLZ_RGB blob may hold this many bytes per pixel of ``Limits.max_pixels``,
#: plus ``ZLIB_SLACK`` (header and control bytes; the encoder needs at most ~4.3 per pixel).
ZLIB_BYTES_PER_PIXEL = 8
ZLIB_SLACK = 256
_FORMAT_CODES = {"bgrx32": lib.GLZ_FMT_BGRX32, "bgra32": lib.GLZ_FMT_BGRA32, "x1r5g5b5": lib.GLZ_FMT_X1R5G5B5}
_FORMAT_NAMES = {code: name for name, code in _FORMAT_CODES.items()}
_TYPES = {int(t): t for t in ImageType}
_STRIDE_BPP = {6: 2, 7: 3, 8: 4, 9: 4}
#: Names of the LZ image types a GLZ header can hold but GLZ does not carry.
_OTHER_LZ_TYPES = {1: "PLT1_LE", 2: "PLT1_BE", 3: "PLT4_LE", 4: "PLT4_BE", 5: "PLT8", 10: "XXXA", 11: "A8"}


def _type_name(code: int) -> str:
    if code in _TYPES:
        return _TYPES[code].name
    return _OTHER_LZ_TYPES.get(code, f"invalid type {code}")


def _header_error(code: int, h: Any) -> DecodeError:
    if code == lib.SC_E_SHORT_HEADER:
        return DecodeError("GLZ blob shorter than its 33-byte header")
    if code == lib.SC_E_MAGIC:
        return DecodeError("GLZ header: bad magic at byte 0 (expected 20 20 5A 4C)")
    if code == lib.SC_E_VERSION:
        return DecodeError("GLZ header: unsupported version at byte 4 (expected 0x00010001)")
    if code == lib.SC_E_TYPE:
        if h.top_down > 1:
            return DecodeError(f"GLZ header: byte 8 has unknown flag bits (0x{h.top_down << 4:02x})")
        if 1 <= h.type <= 11:
            return DecodeError(
                f"GLZ header: image type {_type_name(h.type)} is not supported "
                "(GLZ carries RGB16, RGB24, RGB32 and RGBA)"
            )
        return DecodeError(f"GLZ header: {_type_name(h.type)} at byte 8")
    if code == lib.SC_E_SIZE:
        return DecodeError(f"GLZ header: empty image {h.width}x{h.height}")
    if code == lib.SC_E_STRIDE:
        bpp = _STRIDE_BPP.get(h.type, 0)
        return DecodeError(
            f"GLZ header: stride {h.stride} does not match width {h.width} x {bpp} bytes "
            f"for {_type_name(h.type)}"
        )
    if code == lib.GLZ_E_WINDOW:
        return DecodeError(f"GLZ header: win_head_dist {h.win_head_dist} exceeds image id {h.id}")
    return DecodeError(f"GLZ header: error {code}")


def _parse_header(view: memoryview) -> Any:
    h = ffi.new("glz_header *")
    with ffi.from_buffer(view) as src:
        code = lib.glz_read_header(src, view.nbytes, h, ffi.NULL)
    if code:
        raise _header_error(code, h)
    return h


def read_header(blob: Any) -> Header:
    """Parse and check the 33-byte GLZ header of ``blob``."""
    h = _parse_header(byte_view("GLZ", blob))
    return Header(_TYPES[h.type], h.width, h.height, bool(h.top_down), h.stride, int(h.id), h.win_head_dist)


def _decode_error(code: int, in_offset: int, pixel: int, detail: int, h: Any) -> DecodeError:
    where = f"image {h.id}, byte {in_offset}, pixel {pixel}"
    d = detail
    messages = {
        lib.SC_E_TRUNCATED: "stream ends early",
        lib.SC_E_OVERRUN: f"run of {d} pixels goes past the end of the image",
        lib.SC_E_REFERENCE: f"back reference {d} pixels before the start of the image",
        lib.GLZ_E_IMAGE_DIST: f"image distance {d} reaches before image 0",
        lib.GLZ_E_OUTSIDE_WINDOW: f"reference to image {d}, older than the header's window "
        f"(id - win_head_dist = {h.id - h.win_head_dist})",
        lib.GLZ_E_MISSING_IMAGE: f"reference to image {d}, which is not in the window",
        lib.GLZ_E_TYPE_MISMATCH: f"reference to image {d}, which has another LZ type",
        lib.GLZ_E_REF_RANGE: f"reference at pixel offset {d} runs past the end of the referenced image",
        lib.SC_E_TRAILING: f"{d} bytes left after the image is complete",
    }
    if code in messages:
        return DecodeError(f"GLZ: {messages[code]} ({where})")
    if code == lib.SC_E_TOO_LARGE:
        return DecodeError(f"GLZ: image {h.width}x{h.height} exceeds the pixel limit")
    if code == lib.SC_E_IMPLAUSIBLE:
        return DecodeError(f"GLZ: header claims {h.width}x{h.height}, more than the blob can decode to")
    if code == lib.SC_E_NOMEM:
        return DecodeError(f"GLZ: out of memory decoding a {h.width}x{h.height} image")
    if code == lib.SC_E_BUFFER:
        return DecodeError("GLZ: output buffer too small")
    return _header_error(code, h)


_STORED_FORMAT = {
    ImageType.RGB16: "x1r5g5b5",
    ImageType.RGB24: "bgrx32",
    ImageType.RGB32: "bgrx32",
    ImageType.RGBA: "bgra32",
}


class _Job:
    """A parsed header and the chosen output format, as plain Python values (no C buffers)."""

    __slots__ = ("fmt", "h", "height", "id", "itype", "limits", "top_down", "view", "width")

    def __init__(self, blob: Any, fmt: str | None, limits: Limits | None) -> None:
        self.view = view = byte_view("GLZ", blob)
        self.h = h = _parse_header(view)
        self.itype = itype = _TYPES[h.type]
        self.width = width = h.width
        self.height = height = h.height
        self.top_down = bool(h.top_down)
        self.id = int(h.id)
        self.fmt = choose_format("GLZ", itype.name, FORMATS[itype], fmt)
        self.limits = limits = limits or _DEFAULT_LIMITS
        limits.check("GLZ", width, height)
        bound = int(lib.glz_pixel_bound(view.nbytes))
        if width * height > bound:
            raise DecodeError(
                f"GLZ: header claims {width}x{height} = {width * height} pixels, but a "
                f"{view.nbytes}-byte blob decodes to at most {bound} pixels "
                "(the data is truncated or the size forged)"
            )

    def header(self) -> Header:
        h = self.h
        return Header(self.itype, self.width, self.height, self.top_down, h.stride, self.id, h.win_head_dist)


def _call(window: Window, job: _Job, dst: Any, stride: int, pin: bool) -> tuple[int, Any]:
    """The C decode under the window's lock into ``dst`` (an exported buffer, or NULL):
    (code, pinned pointer or NULL); error details are left in ``window._err``.  The input
    buffer is released on return."""
    pinned = window._pinned
    size = 0 if dst == ffi.NULL else ffi.sizeof(dst)
    with ffi.from_buffer(job.view) as src:
        code = lib.glz_decode(
            window._ptr, src, job.view.nbytes, dst, size, stride,
            _FORMAT_CODES[job.fmt], job.limits.max_pixels, window._err, pinned if pin else ffi.NULL,
        )  # fmt: skip
    return int(code), pinned[0] if pin else ffi.NULL


def _run(window: Window, job: _Job, dst: Any, stride: int, pin: bool) -> Any:
    """Decode under the window's lock; returns the pinned pixel pointer (or NULL)."""
    with window._lock:
        code, ptr = _call(window, job, dst, stride, pin)
        err = window._err
        where = (int(err.offset), int(err.pixel), int(err.detail))
    if ptr != ffi.NULL:
        # the window's own copy, freed when both the window and the caller let go
        ptr = ffi.gc(ptr, lib.glz_unpin, size=stride * job.height)
    if code:
        raise _decode_error(code, *where, job.h)
    return ptr


def decode(blob: Any, *, format: str | None = None, limits: Limits | None = None, window: Window) -> Image:
    """Decode one GLZ image against ``window`` and add it there.

    ``format`` defaults to the type's first entry in ``FORMATS``. Rows come out top
    first whatever the stream's row order. ``Image.pixels`` is a read-only memoryview:
    for top-down images in the window's own layout it shares the window's copy (no copy
    is made); ``bytearray(img.pixels)`` gives a private, writable one. Use
    :func:`decode_into` to write into a buffer of your own.
    """
    job = _Job(blob, format, limits)
    fmt = job.fmt
    stride = job.width * FORMAT_BYTES[fmt]
    nbytes = stride * job.height
    if job.top_down and _STORED_FORMAT[job.itype] == fmt:
        ptr = _run(window, job, ffi.NULL, stride, True)
        pixels = memoryview(ffi.buffer(ptr, nbytes)).toreadonly()
    else:
        out = bytearray(nbytes)
        with ffi.from_buffer(out, require_writable=True) as dst:
            _run(window, job, dst, stride, False)
        pixels = memoryview(out).toreadonly()
    return Image(job.width, job.height, fmt, stride, pixels, job.itype, job.id)


def decode_into(
    blob: Any,
    out: Any,
    stride: int,
    *,
    format: str | None = None,
    limits: Limits | None = None,
    window: Window,
) -> Header:
    """Decode one GLZ image against ``window`` into a writable buffer (rows ``stride``
    bytes apart, top first) and add it to the window.

    The buffer needs ``stride * (height - 1) + width * bytes_per_pixel`` bytes. Returns
    the header, so callers learn the size and id.
    """
    job = _Job(blob, format, limits)
    try:  # exported once: for the size check and the decode
        dst = ffi.from_buffer(out, require_writable=True)
    except (TypeError, BufferError, ValueError) as exc:
        check_output("GLZ", str(exc), stride, job.width, job.height, job.fmt)
        raise  # not reached: check_output raises for a reason
    with dst:
        check_output("GLZ", int(ffi.sizeof(dst)), stride, job.width, job.height, job.fmt)
        _run(window, job, dst, stride, False)
    return job.header()


_SKIPPED = int(lib.GLZ_SKIPPED)
#: The first type of the packed formats, as an int (enum attribute lookups are slow per call).
_FIRST_PACKED = int(ImageType.RGB16)


class DirectFormats:
    """The output format :func:`decode_at` writes for each image type (a mapping checked and
    packed once); images of the types left out are not decoded there."""

    __slots__ = ("formats", "packed")

    def __init__(self, formats: Mapping[ImageType, str]) -> None:
        packed = 0
        for itype in ImageType:
            fmt = formats.get(itype)
            code = lib.GLZ_FMT_NONE
            if fmt is not None:
                code = _FORMAT_CODES[choose_format("GLZ", itype.name, FORMATS[itype], fmt)]
            packed |= code << (4 * (itype - ImageType.RGB16))
        #: The formats, by image type.
        self.formats: dict[ImageType, str] = {t: f for t, f in formats.items() if f is not None}
        #: 4 bits a type from RGB16 up, as glz_decode_at takes them.
        self.packed = int(packed)

    def __repr__(self) -> str:
        return f"DirectFormats({self.formats!r})"


def _exported_blob(blob: Any, width: int, height: int, limits: Limits) -> Any:
    """``limits`` checked against ``width`` x ``height``, then ``blob`` exported for the C call."""
    if width > limits.max_width or height > limits.max_height or width * height > limits.max_pixels:
        limits.check("GLZ", width, height)
    try:
        return ffi.from_buffer(blob)
    except (TypeError, BufferError, ValueError):
        return ffi.from_buffer(byte_view("GLZ", blob))  # DecodeError naming what is wrong


def _decode_at(
    window: Window,
    src: Any,
    dst: Any,
    size: int,
    stride: int,
    x: int,
    y: int,
    width: int,
    height: int,
    packed: int,
    max_pixels: int,
) -> str | None:
    """The C call of :func:`decode_at` under the window's lock.  ``src`` goes with this call
    (no ``with``: its __exit__ costs more than the rest of the wrapper); an error releases it
    at once, so that a kept exception holds no export of the blob."""
    with window._lock:
        h, err = window._head, window._err
        try:
            code = lib.glz_decode_at(
                window._ptr, src, ffi.sizeof(src), dst, size, stride, x, y, width, height,
                packed, max_pixels, err, h,
            )  # fmt: skip
        except (OverflowError, TypeError):
            code = lib.SC_E_ARG
        if code == 0:
            return _FORMAT_NAMES[(packed >> (4 * (h.type - _FIRST_PACKED))) & 15]
        if code == _SKIPPED:
            return None
        if code in (lib.SC_E_BUFFER, lib.SC_E_ARG):
            failure = DecodeError(
                f"GLZ decode_at: {width}x{height} at {x},{y} with stride {stride} is not inside "
                f"a {size}-byte buffer"
            )
        else:
            failure = _decode_error(code, int(err.offset), int(err.pixel), int(err.detail), h)
    ffi.release(src)
    raise failure


def _writable(out: Any) -> Any:
    """``out`` exported for writing; DecodeError when it cannot be."""
    try:
        return ffi.from_buffer(out, require_writable=True)
    except (TypeError, BufferError, ValueError) as exc:
        raise DecodeError(f"GLZ decode_at needs a writable contiguous buffer ({exc})") from None


def decode_at(
    blob: Any,
    out: Any,
    stride: int,
    x: int,
    y: int,
    width: int,
    height: int,
    *,
    formats: DirectFormats | Mapping[ImageType, str],
    limits: Limits | None = None,
    window: Window,
) -> str | None:
    """Decode one GLZ image against ``window`` straight into the ``width`` x ``height``
    rectangle at ``x, y`` of ``out`` (rows ``stride`` bytes apart, as a surface is) and add
    it to the window, when its header says ``width`` x ``height`` and ``formats`` names an
    output format for its type.

    Returns the format written, or None, having done nothing, when the image does not
    qualify (another size, or a type not in ``formats``).  One header parse and one C call:
    the per-draw path of a client.  A rectangle not inside ``out`` is a DecodeError.
    :class:`DecodeTarget` does the same into a buffer exported once for many calls.
    """
    if not isinstance(formats, DirectFormats):
        formats = DirectFormats(formats)
    limits = limits or _DEFAULT_LIMITS
    src = _exported_blob(blob, width, height, limits)
    try:
        dst = _writable(out)
    except DecodeError:
        ffi.release(src)
        raise
    with dst:
        size = ffi.sizeof(dst)
        return _decode_at(
            window, src, dst, size, stride, x, y, width, height, formats.packed, limits.max_pixels
        )


class DecodeTarget:
    """A writable buffer (a client's surface) exported once for many :meth:`decode_at` calls,
    with its row stride, output formats and limits: what :func:`decode_at` checks and exports
    on every call is done here once.

    The buffer stays exported, and alive, until :meth:`release` (or the end of a ``with``
    block, or this object going away): a ``bytearray`` cannot change size meanwhile.  After
    :meth:`release`, :meth:`decode_at` is a DecodeError.
    """

    __slots__ = (
        "_dst",
        "_max_height",
        "_max_pixels",
        "_max_width",
        "_packed",
        "_size",
        "formats",
        "limits",
        "stride",
    )

    def __init__(
        self,
        out: Any,
        stride: int,
        *,
        formats: DirectFormats | Mapping[ImageType, str],
        limits: Limits | None = None,
    ) -> None:
        if not isinstance(formats, DirectFormats):
            formats = DirectFormats(formats)
        #: The output format of each image type (see :class:`DirectFormats`).
        self.formats = formats
        #: The caps every decoded image is checked against.
        self.limits = limits or _DEFAULT_LIMITS
        #: Bytes from one row of the buffer to the next.
        self.stride = stride
        self._packed = formats.packed
        self._max_width = self.limits.max_width
        self._max_height = self.limits.max_height
        self._max_pixels = self.limits.max_pixels
        self._dst: Any = _writable(out)
        self._size = int(ffi.sizeof(self._dst))

    def decode_at(self, blob: Any, x: int, y: int, width: int, height: int, window: Window) -> str | None:
        """:func:`decode_at` of ``blob`` into this buffer (the format written, or None)."""
        dst = self._dst
        if dst is None:
            raise DecodeError("GLZ decode_at: the target was released")
        if width > self._max_width or height > self._max_height or width * height > self._max_pixels:
            self.limits.check("GLZ", width, height)
        try:  # (_exported_blob inlined: this is the per-draw path)
            src = ffi.from_buffer(blob)
        except (TypeError, BufferError, ValueError):
            src = ffi.from_buffer(byte_view("GLZ", blob))  # DecodeError naming what is wrong
        return _decode_at(
            window, src, dst, self._size, self.stride, x, y, width, height, self._packed, self._max_pixels
        )

    def release(self) -> None:
        """Let go of the buffer now (idempotent)."""
        dst, self._dst = self._dst, None
        if dst is not None:
            ffi.release(dst)

    def __enter__(self) -> DecodeTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._dst is None else f"{self._size} bytes"
        return f"DecodeTarget({state}, stride={self.stride}, formats={self.formats.formats!r})"


_ZLIB_HEAD = struct.Struct("<II")


def inflate(blob: Any, *, glz_data_size: int | None = None, limits: Limits | None = None) -> bytes:
    """The GLZ blob inside a ZLIB_GLZ_RGB payload.

    The payload is ``u32 glz_data_size, u32 data_size`` (little-endian), then
    ``data_size`` bytes of zlib data that must inflate to exactly ``glz_data_size``
    bytes, with nothing after the zlib stream. With ``glz_data_size`` given, ``blob`` is
    the zlib data alone (as a parsed message holds it). The inflated size may be at most
    ``8 * limits.max_pixels + 256`` bytes.
    """
    view = byte_view("ZLIB_GLZ_RGB", blob)
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
    cap = ZLIB_BYTES_PER_PIXEL * (limits or _DEFAULT_LIMITS).max_pixels + ZLIB_SLACK
    if not 0 <= glz_size <= cap:
        raise DecodeError(f"ZLIB_GLZ_RGB: glz_data_size {glz_size} exceeds the limit of {cap} bytes")
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
    blob: Any,
    *,
    format: str | None = None,
    limits: Limits | None = None,
    window: Window,
    glz_data_size: int | None = None,
) -> Image:
    """:func:`decode` of the GLZ blob inside a ZLIB_GLZ_RGB payload (see :func:`inflate`)."""
    glz = inflate(blob, glz_data_size=glz_data_size, limits=limits)
    return decode(glz, format=format, limits=limits, window=window)


def decode_zlib_into(
    blob: Any,
    out: Any,
    stride: int,
    *,
    format: str | None = None,
    limits: Limits | None = None,
    window: Window,
    glz_data_size: int | None = None,
) -> Header:
    """:func:`decode_into` of the GLZ blob inside a ZLIB_GLZ_RGB payload (see :func:`inflate`)."""
    glz = inflate(blob, glz_data_size=glz_data_size, limits=limits)
    return decode_into(glz, out, stride, format=format, limits=limits, window=window)
