"""What the three SPICE image codecs (spice_quic, spice_lz, spice_glz) share.

The canonical copy is ``tools/codec_contract.py`` in the spice-python monorepo; each
codec vendors it unchanged as ``_contract.py`` so that it still installs alone with cffi
only (``tests/test_repo.py`` keeps the copies identical, ``tests/test_codec_contract.py``
checks the three public APIs against each other).

The contract, per codec:

- ``ImageType``: an ``IntEnum`` of the image types its format carries, numbered as in
  the blob header.
- ``FORMATS``: for each ``ImageType`` the output formats it decodes to; the first is the
  one chosen when ``format=None``.
- ``Header`` (frozen dataclass) starts with ``image_type, width, height, top_down``;
  codec-specific fields follow.
- ``Image`` (frozen dataclass) is ``width, height, format, stride, pixels, image_type``
  (rows top first, ``stride`` bytes apart); codec-specific fields follow.
- ``read_header(blob) -> Header``,
  ``decode(blob, *, format=None, limits=None, ...) -> Image`` and
  ``decode_into(blob, out, stride, *, format=None, limits=None, ...) -> Header``.
- ``DecodeError`` and ``EncodeError`` (both ``ValueError``) for every unusable input,
  ``Limits`` checked against the header before anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FORMAT_BYTES",
    "DecodeError",
    "EncodeError",
    "Limits",
    "PixelFormat",
    "byte_view",
    "check_output",
    "choose_format",
    "writable_size",
]

#: Every output pixel format of the codecs (each codec offers a subset).
PixelFormat = Literal["bgrx32", "bgra32", "x1r5g5b5", "gray8", "a8"]

#: Bytes per pixel of each output format.
FORMAT_BYTES: dict[str, int] = {"bgrx32": 4, "bgra32": 4, "x1r5g5b5": 2, "gray8": 1, "a8": 1}


class DecodeError(ValueError):
    """A blob, or the format, buffer, palette or window given with it, cannot be decoded."""


class EncodeError(ValueError):
    """Pixels, dimensions or an image type that cannot be encoded."""


@dataclass(frozen=True)
class Limits:
    """Caps checked against a blob's header before anything is allocated.

    For GLZ's zlib wrapper, the inflated blob may hold at most ``8 * max_pixels + 256`` bytes.
    """

    max_width: int = 1 << 20
    max_height: int = 1 << 20
    max_pixels: int = 1 << 26

    def check(self, codec: str, width: int, height: int) -> None:
        """DecodeError when a ``width`` x ``height`` image exceeds these limits."""
        if width > self.max_width or height > self.max_height:
            raise DecodeError(
                f"{codec} image {width}x{height} exceeds the limit of {self.max_width}x{self.max_height}"
            )
        if width * height > self.max_pixels:
            raise DecodeError(f"{codec} image {width}x{height} exceeds the limit of {self.max_pixels} pixels")


def byte_view(codec: str, blob: Any) -> memoryview:
    """``blob`` as a flat memoryview of bytes (no copy); DecodeError if it is no contiguous buffer."""
    view: memoryview | None
    try:
        view = memoryview(blob)
    except TypeError:
        view = None
    if view is None:
        raise DecodeError(f"a {codec} blob must be a bytes-like object, got {type(blob).__name__}")
    if not view.c_contiguous:
        raise DecodeError(f"a {codec} blob must be a contiguous buffer")
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    return view


def writable_size(ffi: Any, buffer: Any) -> int | str:
    """Bytes of a writable contiguous buffer, or why it is not one (nothing stays exported)."""
    try:
        with ffi.from_buffer(buffer, require_writable=True) as probe:
            return int(ffi.sizeof(probe))
    except (TypeError, BufferError, ValueError) as exc:
        return str(exc)


def choose_format(
    codec: str, type_name: str, offered: tuple[PixelFormat, ...], format: str | None
) -> PixelFormat:
    """``format``, or the first of ``offered`` when it is None; DecodeError if not offered."""
    if format is None:
        return offered[0]
    for name in offered:
        if name == format:
            return name
    raise DecodeError(f"{codec} {type_name} cannot be decoded to {format!r}; use one of {', '.join(offered)}")


def check_output(
    codec: str,
    out_size: int | str,
    stride: int,
    width: int,
    height: int,
    format: str,
    *,
    negative: bool = False,
) -> None:
    """DecodeError unless a buffer of ``out_size`` bytes (or the reason it is unusable) holds
    ``height`` rows of ``width`` pixels in ``format``, ``stride`` bytes apart.

    ``negative``: a negative stride (rows stored bottom-up) is accepted.
    """
    if isinstance(out_size, str):
        raise DecodeError(f"{codec} decode_into needs a writable contiguous buffer ({out_size})")
    row = width * FORMAT_BYTES[format]
    if (abs(stride) if negative else stride) < row:
        raise DecodeError(f"stride {stride} is smaller than a {format} row of {width} pixels ({row} bytes)")
    need = abs(stride) * (height - 1) + row
    if out_size < need:
        raise DecodeError(
            f"buffer of {out_size} bytes is too small for {width}x{height} {format} "
            f"with stride {stride} ({need} bytes needed)"
        )
