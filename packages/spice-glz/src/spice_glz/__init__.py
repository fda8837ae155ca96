"""SPICE GLZ image codec and its cross-image dictionary, with a C core compiled by cffi.

Decode with :func:`decode` (or :func:`decode_into`, :func:`decode_zlib`) against a
:class:`Window` that keeps earlier images; encode with an :class:`Encoder`.
"""

from ._decode import DEFAULT_LIMITS, decode, decode_into, decode_zlib, decode_zlib_into, read_header
from ._encoder import MAX_WINDOW_PIXELS, Encoder
from ._errors import DecodeError, EncodeError
from ._types import DEFAULT_FORMATS, FORMATS, Header, Image, ImageType, Limits
from ._window import DEFAULT_WINDOW_PIXELS, Window

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_LIMITS",
    "DEFAULT_WINDOW_PIXELS",
    "FORMATS",
    "MAX_WINDOW_PIXELS",
    "DecodeError",
    "EncodeError",
    "Encoder",
    "Header",
    "Image",
    "ImageType",
    "Limits",
    "Window",
    "__version__",
    "decode",
    "decode_into",
    "decode_zlib",
    "decode_zlib_into",
    "read_header",
]
