"""SPICE LZ image codec (RGB, alpha and palette types) with a C core compiled by cffi.

>>> import spice_lz
>>> blob = spice_lz.encode(bytes(4 * 6), 3, 2, spice_lz.ImageType.RGB32)
>>> img = spice_lz.decode(blob)
>>> (img.width, img.height, img.format, img.stride)
(3, 2, 'bgrx32', 12)
"""

from ._api import decode, decode_into, encode, encode_bound, read_header
from ._contract import DecodeError, EncodeError, Limits, PixelFormat
from ._types import FORMATS, Header, Image, ImageType

__version__ = "0.2.0"

__all__ = [
    "FORMATS",
    "DecodeError",
    "EncodeError",
    "Header",
    "Image",
    "ImageType",
    "Limits",
    "PixelFormat",
    "__version__",
    "decode",
    "decode_into",
    "encode",
    "encode_bound",
    "read_header",
]

for _cls in (DecodeError, EncodeError, Limits, Header, Image, ImageType):
    _cls.__module__ = __name__
del _cls
