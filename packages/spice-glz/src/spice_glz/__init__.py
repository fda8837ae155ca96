"""SPICE GLZ image codec and its cross-image dictionary, with a C core compiled by cffi.

Decode with :func:`decode` (or :func:`decode_into`, :func:`decode_zlib`) against a
:class:`Window` that keeps earlier images; encode with an :class:`Encoder`.
"""

from ._contract import DecodeError, EncodeError, Limits, PixelFormat
from ._decode import (
    DecodeTarget,
    DirectFormats,
    decode,
    decode_at,
    decode_into,
    decode_zlib,
    decode_zlib_into,
    inflate,
    read_header,
)
from ._encoder import MAX_WINDOW_PIXELS, Encoder
from ._types import FORMATS, Header, Image, ImageType
from ._window import DEFAULT_WINDOW_PIXELS, Window

__version__ = "0.2.0"

__all__ = [
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

for _cls in (
    DecodeError,
    DecodeTarget,
    DirectFormats,
    EncodeError,
    Limits,
    Header,
    Image,
    ImageType,
    Encoder,
    Window,
):
    _cls.__module__ = __name__
del _cls
