"""SPICE LZ image codec (RGB, alpha and palette types) with a C core compiled by cffi.

>>> import spice_lz
>>> blob = spice_lz.encode(bytes(4 * 6), 3, 2, spice_lz.LzImageType.RGB32)
>>> img = spice_lz.decode(blob)
>>> (img.width, img.height, img.format, img.stride)
(3, 2, 'bgrx32', 12)
"""

from ._api import decode, decode_into, encode, encode_bound, read_header
from ._errors import DecodeError, EncodeError
from ._types import DEFAULT_LIMITS, Header, Image, Limits, LzImageType, PixelFormat

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "DecodeError",
    "EncodeError",
    "Header",
    "Image",
    "Limits",
    "LzImageType",
    "PixelFormat",
    "__version__",
    "decode",
    "decode_into",
    "encode",
    "encode_bound",
    "read_header",
]
