"""SPICE QUIC image codec (decoder and encoder) with a C core compiled by cffi.

>>> import spice_quic
>>> blob = spice_quic.encode(bytes(4 * 16), 4, 4, spice_quic.ImageType.RGB32)
>>> spice_quic.decode(blob).pixels == bytes(64)
True
"""

from ._api import decode, decode_into, encode, read_header
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
    "read_header",
]

for _cls in (DecodeError, EncodeError, Limits, Header, Image, ImageType):
    _cls.__module__ = __name__
del _cls
