"""The codec behind each compressed SPICE image type, as one table.

Every entry says, for one :class:`spice_proto.ImageType`, where the codec blob is in the
image, how its header is read, how it decodes (to a new picture or straight into a
surface) and which codec image types decode without conversion into a 4-byte surface.
The three codecs share one contract (``read_header``, ``decode``, ``decode_into``,
``Header``, ``Image``, ``DecodeError``), so the adapters below differ only in the
keyword each codec adds: ``palette=`` for LZ, ``window=`` for GLZ.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import spice_glz
import spice_lz
import spice_quic
from spice_proto import Image as WireImage
from spice_proto import ImageType, Payload, ZlibGlzRgbImage

from ._image_cache import ImageStore
from ._pixels import MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, describe
from ._surface import Surface

__all__ = ["CODECS", "CODEC_ERRORS", "Codec", "CodecHeader", "CodecImage", "Direct"]


class CodecHeader(Protocol):
    """What every codec's ``Header`` starts with."""

    @property
    def image_type(self) -> enum.IntEnum: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...


class CodecImage(Protocol):
    """What every codec's ``Image`` starts with."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def format(self) -> str: ...
    @property
    def pixels(self) -> Any: ...


@dataclass(frozen=True)
class Direct:
    """Output formats that write a codec image type into a surface as it is (None: convert)."""

    xrgb: str | None
    argb: str | None


_RGB = Direct(xrgb="bgrx32", argb=None)
_RGBA = Direct(xrgb="bgra32", argb="bgra32")


@dataclass(frozen=True)
class Codec:
    """How one SPICE image type is decoded.

    ``blob`` gets the codec blob out of the image (with the store for budgets);
    ``decode(blob, store, palette)`` and ``decode_into(blob, out, stride, format, store)``
    call the codec; ``carries`` lists the codec image types this SPICE type may hold;
    ``direct`` those that decode into a surface without conversion.
    """

    blob: Callable[[Any, ImageStore], Payload]
    read_header: Callable[[Payload], CodecHeader]
    decode: Callable[[Payload, ImageStore, bytes | None], CodecImage]
    decode_into: Callable[[Payload, Any, int, str, ImageStore], object] | None
    carries: frozenset[enum.IntEnum]
    direct: Mapping[enum.IntEnum, Direct]
    #: ``decode_at(blob, surface, x, y, image, store)``: the codec checks the header against
    #: the descriptor and writes straight into the surface in one call; the format written,
    #: None (nothing done) when the image does not qualify.  None: read_header + decode_into.
    decode_at: Callable[[Payload, Surface, int, int, WireImage, ImageStore], str | None] | None = None

    def direct_format(self, head: CodecHeader, image: WireImage, argb: bool) -> str | None:
        """The format that decodes ``image`` straight into a 4-byte surface, or None when the
        header disagrees with the descriptor or the pixels would need converting."""
        if (head.width, head.height) != (image.width, image.height):
            return None
        direct = self.direct.get(head.image_type)
        if direct is None:
            return None
        return direct.argb if argb else direct.xrgb


def _data(image: Any, store: ImageStore) -> Payload:
    data: Payload = image.data
    return data


#: Caps of the GLZ blob inside a ZLIB_GLZ_RGB image (its size is checked before inflating).
_GLZ_LIMITS = spice_glz.Limits(
    max_width=MAX_IMAGE_SIDE, max_height=MAX_IMAGE_SIDE, max_pixels=MAX_IMAGE_PIXELS
)


def _inflated(image: ZlibGlzRgbImage, store: ImageStore) -> Payload:
    """The GLZ blob of a ZLIB_GLZ_RGB image, inflated (and checked) by spice_glz."""
    with store.budget.hold(image.glz_data_size, f"inflating {describe(image)}"):
        return spice_glz.inflate(image.data, glz_data_size=image.glz_data_size, limits=_GLZ_LIMITS)


def _quic_decode(blob: Payload, store: ImageStore, palette: bytes | None) -> CodecImage:
    return spice_quic.decode(blob)


def _quic_into(blob: Payload, out: Any, stride: int, fmt: str, store: ImageStore) -> object:
    return spice_quic.decode_into(blob, out, stride, format=fmt)


def _lz_decode(blob: Payload, store: ImageStore, palette: bytes | None) -> CodecImage:
    return spice_lz.decode(blob, palette=palette)


def _lz_into(blob: Payload, out: Any, stride: int, fmt: str, store: ImageStore) -> object:
    return spice_lz.decode_into(blob, out, stride, format=fmt)


def _glz_decode(blob: Payload, store: ImageStore, palette: bytes | None) -> CodecImage:
    return spice_glz.decode(blob, window=store.glz)


def _glz_into(blob: Payload, out: Any, stride: int, fmt: str, store: ImageStore) -> object:
    return spice_glz.decode_into(blob, out, stride, format=fmt, window=store.glz)


def _rgb_direct(types: Any) -> dict[enum.IntEnum, Direct]:
    return {types.RGB16: _RGB, types.RGB24: _RGB, types.RGB32: _RGB, types.RGBA: _RGBA}


def _direct_formats(argb: bool) -> spice_glz.DirectFormats:
    """What GLZ writes into a surface as it is (see :class:`Direct`), for xRGB or ARGB surfaces."""
    formats: dict[spice_glz.ImageType, str] = {}
    for itype, direct in _rgb_direct(spice_glz.ImageType).items():
        fmt = direct.argb if argb else direct.xrgb
        if fmt is not None:
            formats[spice_glz.ImageType(itype)] = fmt
    return spice_glz.DirectFormats(formats)


_GLZ_INTO = (_direct_formats(False), _direct_formats(True))


def _glz_at(
    blob: Payload, surface: Surface, x: int, y: int, image: WireImage, store: ImageStore
) -> str | None:
    target = surface._glz_target
    if target is None:  # the surface's buffer, exported once for all its draws
        formats = _GLZ_INTO[surface.has_alpha]
        target = surface._glz_target = spice_glz.DecodeTarget(
            surface.flat, surface.stride, formats=formats, limits=_GLZ_LIMITS
        )
    return target.decode_at(blob, x, y, image.width, image.height, store.glz)


_LZ_PALETTE = frozenset(t for t in spice_lz.ImageType if t.is_palette)
_GLZ = Codec(
    blob=_data,
    read_header=spice_glz.read_header,
    decode=_glz_decode,
    decode_into=_glz_into,
    carries=frozenset(spice_glz.ImageType),
    direct=_rgb_direct(spice_glz.ImageType),
    decode_at=_glz_at,
)

#: The codec of each compressed SPICE image type.
CODECS: dict[ImageType, Codec] = {
    ImageType.QUIC: Codec(
        blob=_data,
        read_header=spice_quic.read_header,
        decode=_quic_decode,
        decode_into=_quic_into,
        carries=frozenset(spice_quic.ImageType),
        direct=_rgb_direct(spice_quic.ImageType),
    ),
    ImageType.LZ_RGB: Codec(
        blob=_data,
        read_header=spice_lz.read_header,
        decode=_lz_decode,
        decode_into=_lz_into,
        carries=frozenset(spice_lz.ImageType) - _LZ_PALETTE,
        direct=_rgb_direct(spice_lz.ImageType),
    ),
    ImageType.LZ_PLT: Codec(
        blob=_data,
        read_header=spice_lz.read_header,
        decode=_lz_decode,
        decode_into=None,  # palette lookups always convert
        carries=_LZ_PALETTE,
        direct={},
    ),
    ImageType.GLZ_RGB: _GLZ,
    ImageType.ZLIB_GLZ_RGB: dataclasses.replace(_GLZ, blob=_inflated),
}

#: What the codecs raise for bad data.
CODEC_ERRORS: tuple[type[ValueError], ...] = (
    spice_quic.DecodeError,
    spice_lz.DecodeError,
    spice_glz.DecodeError,
)
