"""SPICE QUIC image codec (decoder and encoder) with a C core compiled by cffi.

>>> import spice_quic
>>> blob = spice_quic.encode(bytes(4 * 16), 4, 4, spice_quic.ImageType.RGB32)
>>> spice_quic.decode(blob).pixels == bytes(64)
True
"""

from spice_quic._api import decode, decode_into, encode, read_header
from spice_quic._errors import DecodeError, EncodeError
from spice_quic._types import FORMATS, Image, ImageInfo, ImageType, Limits, PixelFormat

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "DecodeError",
    "EncodeError",
    "Image",
    "ImageInfo",
    "ImageType",
    "Limits",
    "PixelFormat",
    "__version__",
    "decode",
    "decode_into",
    "encode",
    "read_header",
]
